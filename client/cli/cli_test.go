package cli

import (
	"bytes"
	"net"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"mogfs/client"
)

func TestParse(t *testing.T) {
	spec := Spec{"trackers": false, "domain": false, "key_prefix": false, "noverify": true, "policy_only": true}
	for _, tc := range []struct {
		name string
		args []string
		opts map[string]string
		pos  []string
		err  bool
	}{
		{"equals", []string{"--trackers=a:1,b:2", "--domain=d"}, map[string]string{"trackers": "a:1,b:2", "domain": "d"}, nil, false},
		{"separate", []string{"--trackers", "a:1", "-domain", "d"}, map[string]string{"trackers": "a:1", "domain": "d"}, nil, false},
		{"flag", []string{"--noverify", "x"}, map[string]string{"noverify": "1"}, []string{"x"}, false},
		{"flag value", []string{"--noverify=0"}, map[string]string{"noverify": "0"}, nil, false},
		{"dash name", []string{"--key-prefix=/a", "--policy-only"}, map[string]string{"key_prefix": "/a", "policy_only": "1"}, nil, false},
		{"interspersed", []string{"host", "add", "h1", "--domain=x", "more"}, map[string]string{"domain": "x"}, []string{"host", "add", "h1", "more"}, false},
		{"stdin dash", []string{"--domain", "-"}, map[string]string{"domain": "-"}, nil, false},
		{"lone dash", []string{"-"}, map[string]string{}, []string{"-"}, false},
		{"double dash", []string{"--", "--domain=x"}, map[string]string{}, []string{"--domain=x"}, false},
		{"empty value", []string{"--domain="}, map[string]string{"domain": ""}, nil, false},
		{"unknown", []string{"--bogus=1"}, nil, nil, true},
		{"missing value", []string{"--domain"}, nil, nil, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			opts, pos, err := Parse(tc.args, spec)
			if tc.err {
				if err == nil {
					t.Errorf("Parse(%q) succeeded, want error", tc.args)
				}
				return
			}
			if err != nil || !reflect.DeepEqual(opts, tc.opts) || !reflect.DeepEqual(pos, tc.pos) {
				t.Errorf("Parse(%q) = %v, %q, %v; want %v, %q", tc.args, opts, pos, err, tc.opts, tc.pos)
			}
		})
	}
}

func TestParseConf(t *testing.T) {
	in := "# comment\ntrackers = 10.0.0.1:7001, 10.0.0.2:7001  # two\n  domain=photos\nnot a setting\nlib = /x\n\nclass =   \n"
	got, err := ParseConf(strings.NewReader(in))
	want := map[string]string{"trackers": "10.0.0.1:7001, 10.0.0.2:7001", "domain": "photos", "lib": "/x"}
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("ParseConf = %v, %v; want %v", got, err, want)
	}
	if got := SplitTrackers(" a:1 ,b:2,, "); !reflect.DeepEqual(got, []string{"a:1", "b:2"}) {
		t.Errorf("SplitTrackers = %q", got)
	}
}

func TestConfPrecedence(t *testing.T) {
	dir := t.TempDir()
	etc := filepath.Join(dir, "etc.conf")
	home := filepath.Join(dir, "home.conf")
	extra := filepath.Join(dir, "extra.conf")
	os.WriteFile(etc, []byte("trackers = etc:1\ndomain = etcdom\nclass = etcclass\nunknown = 1\n"), 0o644)
	os.WriteFile(home, []byte("domain = homedom\nclass = homeclass\n"), 0o644)
	os.WriteFile(extra, []byte("class = extraclass\n"), 0o644)
	env := Env{ConfFiles: []string{etc, home, filepath.Join(dir, "missing.conf")}}
	spec := Spec{"trackers": false, "domain": false, "class": false, "key": false, "config": false}

	opts := map[string]string{"key": "k", "config": extra}
	if err := loadConf(env, opts, spec); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"trackers": "etc:1", "domain": "homedom", "class": "extraclass", "key": "k", "config": extra}
	if !reflect.DeepEqual(opts, want) {
		t.Errorf("loadConf = %v, want %v", opts, want)
	}
	// The command line wins over every file.
	opts = map[string]string{"domain": "cli"}
	loadConf(env, opts, spec)
	if opts["domain"] != "cli" {
		t.Errorf("domain = %q, want the command line's", opts["domain"])
	}
	// A missing --config file is an error, unlike the default files.
	if err := loadConf(env, map[string]string{"config": filepath.Join(dir, "nope")}, spec); err == nil {
		t.Error("loadConf with a missing --config file succeeded")
	}
}

