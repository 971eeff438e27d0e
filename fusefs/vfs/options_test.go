package vfs

import (
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestParseArgs(t *testing.T) {
	o, err := ParseArgs([]string{"127.0.0.1:7001,10.0.0.2:7001", "/mnt/x", "-o", "rw,dev,suid,_netdev,nofail,domain=d,class=two,cache_size=64M,cache_dir=/var/c,attr_timeout=2.5,entry_timeout=0,uid=1000,gid=100,block_size=256K,allow_other,default_permissions,x-systemd.automount", "-f"})
	if err != nil {
		t.Fatal(err)
	}
	want := Defaults()
	want.Trackers = []string{"127.0.0.1:7001", "10.0.0.2:7001"}
	want.Mountpoint, want.Foreground = "/mnt/x", true
	want.Domain, want.Class, want.CacheSize, want.CacheDir = "d", "two", 64<<20, "/var/c"
	want.AttrTimeout, want.EntryTimeout = 2500*time.Millisecond, 0
	want.UID, want.GID, want.HasUID, want.HasGID = 1000, 100, true, true
	want.BlockSize, want.AllowOther, want.DefaultPerms = 256<<10, true, true
	if !slices.Equal(o.Trackers, want.Trackers) {
		t.Errorf("Trackers = %v", o.Trackers)
	}
	o.Trackers, want.Trackers = nil, nil
	if !reflect.DeepEqual(o, want) {
		t.Errorf("ParseArgs = %+v\nwant %+v", o, want)
	}
	// mount(8) helper form: -o glued, source first, sloppy flags.
	o, err = ParseArgs([]string{"-s", "h:1", "/m", "-oro,domain=x"})
	if err != nil || !o.ReadOnly || o.Domain != "x" || o.Foreground {
		t.Errorf("helper form = %+v, %v", o, err)
	}
}

func TestParseArgsErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"h:1"}, "want TRACKERS MOUNTPOINT"},
		{[]string{"nohost", "/m"}, "not host:port"},
		{[]string{"h:99999", "/m"}, "bad port"},
		{[]string{"h:1,", "/m"}, "not host:port"},
		{[]string{"h:1", "/m", "-o", "bogus"}, "unknown option"},
		{[]string{"h:1", "/m", "-o", "domain"}, "needs a value"},
		{[]string{"h:1", "/m", "-o", "ro=1"}, "takes no value"},
		{[]string{"h:1", "/m", "-o", "cache_size=12Q"}, "cache_size"},
		{[]string{"h:1", "/m", "-o", "block_size=1"}, "block_size"},
		{[]string{"h:1", "/m", "-o"}, "needs a value"},
		{[]string{"h:1", "/m", "-x"}, "unknown flag"},
	} {
		_, err := ParseArgs(tc.args)
		if !errors.Is(err, ErrBadOption) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("ParseArgs(%q) = %v, want %q", tc.args, err, tc.want)
		}
	}
}

func TestParseSize(t *testing.T) {
	for in, want := range map[string]int64{"0": 0, "10": 10, "4k": 4096, "64M": 64 << 20, "1G": 1 << 30, "2GiB": 2 << 30, "1T": 1 << 40, "5MB": 5 << 20} {
		if got, err := ParseSize(in); err != nil || got != want {
			t.Errorf("ParseSize(%q) = %d, %v, want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "-1", "K", "1.5G", "99999999999T"} {
		if _, err := ParseSize(in); err == nil {
			t.Errorf("ParseSize(%q) = nil error", in)
		}
	}
}

func FuzzParseArgs(f *testing.F) {
	f.Add("127.0.0.1:7001 /mnt -o domain=d,cache_size=1G -f")
	f.Add("h:1,h:2 /m -oro,uid=5,attr_timeout=1s")
	f.Add("-- h:1 -weird")
	f.Fuzz(func(t *testing.T, line string) {
		o, err := ParseArgs(strings.Fields(line))
		if err != nil {
			if !errors.Is(err, ErrBadOption) {
				t.Fatalf("ParseArgs(%q) = %v, not ErrBadOption", line, err)
			}
			return
		}
		if len(o.Trackers) == 0 || o.Mountpoint == "" || o.BlockSize < 4096 || o.CacheSize < 0 {
			t.Fatalf("ParseArgs(%q) = %+v: accepted an invalid mount", line, o)
		}
	})
}
