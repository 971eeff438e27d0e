package nodeproto

import (
	"bytes"
	"strings"
	"testing"
)

func TestChecksum(t *testing.T) {
	for _, tc := range []struct {
		in   string
		t    int
		size int
		ok   bool
	}{
		{"MD5:" + strings.Repeat("ab", 16), HashMD5, 16, true},
		{"md5:" + strings.Repeat("AB", 16), HashMD5, 16, true},
		{"SHA-1:" + strings.Repeat("01", 20), HashSHA1, 20, true},
		{"MD5:" + strings.Repeat("ab", 20), 0, 0, false}, // SHA-1's length
		{"NONE:" + strings.Repeat("ab", 16), 0, 0, false},
		{"MD5:" + strings.Repeat("zz", 16), 0, 0, false},
		{"M D5:" + strings.Repeat("ab", 16), 0, 0, false},
		{strings.Repeat("ab", 16), 0, 0, false},
	} {
		ht, sum, ok := ParseChecksum(tc.in)
		if ok != tc.ok || ht != tc.t || (ok && len(sum) != tc.size) {
			t.Errorf("ParseChecksum(%q) = %d, %x, %v", tc.in, ht, sum, ok)
		}
		if ok {
			if back := FormatChecksum(ht, sum); !strings.EqualFold(back, tc.in) {
				t.Errorf("FormatChecksum = %q, want %q", back, tc.in)
			}
		}
	}
	for _, name := range []string{"MD5", "SHA-1"} {
		ht, ok := HashType(name)
		if !ok || HashName(ht) != name || NewHash(ht) == nil {
			t.Errorf("hash %q: type %d %v, name %q", name, ht, ok, HashName(ht))
		}
	}
	if ht, ok := HashType("none"); !ok || ht != HashNone || HashName(ht) != "" || NewHash(ht) != nil {
		t.Errorf("none: %d %v", ht, ok)
	}
}

func FuzzParseChecksum(f *testing.F) {
	f.Add("MD5:" + strings.Repeat("ab", 16))
	f.Add("SHA-1:" + strings.Repeat("01", 20))
	f.Fuzz(func(t *testing.T, in string) {
		ht, sum, ok := ParseChecksum(in)
		if !ok {
			return
		}
		if h := NewHash(ht); h == nil || len(sum) != h.Size() {
			t.Fatalf("ParseChecksum(%q) = type %d, %d bytes", in, ht, len(sum))
		}
		ht2, sum2, ok2 := ParseChecksum(FormatChecksum(ht, sum))
		if !ok2 || ht2 != ht || !bytes.Equal(sum2, sum) {
			t.Fatalf("round trip of %q failed", in)
		}
	})
}