func TestFormatProgress(t *testing.T) {
	for _, tc := range []struct {
		done, total int64
		elapsed     time.Duration
		want        string
	}{
		{0, 10 << 20, 0, "up [>         ]   0.0%  0 B / 10.0 MiB  0 B/s  ETA --:--"},
		{5 << 20, 10 << 20, 2 * time.Second, "up [=====>    ]  50.0%  5.0 MiB / 10.0 MiB  2.5 MiB/s  ETA 0:02"},
		{10 << 20, 10 << 20, 4 * time.Second, "up [==========] 100.0%  10.0 MiB / 10.0 MiB  2.5 MiB/s  ETA 0:00"},
		{1536, -1, time.Second, "up  1.5 KiB  1.5 KiB/s"},
		{300 << 30, 600 << 30, 100 * time.Second, "up [=====>    ]  50.0%  300.0 GiB / 600.0 GiB  3.0 GiB/s  ETA 1:40"},
	} {
		if got := FormatProgress("up", tc.done, tc.total, tc.elapsed, 10); got != tc.want {
			t.Errorf("FormatProgress(%d, %d, %v) =\n%q, want\n%q", tc.done, tc.total, tc.elapsed, got, tc.want)
		}
	}
	for n, want := range map[int64]string{0: "0 B", 1023: "1023 B", 1024: "1.0 KiB", 5 << 40: "5.0 TiB"} {
		if got := HumanBytes(n); got != want {
			t.Errorf("HumanBytes(%d) = %q, want %q", n, got, want)
		}
	}
}

func TestProgressOnlyOnTerminal(t *testing.T) {
	var buf bytes.Buffer
	if p := NewProgress(&buf, "x", 100<<20); p != nil {
		t.Error("NewProgress on a buffer is not nil")
	}
	f, err := os.Create(filepath.Join(t.TempDir(), "f"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if IsTerminal(f) {
		t.Error("IsTerminal(regular file) = true")
	}
	var p *Progress // nil bars are no-ops
	p.Add(1)
	p.Set(2)
	p.Done()
	// A bar that does draw: redraws carry '\r', Done ends the line.
	p = newProgress(&buf, "x", 10)
	p.Set(10)
	p.Done()
	if s := buf.String(); !strings.HasPrefix(s, "\rx [") || !strings.HasSuffix(s, "\n") {
		t.Errorf("progress output %q", s)
	}
}

func TestWriteFileInfo(t *testing.T) {
	var buf bytes.Buffer
	WriteFileInfo(&buf, "/wire/a.txt", client.FileInfo{FID: 4, Domain: "testdom", Key: "/wire/a.txt", Class: "two", Length: 6, DevCount: 2},
		[]string{"http://127.0.0.2:7500/dev2/0/000/000/0000000004.fid"})
	want := `- file: /wire/a.txt
     class:                  two
  devcount:                    2
    domain:              testdom
       fid:                    4
       key:          /wire/a.txt
    length:                    6
 - http://127.0.0.2:7500/dev2/0/000/000/0000000004.fid
`
	if got := buf.String(); got != want {
		t.Errorf("WriteFileInfo =\n%s\nwant\n%s", got, want)
	}
}

func TestToolErrors(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := ln.Addr().String()
	ln.Close()
	for _, tc := range []struct {
		name string
		run  func(Env) int
		rc   int
		msg  string
	}{
		{"usage", func(e Env) int { return Upload(t.Context(), []string{"--trackers=" + dead}, e) }, 2, "missing --domain"},
		{"unknown option", func(e Env) int { return Fetch(t.Context(), []string{"--bogus"}, e) }, 2, "unknown option"},
		{"tracker down", func(e Env) int {
			return Fetch(t.Context(), []string{"--trackers", dead, "--domain=d", "--key=k", "--file=-"}, e)
		}, 1, "no tracker reachable"},
		{"mogadm no command", func(e Env) int { return Adm(t.Context(), []string{"--trackers=" + dead}, e) }, 2, "no command"},
		{"mogadm bad command", func(e Env) int { return Adm(t.Context(), []string{"--trackers=" + dead, "host", "frob"}, e) }, 2, "unknown command"},
		{"mogadm missing arg", func(e Env) int { return Adm(t.Context(), []string{"--trackers=" + dead, "class", "add", "d"}, e) }, 2, "missing argument <class>"},
		{"mogadm bad option", func(e Env) int {
			return Adm(t.Context(), []string{"--trackers=" + dead, "domain", "add", "d", "--mindevcount=2"}, e)
		}, 2, "unexpected option --mindevcount"},
		{"mogadm bad devid", func(e Env) int {
			return Adm(t.Context(), []string{"--trackers=" + dead, "device", "add", "h", "devx"}, e)
		}, 2, "devid should be numeric"},
		{"mogadm tracker down", func(e Env) int { return Adm(t.Context(), []string{"--trackers=" + dead, "domain", "list"}, e) }, 1, "no tracker reachable"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			env := Env{Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errb, ConfFiles: []string{}}
			if rc := tc.run(env); rc != tc.rc || !strings.Contains(errb.String(), tc.msg) {
				t.Errorf("rc = %d, stderr %q; want %d and %q", rc, errb.String(), tc.rc, tc.msg)
			}
		})
	}
}
