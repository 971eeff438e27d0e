package vfs

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

func TestNameOf(t *testing.T) {
	long := strings.Repeat("a", 300)
	for _, tc := range []struct{ seg, want string }{
		{"file.txt", "file.txt"},
		{"50%.txt", "50%.txt"},
		{"", ".mogfs%"},
		{".", ".mogfs%%2E"},
		{"..", ".mogfs%%2E%2E"},
		{"...", "..."},
		{"a\x00b", ".mogfs%a%00b"},
		{".mogfs%x", ".mogfs%.mogfs%25x"},
		{strings.Repeat("b", 255), strings.Repeat("b", 255)},
	} {
		if got := NameOf(tc.seg); got != tc.want {
			t.Errorf("NameOf(%q) = %q, want %q", tc.seg, got, tc.want)
		}
	}
	if got := NameOf(long); !IsLongName(got) || len(got) > MaxName {
		t.Errorf("NameOf(300 bytes) = %q, want a long name <= 255 bytes", got)
	}
	if NameOf(long) == NameOf(long+"x") {
		t.Error("distinct long segments share a name")
	}
}

func TestSegmentOfErrors(t *testing.T) {
	for _, name := range []string{".mogfs%zz", ".mogfs%4", ".mogfs%%4", ".mogfs%%41", NameOf(strings.Repeat("a", 300))} {
		if _, err := SegmentOf(name); !errors.Is(err, ErrBadName) {
			t.Errorf("SegmentOf(%q) = %v, want ErrBadName", name, err)
		}
	}
}

func TestPrefixes(t *testing.T) {
	if got := ChildKey(ChildDir(ChildDir("", ""), "a"), "b"); got != "/a/b" {
		t.Errorf("key = %q, want /a/b", got)
	}
	if got := Segments("/a/b"); !slices.Equal(got, []string{"", "a", "b"}) {
		t.Errorf("Segments = %q", got)
	}
	if got := Segments("a/b/"); !slices.Equal(got, []string{"a", "b"}) {
		t.Errorf("Segments(dir) = %q", got)
	}
	if got := AttrPath("a/b/"); got != "a/b" {
		t.Errorf("AttrPath = %q", got)
	}
}

// FuzzNames: every segment maps to a valid file name, and short ones decode
// back to themselves.
func FuzzNames(f *testing.F) {
	for _, s := range []string{"", ".", "..", "a", "%", ".mogfs%", "a\x00", strings.Repeat("x", 256), "é/"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, seg string) {
		if strings.Contains(seg, "/") {
			return // not a segment
		}
		name := NameOf(seg)
		if !validName(name) || strings.Contains(name, "/") {
			t.Fatalf("NameOf(%q) = %q is not a valid name", seg, name)
		}
		if IsLongName(name) {
			return
		}
		back, err := SegmentOf(name)
		if err != nil || back != seg {
			t.Fatalf("SegmentOf(NameOf(%q)) = %q, %v", seg, back, err)
		}
	})
}
