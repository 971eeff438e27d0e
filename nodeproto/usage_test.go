package nodeproto

import (
	"errors"
	"strings"
	"testing"
)

func TestParseUsage(t *testing.T) {
	tests := []struct {
		name             string
		in               string
		wantErr          bool
		wantUsed, wantTo int64
	}{
		{"mogstored", "available: 480213276\ndevice: /dev/sdb1\ndisk: /var/mogdata/dev1\ntime: 1700000000\ntotal: 961301528\nuse: 51%\nused: 481088252\n", false, 481088252, 961301528},
		{"crlf", "used: 2048\r\ntotal: 4096\r\n", false, 2048, 4096},
		{"spaces around colon", "used  :  10\ntotal:20", false, 10, 20},
		{"junk lines ignored", "hello\n\nused: 1\n: x\ntotal: 3\n", false, 1, 3},
		{"missing total", "used: 1\n", true, 0, 0},
		{"zero used (an empty file system)", "used: 0\ntotal: 10\n", false, 0, 10},
		{"zero total", "used: 0\ntotal: 0\n", true, 0, 0},
		{"non-numeric", "used: lots\ntotal: 10\n", true, 0, 0},
		{"empty", "", true, 0, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			u, err := ParseUsage([]byte(tc.in))
			if tc.wantErr {
				if !errors.Is(err, ErrBadUsage) {
					t.Fatalf("ParseUsage(%q) err = %v, want ErrBadUsage", tc.in, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseUsage(%q) = %v", tc.in, err)
			}
			if u.Used != tc.wantUsed || u.Total != tc.wantTo {
				t.Errorf("ParseUsage(%q) = used %d total %d, want %d %d", tc.in, u.Used, u.Total, tc.wantUsed, tc.wantTo)
			}
		})
	}
	u, _ := ParseUsage([]byte("used: 481088252\ntotal: 961301528\n"))
	if u.MBUsed() != 469812 || u.MBTotal() != 938771 {
		t.Errorf("MB = %d/%d, want 469812/938771", u.MBUsed(), u.MBTotal())
	}
}

func FuzzParseUsage(f *testing.F) {
	f.Add([]byte("available: 480213276\ndevice: /dev/sdb1\ndisk: /var/mogdata/dev1\ntime: 1700000000\ntotal: 961301528\nuse: 51%\nused: 481088252\n"))
	f.Add([]byte("used:1\ntotal:2"))
	f.Add([]byte("used: -1\ntotal: 99999999999999999999\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		u, err := ParseUsage(b)
		if err != nil {
			if !errors.Is(err, ErrBadUsage) {
				t.Fatalf("error %v is not ErrBadUsage", err)
			}
			return
		}
		if u.Used < 0 || u.Total <= 0 { // used is 0 on an empty file system
			t.Fatalf("accepted non-positive usage %+v", u)
		}
	})
}

func TestUsageFormat(t *testing.T) {
	u := Usage{Available: 480213276, Used: 481088252, Total: 961301528, Device: "/dev/sdb1", Disk: "/var/mogdata/dev1", Time: 1700000000}
	want := "available: 480213276\ndevice: /dev/sdb1\ndisk: /var/mogdata/dev1\ntime: 1700000000\n" +
		"total: 961301528\nuse: 51%\nused: 481088252\n"
	if got := u.Format(); got != want {
		t.Errorf("Format() =\n%s\nwant\n%s", got, want)
	}
	if back, err := ParseUsage([]byte(want)); err != nil || back != u {
		t.Errorf("ParseUsage(Format()) = %+v, %v, want %+v", back, err, u)
	}
	// df rounds the capacity up; an empty filesystem is 0%.
	for _, tc := range []struct {
		used, avail int64
		use         string
	}{{1, 999, "use: 1%"}, {0, 100, "use: 0%"}, {0, 0, "use: 0%"}, {100, 0, "use: 100%"}} {
		got := Usage{Used: tc.used, Available: tc.avail, Total: tc.used + tc.avail}.Format()
		if !strings.Contains(got, "\n"+tc.use+"\n") {
			t.Errorf("Format(used=%d, avail=%d) = %q, want line %q", tc.used, tc.avail, got, tc.use)
		}
	}
}

// TestUsageReadOnly: the read-only flag is one extra line, in key order,
// only when set, and survives a round trip; other values are not set.
func TestUsageReadOnly(t *testing.T) {
	u := Usage{Available: 0, Used: 10, Total: 10, Device: "tmpfs", Disk: "/d/dev1", Time: 1700000000, ReadOnly: true}
	want := "available: 0\ndevice: tmpfs\ndisk: /d/dev1\nreadonly: 1\ntime: 1700000000\ntotal: 10\nuse: 100%\nused: 10\n"
	if got := u.Format(); got != want {
		t.Errorf("Format() =\n%s\nwant\n%s", got, want)
	}
	if back, err := ParseUsage([]byte(want)); err != nil || back != u {
		t.Errorf("ParseUsage(Format()) = %+v, %v, want %+v", back, err, u)
	}
	for _, v := range []string{"0", "yes", ""} {
		in := "used: 1\ntotal: 2\nreadonly: " + v + "\n"
		if u, err := ParseUsage([]byte(in)); err != nil || u.ReadOnly {
			t.Errorf("ParseUsage(%q) = ReadOnly %v, %v; want false", in, u.ReadOnly, err)
		}
	}
}
