package integration

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"mogfs/internal/testenv"
)

// lstatIno returns the inode number of path, failing the test on error.
func lstatIno(t *testing.T, path string) uint64 {
	t.Helper()
	fi, err := os.Lstat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Sys().(*syscall.Stat_t).Ino
}

// TestFUSEInodeNumbers: every entry's inode number is positive as a signed
// 64-bit number, different from the others', and the same after a rename
// (of the entry or of the directory it is in), after an overwrite, and
// after a remount: files, directories made with mkdir, directories known
// only by their keys, symlinks and keys stored by a stock client.
func TestFUSEInodeNumbers(t *testing.T) {
	testenv.RequireFUSE(t)
	c := StartCluster(t, ClusterOpts{})
	cl := c.Client(t)
	for _, k := range []string{"imp/x", "imp/sub/y"} {
		if _, err := cl.StoreReaderAt(t.Context(), c.Opts.Domain, k, "", strings.NewReader("stock"), 5); err != nil {
			t.Fatal(err)
		}
	}
	m := mountMogfs(t, c)
	p := func(rel string) string { return filepath.Join(m.Dir, rel) }
	if err := os.WriteFile(p("a"), []byte("one"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(p("d/inner"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p("d/f"), []byte("in d"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("a", p("l")); err != nil {
		t.Fatal(err)
	}
	names := []string{"a", "d", "d/inner", "d/f", "l", "imp", "imp/x", "imp/sub", "imp/sub/y"}
	before := map[string]uint64{}
	seen := map[uint64]string{}
	for _, n := range names {
		ino := lstatIno(t, p(n))
		if ino == 0 || ino >= 1<<63 {
			t.Errorf("%s has inode number %d (as signed: %d)", n, ino, int64(ino))
		}
		if other, dup := seen[ino]; dup {
			t.Errorf("%s and %s share inode number %d", n, other, ino)
		}
		seen[ino], before[n] = n, ino
	}
	for _, r := range [][2]string{{"a", "b"}, {"d", "e"}, {"l", "l2"}, {"imp", "imp2"}, {"imp2/x", "imp2/z"}} {
		if err := os.Rename(p(r[0]), p(r[1])); err != nil {
			t.Fatalf("rename %s %s: %v", r[0], r[1], err)
		}
	}
	if err := os.WriteFile(p("b"), []byte("overwritten"), 0o644); err != nil {
		t.Fatal(err)
	}
	moved := map[string]string{"a": "b", "d": "e", "d/inner": "e/inner", "d/f": "e/f", "l": "l2", "imp": "imp2",
		"imp/x": "imp2/z", "imp/sub": "imp2/sub", "imp/sub/y": "imp2/sub/y"}
	check := func(when string) {
		t.Helper()
		for old, now := range moved {
			if got := lstatIno(t, p(now)); got != before[old] {
				t.Errorf("%s: %s (was %s) has inode number %d, was %d", when, now, old, got, before[old])
			}
		}
	}
	check("after rename")
	m.unmount(t)
	m = mountMogfs(t, c)
	check("after remount")
}
