package stord

import (
	"errors"
	"testing"
)

func TestParseContentRange(t *testing.T) {
	tests := []struct {
		in   string
		want byteRange
		ok   bool
	}{
		{"bytes 0-99/*", byteRange{0, 99, -1}, true},
		{"bytes 100-199/1000", byteRange{100, 199, 1000}, true},
		{"bytes 5-5/*", byteRange{5, 5, -1}, true},
		{"bytes 6-5/*", byteRange{}, false},
		{"bytes 0-99/99", byteRange{}, false},
		{"bytes -1-5/*", byteRange{}, false},
		{"bytes 0-/*", byteRange{}, false},
		{"bytes 0-5", byteRange{}, false},
		{"items 0-5/*", byteRange{}, false},
		{"bytes +1-5/*", byteRange{}, false},
		{"bytes 0-99999999999999999999/*", byteRange{}, false},
		{"", byteRange{}, false},
	}
	for _, tc := range tests {
		got, err := parseContentRange(tc.in)
		if tc.ok != (err == nil) || got != tc.want {
			t.Errorf("parseContentRange(%q) = %+v, %v, want %+v ok=%v", tc.in, got, err, tc.want, tc.ok)
		}
		if err != nil && !errors.Is(err, ErrBadContentRange) {
			t.Errorf("parseContentRange(%q) error %v is not ErrBadContentRange", tc.in, err)
		}
	}
}

func FuzzParseContentRange(f *testing.F) {
	for _, s := range []string{"bytes 0-99/*", "bytes 1-2/3", "bytes 9-1/*", "bytes 0-0/1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		br, err := parseContentRange(in)
		if err != nil {
			return
		}
		if br.start < 0 || br.end < br.start || (br.total != -1 && br.total <= br.end) {
			t.Fatalf("parseContentRange(%q) = %+v, inconsistent", in, br)
		}
	})
}
