package integration

import (
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"

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

// TestFUSESpecialFiles: fifos, sockets and device nodes are entries with
// mode, owner, times and rdev like any other: made, listed, changed,
// renamed, removed, kept across a remount, and invisible to stock clients;
// a fifo carries bytes; tar round-trips a tree of them.
func TestFUSESpecialFiles(t *testing.T) {
	testenv.RequireFUSE(t)
	c := StartCluster(t, ClusterOpts{})
	m := mountMogfs(t, c)
	p := func(rel string) string { return filepath.Join(m.Dir, rel) }
	if err := os.Mkdir(p("sp"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(p("sp/fifo"), 0o644); err != nil {
		t.Fatalf("mkfifo: %v", err)
	}
	if err := syscall.Mknod(p("sp/null"), syscall.S_IFCHR|0o600, int(unix.Mkdev(1, 3))); err != nil {
		t.Fatalf("mknod c: %v", err)
	}
	if err := syscall.Mknod(p("sp/loop"), syscall.S_IFBLK|0o640, int(unix.Mkdev(7, 0))); err != nil {
		t.Fatalf("mknod b: %v", err)
	}
	l, err := net.Listen("unix", p("sp/sock"))
	if err != nil {
		t.Fatalf("bind a unix socket: %v", err)
	}
	l.(*net.UnixListener).SetUnlinkOnClose(false)
	l.Close()
	want := map[string]struct {
		typ, perm uint32
		rdev      uint64
	}{
		"fifo": {syscall.S_IFIFO, 0o644, 0}, "null": {syscall.S_IFCHR, 0o600, unix.Mkdev(1, 3)},
		"loop": {syscall.S_IFBLK, 0o640, unix.Mkdev(7, 0)}, "sock": {syscall.S_IFSOCK, 0, 0},
	}
	check := func(when string) {
		t.Helper()
		ents, err := os.ReadDir(p("sp"))
		if err != nil {
			t.Fatal(err)
		}
		if len(ents) != len(want) {
			t.Errorf("%s: sp lists %d entries, want %d", when, len(ents), len(want))
		}
		for _, e := range ents {
			w, ok := want[e.Name()]
			if !ok {
				t.Errorf("%s: sp lists %q", when, e.Name())
				continue
			}
			var st syscall.Stat_t
			if err := syscall.Lstat(p("sp/"+e.Name()), &st); err != nil {
				t.Fatal(err)
			}
			if st.Mode&syscall.S_IFMT != w.typ || w.perm != 0 && st.Mode&0o7777 != w.perm || st.Rdev != w.rdev {
				t.Errorf("%s: %s has mode %o rdev %d, want type %o perm %o rdev %d", when, e.Name(), st.Mode, st.Rdev, w.typ, w.perm, w.rdev)
			}
			if uint32(e.Type()&os.ModeType) != 0 && e.Type()&os.ModeType != fileModeType(w.typ) {
				t.Errorf("%s: readdir type of %s = %v", when, e.Name(), e.Type())
			}
		}
	}
	check("made")

	// A fifo carries bytes between a writer and a reader (the kernel's pipe).
	got := make(chan string, 1)
	go func() {
		b, _ := os.ReadFile(p("sp/fifo"))
		got <- string(b)
	}()
	if err := os.WriteFile(p("sp/fifo"), []byte("through the fifo"), 0); err != nil {
		t.Fatal(err)
	}
	if s := <-got; s != "through the fifo" {
		t.Errorf("read from the fifo %q", s)
	}

	if err := os.Chmod(p("sp/fifo"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(p("sp/null"), 1234, 5678); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(p("sp/loop"), p("sp/loop0")); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(p("sp/sock")); err != nil {
		t.Fatal(err)
	}
	want["fifo"] = struct {
		typ, perm uint32
		rdev      uint64
	}{syscall.S_IFIFO, 0o600, 0}
	want["loop0"] = want["loop"]
	delete(want, "loop")
	delete(want, "sock")
	check("changed")
	m.unmount(t)
	m = mountMogfs(t, c)
	check("remounted")
	var st syscall.Stat_t
	if err := syscall.Lstat(p("sp/null"), &st); err != nil || st.Uid != 1234 || st.Gid != 5678 {
		t.Errorf("owner of sp/null after remount: %d:%d, %v", st.Uid, st.Gid, err)
	}
	// Stock clients see keys only.
	if keys, _, err := c.Client(t).ListKeys(t.Context(), c.Opts.Domain, "sp/", "", 100); err != nil && !strings.Contains(err.Error(), "none_match") || len(keys) != 0 {
		t.Errorf("list_keys sp/ = %q, %v; want nothing", keys, err)
	}

	// tar round trip of a tree with special files.
	src := t.TempDir()
	os.WriteFile(filepath.Join(src, "file"), []byte("data"), 0o644)
	syscall.Mkfifo(filepath.Join(src, "fifo"), 0o620)
	if err := syscall.Mknod(filepath.Join(src, "zero"), syscall.S_IFCHR|0o666, int(unix.Mkdev(1, 5))); err != nil {
		t.Fatal(err)
	}
	os.Chown(filepath.Join(src, "zero"), 42, 43)
	tarball := filepath.Join(t.TempDir(), "t.tar")
	run(t, "tar", "-C", src, "-cf", tarball, ".")
	dst := p("untarred")
	os.Mkdir(dst, 0o755)
	run(t, "tar", "-C", dst, "-xpf", tarball)
	back := filepath.Join(t.TempDir(), "back.tar")
	run(t, "tar", "-C", dst, "-cf", back, ".")
	list := func(tb string) string {
		out := run(t, "tar", "--numeric-owner", "-tvf", tb)
		lines := strings.Split(strings.TrimSpace(out), "\n")
		for i, l := range lines {
			if strings.HasSuffix(l, " ./") {
				lines[i] = "" // the top directory: its times differ
			}
		}
		slices.Sort(lines)
		return strings.Join(lines, "\n")
	}
	if a, b := list(tarball), list(back); a != b {
		t.Errorf("tar listing after a round trip through the mount:\n%s\nwant\n%s", b, a)
	}
}

// fileModeType maps S_IFMT bits to os.FileMode type bits.
func fileModeType(typ uint32) os.FileMode {
	switch typ {
	case syscall.S_IFIFO:
		return os.ModeNamedPipe
	case syscall.S_IFSOCK:
		return os.ModeSocket
	case syscall.S_IFCHR:
		return os.ModeDevice | os.ModeCharDevice
	case syscall.S_IFBLK:
		return os.ModeDevice
	}
	return 0
}
