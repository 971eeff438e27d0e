package protocol

import (
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestExtTime(t *testing.T) {
	for _, tc := range []struct {
		t    time.Time
		want string
	}{
		{time.Time{}, ""},
		{time.Unix(1700000000, 0), "1700000000"},
		{time.Unix(1700000000, 123456789), "1700000000.123456789"},
		{time.Unix(1700000000, 500000000), "1700000000.500000000"},
		{time.Unix(0, 1), "0.000000001"},
		{time.Unix(-1, 500000000), "-1.500000000"}, // half a second before 1970
	} {
		if got := FormatTime(tc.t); got != tc.want {
			t.Errorf("FormatTime(%v) = %q, want %q", tc.t, got, tc.want)
		}
		back, err := ParseTime(tc.want)
		if err != nil || !back.Equal(tc.t) {
			t.Errorf("ParseTime(%q) = %v, %v; want %v", tc.want, back, err, tc.t)
		}
	}
	for _, bad := range []string{"x", "1.2x", "1e9", "1.-5", "1.+5"} {
		if _, err := ParseTime(bad); err == nil {
			t.Errorf("ParseTime(%q) succeeded, want error", bad)
		}
	}
	for in, ns := range map[string]int{"1.5": 5e8, "1.1234567891": 123456789} {
		if got, err := ParseTime(in); err != nil || got.Nanosecond() != ns {
			t.Errorf("ParseTime(%q) = %v, %v", in, got, err)
		}
	}
}

func FuzzParseTime(f *testing.F) {
	for _, s := range []string{"", "0", "1700000000.123456789", "1.5", "-3", "9999999999999999999", ".", "1."} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		tm, err := ParseTime(s)
		if err != nil || tm.IsZero() {
			return
		}
		back, err := ParseTime(FormatTime(tm))
		if err != nil || !back.Equal(tm) {
			t.Fatalf("round trip %q: %v -> %q -> %v, %v", s, tm, FormatTime(tm), back, err)
		}
	})
}

// TestEntryRoundTrip: what the tracker encodes, the client decodes to the
// same entry, for every kind of entry.
func TestEntryRoundTrip(t *testing.T) {
	ts := time.Unix(1700000000, 5e8)
	for _, e := range []Entry{
		{Name: "a.txt", Type: "file", FID: 7, Length: 6, Class: "two", DevCount: 2},
		{Name: "h", Type: "file", FID: 8, Class: "default", Key: "a/k", Nlink: 2,
			Attr: &Attr{Mode: 0o100640, UID: 7, GID: 8, MTime: ts, CTime: ts, ATime: ts, Ino: 77}},
		{Name: "b", Type: "dir", Attr: &Attr{IsDir: true, Mode: 0o40755, UID: 1000, GID: 100, MTime: ts, Ino: 1<<62 | 5}},
		{Name: "c", Type: "symlink", FID: 9, Length: 5, Class: "default", Attr: &Attr{Mode: 0o120777, Target: "../x y/😀"}},
		{Name: "p", Type: "fifo", Attr: &Attr{Mode: 0o10644}},
		{Name: "sda", Type: "block", Attr: &Attr{Mode: 0o60660, Rdev: 8 << 8}},
	} {
		out := map[string]string{}
		e.Encode("e3_", out)
		got, err := DecodeEntry(DecodeArgs(EncodeArgs(out)), "e3_")
		if err != nil || !reflect.DeepEqual(got, e) {
			t.Errorf("round trip of %+v = %+v, %v", e, got, err)
		}
	}
	var a Attr
	present, err := DecodeAttr(func(k string) (string, bool) { v, ok := map[string]string{"attr_uid": "x"}[k]; return v, ok }, "attr_", &a)
	if !present || err == nil || !strings.Contains(err.Error(), `invalid attr_uid "x"`) {
		t.Errorf("bad uid: present %v, err %v", present, err)
	}
}

// TestAttrChange: a change encodes only its fields, and decoding them over
// stored attributes keeps the rest.
func TestAttrChange(t *testing.T) {
	mode, mt := uint32(0o100600), time.Unix(1700000001, 0)
	args := map[string]string{}
	AttrChange{Mode: &mode, MTime: &mt}.Encode(args)
	if len(args) != 2 {
		t.Fatalf("encoded %v, want mode and mtime only", args)
	}
	a := Attr{Mode: 0o100644, UID: 5, GID: 6, MTime: time.Unix(1, 0), Target: "t"}
	if _, err := DecodeAttr(func(k string) (string, bool) { v, ok := args[k]; return v, ok }, "", &a); err != nil {
		t.Fatal(err)
	}
	if want := (Attr{Mode: mode, UID: 5, GID: 6, MTime: mt, Target: "t"}); a != want {
		t.Errorf("after the change %+v, want %+v", a, want)
	}
}

func FuzzDecodeEntry(f *testing.F) {
	f.Add("e1_name=a&e1_type=file&e1_fid=7&e1_mode=100644&e1_mtime=1.5")
	f.Add("e1_name=b&e1_type=dir&e1_mode=40755&e1_ino=-1")
	f.Fuzz(func(t *testing.T, s string) {
		e, err := DecodeEntry(DecodeArgs(s), "e1_")
		if err != nil {
			return
		}
		// What decodes encodes and decodes to the same entry.
		out := map[string]string{}
		e.Encode("e1_", out)
		again, err := DecodeEntry(out, "e1_")
		if err != nil {
			t.Fatalf("re-decoding %+v: %v", e, err)
		}
		if e.Type == "file" || e.Type == "symlink" || e.Attr != nil {
			if again.Name != e.Name || !reflect.DeepEqual(again.Attr, e.Attr) {
				t.Fatalf("round trip %+v -> %+v", e, again)
			}
		}
	})
}
