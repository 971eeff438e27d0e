package nodeproto

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"
)

func TestParsePath(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want Path
		ok   bool
	}{
		{"fid", "/dev7/0/000/000/0000000123.fid", Path{Dev: 7, DevDir: "dev7", Rel: "0/000/000/0000000123.fid"}, true},
		{"double slash", "//dev1/usage", Path{Dev: 1, DevDir: "dev1", Rel: "usage"}, true},
		{"many slashes", "///dev1/usage", Path{Dev: 1, DevDir: "dev1", Rel: "usage"}, true},
		{"mkcol dir", "/dev1/0/000/", Path{Dev: 1, DevDir: "dev1", Rel: "0/000", Dir: true}, true},
		{"device root", "/dev12", Path{Dev: 12, DevDir: "dev12"}, true},
		{"device root slash", "/dev12/", Path{Dev: 12, DevDir: "dev12", Dir: true}, true},
		{"dots in name", "/dev1/test-write/test-write-7", Path{Dev: 1, DevDir: "dev1", Rel: "test-write/test-write-7"}, true},
		{"hidden file", "/dev1/.usage.tmp", Path{Dev: 1, DevDir: "dev1", Rel: ".usage.tmp"}, true},
		{"root", "/", Path{}, false},
		{"empty", "", Path{}, false},
		{"relative", "dev1/x", Path{}, false},
		{"dotdot", "/dev1/../etc/passwd", Path{}, false},
		{"dotdot to other dev", "/dev1/../dev2/x", Path{}, false},
		{"dotdot inside name", "/dev1/a..b", Path{}, false},
		{"dot element", "/dev1/./x", Path{}, false},
		{"empty element", "/dev1//x", Path{}, false},
		{"decoded %2F..", "/dev1//../etc", Path{}, false},
		{"nul", "/dev1/x\x00y", Path{}, false},
		{"space", "/dev1/x y", Path{}, false},
		{"percent", "/dev1/%2e%2e/x", Path{}, false},
		{"backslash", "/dev1/..\\x", Path{}, false},
		{"not a device", "/etc/passwd", Path{}, false},
		{"dev without number", "/dev/x", Path{}, false},
		{"dev with letters", "/dev1a/x", Path{}, false},
		{"dev trailing double slash", "/dev1//", Path{}, false},
		{"too long", "/dev1/" + strings.Repeat("a", maxPathLen), Path{}, false},
		{"utf8", "/dev1/\u00fc", Path{}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParsePath(tc.in)
			if !tc.ok {
				if !errors.Is(err, ErrInvalidPath) {
					t.Fatalf("ParsePath(%q) = %+v, %v, want ErrInvalidPath", tc.in, got, err)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("ParsePath(%q) = %+v, %v, want %+v", tc.in, got, err, tc.want)
			}
			if again, err := ParsePath(got.String()); err != nil || again != got {
				t.Fatalf("ParsePath(%q.String() = %q) = %+v, %v, want %+v", tc.in, got.String(), again, err, got)
			}
		})
	}
}

func FuzzParsePath(f *testing.F) {
	for _, s := range []string{"/dev1/0/000/000/0000000123.fid", "//dev1/usage", "/dev1/../dev2", "/dev1/0/",
		"/dev1/x\x00", "/dev99999999999/x", "/dev1/.", "/dev1/a/./b", "/dev0"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		p, err := ParsePath(in)
		if err != nil {
			if !errors.Is(err, ErrInvalidPath) {
				t.Fatalf("ParsePath(%q) error %v is not ErrInvalidPath", in, err)
			}
			return
		}
		// Accepted paths stay inside the device directory, lexically.
		if p.Rel != "" && (!filepath.IsLocal(p.Rel) || filepath.Clean(p.Rel) != p.Rel) {
			t.Fatalf("ParsePath(%q).Rel = %q, not a clean local path", in, p.Rel)
		}
		dev := filepath.Join("/docroot", p.DevDir)
		full := filepath.Join(dev, p.Rel)
		if full != dev && !strings.HasPrefix(full, dev+"/") {
			t.Fatalf("ParsePath(%q) resolves to %q outside %q", in, full, dev)
		}
		if n, ok := ParseDevDir(p.DevDir); !ok || n != p.Dev {
			t.Fatalf("ParsePath(%q) = dev %d dir %q", in, p.Dev, p.DevDir)
		}
		if strings.ContainsRune(p.Rel, 0) {
			t.Fatalf("ParsePath(%q).Rel contains NUL", in)
		}
	})
}

func TestFIDPath(t *testing.T) {
	for _, tc := range []struct {
		dev  int
		fid  int64
		want string
	}{
		{1, 123, "/dev1/0/000/000/0000000123.fid"},
		{7, 148056, "/dev7/0/000/148/0000148056.fid"},
		{12, 1234567890, "/dev12/1/234/567/1234567890.fid"},
		{3, 98765432101, "/dev3/9/876/543/98765432101.fid"}, // past ten digits, as the original
	} {
		if got := FIDPath(tc.dev, tc.fid); got != tc.want {
			t.Errorf("FIDPath(%d, %d) = %q, want %q", tc.dev, tc.fid, got, tc.want)
		}
		if fid, ok := FIDOf("http://127.0.0.1:7500" + tc.want); !ok || fid != tc.fid {
			t.Errorf("FIDOf(FIDPath(%d, %d)) = %d, %v", tc.dev, tc.fid, fid, ok)
		}
		if fid, ok := FIDOf("http://127.0.0.1:7500" + tc.want + "?sig=r.1.a/b"); !ok || fid != tc.fid {
			t.Errorf("FIDOf(signed FIDPath(%d, %d)) = %d, %v", tc.dev, tc.fid, fid, ok)
		}
		p, err := ParsePath(tc.want)
		if err != nil || p.Dev != tc.dev {
			t.Errorf("ParsePath(FIDPath(%d, %d)) = %+v, %v", tc.dev, tc.fid, p, err)
		}
	}
}
