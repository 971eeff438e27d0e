package integration

import (
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

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

// TestFUSEHardLinks: several names for one file, across directories, share
// content, attributes, inode number and link count; the file survives the
// removal or rename of any name but the last, and a remount; tar and
// rsync -aH round-trip a tree with hard links.
func TestFUSEHardLinks(t *testing.T) {
	testenv.RequireFUSE(t)
	c := StartCluster(t, ClusterOpts{})
	m := mountMogfs(t, c)
	p := func(rel string) string { return filepath.Join(m.Dir, rel) }
	if err := os.MkdirAll(p("d"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p("a"), []byte("one"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Link(p("a"), p("d/b")); err != nil {
		t.Fatalf("link: %v", err)
	}
	stat := func(rel string) syscall.Stat_t {
		t.Helper()
		var st syscall.Stat_t
		if err := syscall.Lstat(p(rel), &st); err != nil {
			t.Fatalf("lstat %s: %v", rel, err)
		}
		return st
	}
	sa, sb := stat("a"), stat("d/b")
	if sa.Ino != sb.Ino || sa.Nlink != 2 || sb.Nlink != 2 {
		t.Errorf("a: ino %d nlink %d; d/b: ino %d nlink %d; want one inode, two links", sa.Ino, sa.Nlink, sb.Ino, sb.Nlink)
	}
	if err := os.WriteFile(p("d/b"), []byte("two"), 0o644); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(p("a")); err != nil || string(b) != "two" {
		t.Errorf("a after writing d/b = %q, %v", b, err)
	}
	if err := os.Chmod(p("d/b"), 0o600); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond) // attr_timeout of a's cached attributes
	if st := stat("a"); st.Mode&0o777 != 0o600 {
		t.Errorf("a's mode after chmod of d/b = %o", st.Mode)
	}
	if err := os.Rename(p("a"), p("c")); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(p("c")); err != nil {
		t.Fatalf("unlink of the first name: %v", err)
	}
	if b, err := os.ReadFile(p("d/b")); err != nil || string(b) != "two" {
		t.Errorf("d/b after the first name went = %q, %v", b, err)
	}
	m.unmount(t)
	m = mountMogfs(t, c)
	if st := stat("d/b"); st.Nlink != 1 || st.Ino != sa.Ino {
		t.Errorf("d/b after remount: ino %d nlink %d, want ino %d nlink 1", st.Ino, st.Nlink, sa.Ino)
	}
	if b, err := os.ReadFile(p("d/b")); err != nil || string(b) != "two" {
		t.Errorf("d/b after remount = %q, %v", b, err)
	}
	if err := os.Remove(p("d/b")); err != nil {
		t.Fatal(err)
	}
	if keys, _, err := c.Client(t).ListKeys(t.Context(), c.Opts.Domain, "", "", 100); err == nil && len(keys) != 0 {
		t.Errorf("keys left after the last name went: %q", keys)
	}

	// A tree with hard links through tar and rsync -aH.
	src := t.TempDir()
	os.MkdirAll(filepath.Join(src, "x", "y"), 0o755)
	os.WriteFile(filepath.Join(src, "x", "f"), []byte("shared"), 0o644)
	os.Link(filepath.Join(src, "x", "f"), filepath.Join(src, "x", "y", "g"))
	os.Link(filepath.Join(src, "x", "f"), filepath.Join(src, "h"))
	tarball := filepath.Join(t.TempDir(), "t.tar")
	run(t, "tar", "-C", src, "-cf", tarball, ".")
	os.Mkdir(p("untar"), 0o755)
	run(t, "tar", "-C", p("untar"), "-xpf", tarball)
	for _, rel := range []string{"untar/x/y/g", "untar/h"} {
		if st := stat(rel); st.Ino != stat("untar/x/f").Ino || st.Nlink != 3 {
			t.Errorf("%s after tar -x: ino %d nlink %d, want x/f's inode and 3 links", rel, st.Ino, st.Nlink)
		}
	}
	back := t.TempDir()
	run(t, "rsync", "-aH", p("untar")+"/", back+"/")
	var f, g syscall.Stat_t
	syscall.Stat(filepath.Join(back, "x", "f"), &f)
	syscall.Stat(filepath.Join(back, "x", "y", "g"), &g)
	if f.Ino == 0 || f.Ino != g.Ino || f.Nlink != 3 {
		t.Errorf("rsync -aH from the mount: x/f ino %d nlink %d, x/y/g ino %d; want one inode with 3 links", f.Ino, f.Nlink, g.Ino)
	}
	run(t, "diff", "-r", src, back)
}

// TestFUSERoundTripTree: a tree of regular files, hard links, a fifo, a
// character device, a symlink and directories, with modes, owners and
// times, goes into the mount with rsync -aH and comes back out with
// rsync -aH identical: for every path the same type, mode, owner, link
// count, device number, mtime and content.
func TestFUSERoundTripTree(t *testing.T) {
	testenv.RequireFUSE(t)
	c := StartCluster(t, ClusterOpts{})
	m := mountMogfs(t, c)
	src := filepath.Join(t.TempDir(), "src")
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	at := func(rel string) string { return filepath.Join(src, rel) }
	must(os.MkdirAll(at("d/e"), 0o755))
	must(os.WriteFile(at("d/f"), []byte("content"), 0o640))
	must(os.Link(at("d/f"), at("d/e/g")))
	must(os.Link(at("d/f"), at("h")))
	must(os.WriteFile(at("plain"), []byte("plain"), 0o600))
	must(syscall.Mkfifo(at("d/fifo"), 0o620))
	must(syscall.Mknod(at("d/e/tty"), syscall.S_IFCHR|0o660, int(unix.Mkdev(5, 0))))
	must(os.Symlink("d/f", at("sym")))
	must(os.Chown(at("plain"), 1000, 1001))
	must(os.Chown(at("d/e/tty"), 0, 5))
	must(os.Chmod(at("d/e"), 0o750))
	old := time.Date(2020, 1, 2, 3, 4, 5, 0, time.UTC)
	for _, rel := range []string{"plain", "d/f", "d/fifo", "d/e/tty", "d/e", "d"} {
		must(os.Chtimes(at(rel), old, old))
	}
	run(t, "rsync", "-aH", src+"/", filepath.Join(m.Dir, "tree")+"/")
	back := filepath.Join(t.TempDir(), "back")
	run(t, "rsync", "-aH", filepath.Join(m.Dir, "tree")+"/", back+"/")
	// (diff -r reports two fifos as different, so contents are compared
	// here, with the rest of each path's stat.)
	type info struct {
		mode, uid, gid uint32
		nlink          uint64
		rdev           uint64
		mtime          int64
		content        string // a regular file's bytes, a symlink's target
	}
	describe := func(root string) map[string]info {
		out := map[string]info{}
		filepath.Walk(root, func(p string, _ os.FileInfo, err error) error {
			if err != nil {
				return err
			}
			var st syscall.Stat_t
			must(syscall.Lstat(p, &st))
			rel, _ := filepath.Rel(root, p)
			i := info{mode: st.Mode, uid: st.Uid, gid: st.Gid, nlink: st.Nlink, rdev: st.Rdev, mtime: st.Mtim.Sec}
			switch st.Mode & syscall.S_IFMT {
			case syscall.S_IFREG:
				b, err := os.ReadFile(p)
				must(err)
				i.content = string(b)
			case syscall.S_IFLNK:
				i.content, err = os.Readlink(p)
				must(err)
			}
			if st.Mode&syscall.S_IFMT == syscall.S_IFDIR {
				i.nlink = 0 // the mount does not count sub-directories
			}
			if st.Mode&syscall.S_IFMT == syscall.S_IFLNK || rel == "." {
				i.mtime = 0 // rsync does not set a symlink's time here; the top is made by rsync
			}
			out[rel] = i
			return nil
		})
		return out
	}
	want, got := describe(src), describe(back)
	if len(want) != len(got) {
		t.Errorf("back has %d paths, want %d", len(got), len(want))
	}
	for rel, w := range want {
		if g := got[rel]; g != w {
			t.Errorf("%s: %+v after the round trip, want %+v", rel, g, w)
		}
	}
}
