package meta

import (
	"slices"
	"testing"
)

func TestHasSkipLocked(t *testing.T) {
	for v, want := range map[string]bool{
		"10.11.19-MariaDB-0+deb12u1": true,
		"10.6.0-MariaDB":             true,
		"10.5.23-MariaDB-log":        false,
		"11.4.2-MariaDB":             true,
		"8.0.36":                     true,
		"8.0.0-dmr":                  false,
		"5.7.44-log":                 false,
		"garbage":                    false,
	} {
		if got := hasSkipLocked(v); got != want {
			t.Errorf("hasSkipLocked(%q) = %v, want %v", v, got, want)
		}
	}
}

func TestSuccessor(t *testing.T) {
	for _, c := range []struct {
		in, want string
		ok       bool
	}{
		{"a", "b", true},
		{"dir/", "dir0", true},
		{"a\xff", "b", true},
		{"a\xff\xff", "b", true},
		{"\xff", "", false},
		{"é", "é"[:1] + "\xaa", true},
	} {
		got, ok := successor(c.in)
		if got != c.want || ok != c.ok {
			t.Errorf("successor(%q) = %q, %v; want %q, %v", c.in, got, ok, c.want, c.ok)
		}
	}
}

// TestPrefixRange checks that the conditions carry one lower bound, the
// tighter one: SQLite seeks on one and filters the other row by row.
func TestPrefixRange(t *testing.T) {
	for _, c := range []struct {
		prefix, after string
		wantQ         string
		wantArgs      []any
	}{
		{"", "", "", nil},
		{"dir/", "", " AND k >= ? AND k < ?", []any{"dir/", "dir0"}},
		{"dir/", "dir/05", " AND k > ? AND k < ?", []any{"dir/05", "dir0"}},
		{"dir/", "dir/", " AND k > ? AND k < ?", []any{"dir/", "dir0"}},
		{"dir/", "a", " AND k >= ? AND k < ?", []any{"dir/", "dir0"}},
		{"dir/", "zzz", " AND k > ? AND k < ?", []any{"zzz", "dir0"}},
		{"", "dir/24", " AND k > ?", []any{"dir/24"}},
		{"\xff", "", " AND k >= ?", []any{"\xff"}},
	} {
		q, args := prefixRange("", nil, "k", c.prefix, c.after)
		if q != c.wantQ || !slices.Equal(args, c.wantArgs) {
			t.Errorf("prefixRange(%q, %q) = %q %v; want %q %v", c.prefix, c.after, q, args, c.wantQ, c.wantArgs)
		}
	}
}

func TestDevIDs(t *testing.T) {
	if got := joinDevIDs([]int{3, 1, 5}); got != "3,1,5" {
		t.Errorf("joinDevIDs = %q", got)
	}
	many := make([]int, 30)
	for i := range many {
		many[i] = 100000 + i
	}
	s := joinDevIDs(many)
	if len(s) > maxDevIDsLen {
		t.Errorf("joinDevIDs(30 ids) = %d chars, want <= %d", len(s), maxDevIDsLen)
	}
	if got := splitDevIDs(s); !slices.Equal(got, many[:len(got)]) || len(got) == 0 {
		t.Errorf("splitDevIDs(%q) = %v", s, got)
	}
	if got := splitDevIDs(" 3, x,,1"); !slices.Equal(got, []int{3, 1}) {
		t.Errorf("splitDevIDs(junk) = %v", got)
	}
	if got := splitDevIDs(""); got != nil {
		t.Errorf("splitDevIDs(\"\") = %v", got)
	}
}

func TestLockID(t *testing.T) {
	// Store/SQLite.pm: unpack("N", first 4 bytes of md5(name)) & 0x7fffffff,
	// values computed independently so both servers agree on lock rows.
	for name, want := range map[string]int64{
		"mgfs:tempfiles":       1303874143,
		"mgfs:fid:1:replicate": 637316723,
	} {
		if got := lockID(name); got != want {
			t.Errorf("lockID(%q) = %d, want %d", name, got, want)
		}
	}
}
