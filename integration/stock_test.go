package integration

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/pkg/xattr"

	"mogfs/internal/testenv"
	"mogfs/protocol"
)

// TestStockTracker runs the mount against a tracker started with
// --mogfs_extensions=0, which answers like a stock MogileFS 2.73 tracker
// (no mogfs_* commands, no stats, create_close ignores attr_*). Plain
// files and directories derived from key prefixes work through list_keys;
// mkdir makes a mount-local directory, which becomes real once a key is
// stored under it and is gone at unmount while still empty; what needs
// the extension (modes, symlinks) fails with EOPNOTSUPP at once instead
// of hanging or pretending to succeed.
func TestStockTracker(t *testing.T) {
	testenv.RequireFUSE(t)
	c := StartCluster(t, ClusterOpts{TrackerArgs: []string{"--mogfs_extensions=0"}})
	if _, err := c.Do(t, "mogfs_caps", nil); !protocol.IsCode(err, "unknown_command") {
		t.Fatalf("mogfs_caps on a --mogfs_extensions=0 tracker = %v, want unknown_command", err)
	}
	cl := c.Client(t)
	ctx := t.Context()
	dom := c.Opts.Domain

	// The source tree: 6 directories with files, one empty directory,
	// 25 files (one of 1 MiB, one empty).
	src := filepath.Join(t.TempDir(), "src")
	dirs := []string{"", "docs", "docs/api", "img", "img/2024", "bin"}
	files := map[string][]byte{"bin/big.bin": stockRandom(1 << 20), "docs/empty": nil}
	for i, d := range dirs {
		for j := range 4 {
			files[filepath.Join(d, fmt.Sprintf("f%d-%d.txt", i, j))] = bytes.Repeat([]byte(fmt.Sprintf("%s %d\n", d, j)), 1+i*j*300)
		}
	}
	for p, b := range files {
		os.MkdirAll(filepath.Join(src, filepath.Dir(p)), 0o755)
		if err := os.WriteFile(filepath.Join(src, p), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Mkdir(filepath.Join(src, "docs", "emptydir"), 0o755); err != nil {
		t.Fatal(err)
	}
	// A key written by the stock tools, with "/" inside.
	deep := stockRandom(70 << 10)
	stockTool(t, c, deep, "mogupload", "--domain="+dom, "--key=tools/deep/er/file.bin", "--file=-")

	mnt := mountStock(t, c, "domain="+dom)
	tree := filepath.Join(mnt, "tree")

	t.Run("cat and xattrs of a mogupload key", func(t *testing.T) {
		p := filepath.Join(mnt, "tools", "deep", "er", "file.bin")
		// List the directory first: a stock list_keys has no sizes, and the
		// file must still show and read its real size, not 0.
		if ls := stockRun(t, "", "ls", "-l", filepath.Dir(p)); !strings.Contains(ls, fmt.Sprint(len(deep))) {
			t.Errorf("ls -l %s does not show the size %d:\n%s", filepath.Dir(p), len(deep), ls)
		}
		if got := stockRun(t, "", "cat", p); got != string(deep) {
			t.Errorf("cat %s: %d bytes, want the %d uploaded", p, len(got), len(deep))
		}
		fi, err := cl.FileInfo(ctx, dom, "tools/deep/er/file.bin")
		if err != nil {
			t.Fatal(err)
		}
		if v, err := xattr.Get(p, "user.mogilefs.fid"); err != nil || string(v) != fmt.Sprint(fi.FID) {
			t.Errorf("user.mogilefs.fid = %q, %v; want %d", v, err, fi.FID)
		}
		v, err := xattr.Get(p, "user.mogilefs.paths")
		if want := fmt.Sprintf("/%010d.fid", fi.FID); err != nil || !strings.Contains(string(v), want) {
			t.Errorf("user.mogilefs.paths = %q, %v; want URLs of %s", v, err, want)
		}
		if err := xattr.Set(p, "user.mogilefs.class", []byte(c.Opts.Class)); err != nil {
			t.Errorf("set user.mogilefs.class (updateclass): %v", err)
		} else if fi, err := cl.FileInfo(ctx, dom, "tools/deep/er/file.bin"); err != nil || fi.Class != c.Opts.Class {
			t.Errorf("class after setxattr = %q, %v; want %s", fi.Class, err, c.Opts.Class)
		}
	})

	t.Run("cp -r and diff -r", func(t *testing.T) {
		// tree does not exist yet: cp makes it and every directory below
		// with mkdir (mount-local until its first file is stored).
		stockRun(t, "", "cp", "-r", src+"/.", tree+"/")
		stockRun(t, "", "diff", "-r", src, tree)
		var buf bytes.Buffer
		if _, err := cl.Fetch(ctx, dom, "tree/bin/big.bin", &buf); !bytes.Equal(buf.Bytes(), files["bin/big.bin"]) {
			t.Errorf("mogfetch-style Fetch of tree/bin/big.bin: %d bytes, %v; want the 1 MiB copied", buf.Len(), err)
		}
	})

	t.Run("ls -laR shows key prefixes as directories", func(t *testing.T) {
		ls := stockRun(t, mnt, "ls", "-laR")
		for _, d := range []string{"tree", "tree/docs", "tree/docs/api", "tree/docs/emptydir", "tree/img/2024", "tools/deep/er"} {
			if !strings.Contains(ls, "./"+d+":\n") {
				t.Errorf("ls -laR has no section for directory %s:\n%s", d, ls)
			}
			re := regexp.MustCompile(`(?m)^d[rwx-]{9} .* ` + regexp.QuoteMeta(filepath.Base(d)) + `$`)
			if !re.MatchString(ls) {
				t.Errorf("ls -laR does not list %s as a directory:\n%s", d, ls)
			}
		}
		for _, f := range []string{"big.bin", "f5-3.txt", "file.bin", "f0-0.txt"} {
			if !regexp.MustCompile(`(?m)^-[rwx-]{9} .* ` + regexp.QuoteMeta(f) + `$`).MatchString(ls) {
				t.Errorf("ls -laR does not list file %s:\n%s", f, ls)
			}
		}
	})

	t.Run("overwrite", func(t *testing.T) {
		p := filepath.Join(tree, "docs", "f1-0.txt")
		before, err := cl.FileInfo(ctx, dom, "tree/docs/f1-0.txt")
		if err != nil {
			t.Fatal(err)
		}
		want := []byte("rewritten through a stock tracker\n")
		if err := os.WriteFile(p, want, 0o644); err != nil {
			t.Fatal(err)
		}
		if got := stockRun(t, "", "cat", p); got != string(want) {
			t.Errorf("cat after overwrite = %q, want %q", got, want)
		}
		var buf bytes.Buffer
		if _, err := cl.Fetch(ctx, dom, "tree/docs/f1-0.txt", &buf); err != nil || buf.String() != string(want) {
			t.Errorf("Fetch after overwrite = %q, %v; want %q", buf.String(), err, want)
		}
		if after, err := cl.FileInfo(ctx, dom, "tree/docs/f1-0.txt"); err != nil || after.FID == before.FID {
			t.Errorf("fid after overwrite = %d, %v; want a new fid (was %d)", after.FID, err, before.FID)
		}
	})

	t.Run("rm", func(t *testing.T) {
		p := filepath.Join(tree, "img", "2024", "f4-1.txt")
		stockRun(t, "", "rm", p)
		if _, err := os.Stat(p); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("stat after rm = %v, want ENOENT", err)
		}
		if _, err := cl.FileInfo(ctx, dom, "tree/img/2024/f4-1.txt"); !protocol.IsCode(err, "unknown_key") {
			t.Errorf("file_info after rm = %v, want unknown_key", err)
		}
	})

	t.Run("mv file within a directory", func(t *testing.T) {
		from, to := filepath.Join(tree, "docs", "api", "f2-1.txt"), filepath.Join(tree, "docs", "api", "renamed.txt")
		stockRun(t, "", "mv", from, to)
		if _, err := os.Stat(from); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("stat of the old name = %v, want ENOENT", err)
		}
		if got := stockRun(t, "", "cat", to); got != string(files["docs/api/f2-1.txt"]) {
			t.Errorf("cat of the new name: %d bytes, want %d", len(got), len(files["docs/api/f2-1.txt"]))
		}
		if _, err := cl.FileInfo(ctx, dom, "tree/docs/api/renamed.txt"); err != nil {
			t.Errorf("file_info of the new key: %v", err)
		}
	})

	t.Run("mv directory", func(t *testing.T) {
		stockRun(t, "", "mv", filepath.Join(tree, "img"), filepath.Join(tree, "pictures"))
		if _, err := os.Stat(filepath.Join(tree, "img")); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("stat of the old directory = %v, want ENOENT", err)
		}
		if got := stockRun(t, "", "cat", filepath.Join(tree, "pictures", "2024", "f4-0.txt")); got != string(files["img/2024/f4-0.txt"]) {
			t.Errorf("cat after directory mv: %d bytes, want %d", len(got), len(files["img/2024/f4-0.txt"]))
		}
		if keys, _, err := cl.ListKeys(ctx, dom, "tree/img/", "", 10); err != nil || len(keys) != 0 {
			t.Errorf("keys under tree/img/ after mv = %v, %v; want none", keys, err)
		}
	})

	// Without the extension: clear errors, at once, and nothing stored.
	t.Run("extension-only operations", func(t *testing.T) {
		file := filepath.Join(tree, "docs", "f1-1.txt")
		for _, tc := range []struct {
			name string
			op   func() error
			want syscall.Errno
		}{
			{"chmod", func() error { return os.Chmod(file, 0o600) }, syscall.EOPNOTSUPP},
			{"symlink", func() error { return os.Symlink("docs/f1-1.txt", filepath.Join(tree, "link")) }, syscall.EOPNOTSUPP},
			{"hard link", func() error { return os.Link(file, filepath.Join(tree, "hard")) }, syscall.EOPNOTSUPP},
			{"mkfifo", func() error { return syscall.Mkfifo(filepath.Join(tree, "fifo"), 0o644) }, syscall.EOPNOTSUPP},
			{"mkdir of a key-prefix directory", func() error { return os.Mkdir(filepath.Join(tree, "docs"), 0o755) }, syscall.EEXIST},
			{"rmdir of a non-empty directory", func() error { return os.Remove(filepath.Join(tree, "bin")) }, syscall.ENOTEMPTY},
		} {
			if err := within(t, 20*time.Second, tc.op); !errors.Is(err, tc.want) {
				t.Errorf("%s = %v, want %v", tc.name, err, tc.want)
			}
		}
		if st, err := os.Stat(file); err != nil || st.Mode().Perm() != 0o644 {
			t.Errorf("mode after refused chmod = %v, %v; want 0644", st.Mode(), err)
		}
		for _, k := range []string{"tree/link"} {
			if _, err := cl.FileInfo(ctx, dom, k); !protocol.IsCode(err, "unknown_key") {
				t.Errorf("file_info %s after a refused operation = %v, want unknown_key", k, err)
			}
		}
	})

	// Last: it mounts again, and the mount-local directories of the first
	// mount must not be seen by the second.
	t.Run("mount-local directories", func(t *testing.T) {
		local := filepath.Join(mnt, "local")
		stockRun(t, "", "mkdir", "-p", filepath.Join(local, "a", "b", "c"))
		want := []byte("stored under mkdir -p\n")
		if err := os.WriteFile(filepath.Join(local, "a", "b", "c", "f.txt"), want, 0o644); err != nil {
			t.Fatal(err)
		}
		for _, tc := range []struct {
			name string
			op   func() error
			want syscall.Errno
		}{
			{"mkdir x", func() error { return os.Mkdir(filepath.Join(local, "x"), 0o755) }, 0},
			{"mkdir x again", func() error { return os.Mkdir(filepath.Join(local, "x"), 0o755) }, syscall.EEXIST},
			{"mkdir x/sub", func() error { return os.Mkdir(filepath.Join(local, "x", "sub"), 0o755) }, 0},
			{"rmdir x with a sub-directory", func() error { return syscall.Rmdir(filepath.Join(local, "x")) }, syscall.ENOTEMPTY},
			{"rmdir x/sub", func() error { return syscall.Rmdir(filepath.Join(local, "x", "sub")) }, 0},
			{"rmdir x", func() error { return syscall.Rmdir(filepath.Join(local, "x")) }, 0},
			{"rmdir x again", func() error { return syscall.Rmdir(filepath.Join(local, "x")) }, syscall.ENOENT},
			{"rmdir of a directory with a file", func() error { return syscall.Rmdir(filepath.Join(local, "a", "b", "c")) }, syscall.ENOTEMPTY},
			{"mkdir y", func() error { return os.Mkdir(filepath.Join(local, "y"), 0o755) }, 0},
			{"mkdir z", func() error { return os.Mkdir(filepath.Join(local, "z"), 0o755) }, 0},
			{"mv z z2", func() error { return os.Rename(filepath.Join(local, "z"), filepath.Join(local, "z2")) }, 0},
		} {
			err := within(t, 20*time.Second, tc.op)
			if tc.want == 0 && err != nil || tc.want != 0 && !errors.Is(err, tc.want) {
				t.Errorf("%s = %v, want %v", tc.name, err, tc.want)
			}
		}
		// Past attr_timeout and entry_timeout (1 s): the listing of local
		// is re-read from the tracker, and still has y and z2.
		time.Sleep(1500 * time.Millisecond)
		if ls := strings.Fields(stockRun(t, "", "ls", local)); !slices.Equal(ls, []string{"a", "y", "z2"}) {
			t.Errorf("ls local after a refresh = %q, want [a y z2]", ls)
		}
		for _, d := range []string{"y", "z2", "a/b"} {
			if st, err := os.Stat(filepath.Join(local, d)); err != nil || !st.IsDir() {
				t.Errorf("stat local/%s = %v, %v; want a directory", d, st, err)
			}
		}
		if keys, _, err := cl.ListKeys(ctx, dom, "local/", "", 10); err != nil || !slices.Equal(keys, []string{"local/a/b/c/f.txt"}) {
			t.Errorf("keys under local/ = %q, %v; want only the file (directories are not stored)", keys, err)
		}

		// A fresh mount: a/b/c is real (a key lies under it), the empty
		// y and z2 existed only in the first mount.
		mnt2 := mountStock(t, c, "domain="+dom)
		local2 := filepath.Join(mnt2, "local")
		if got := stockRun(t, "", "cat", filepath.Join(local2, "a", "b", "c", "f.txt")); got != string(want) {
			t.Errorf("cat through a fresh mount = %q, want %q", got, want)
		}
		if ls := strings.Fields(stockRun(t, "", "ls", local2)); !slices.Equal(ls, []string{"a"}) {
			t.Errorf("ls local through a fresh mount = %q, want [a]", ls)
		}
		for _, d := range []string{"y", "z2", "x"} {
			if _, err := os.Stat(filepath.Join(local2, d)); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("stat local/%s through a fresh mount = %v, want ENOENT", d, err)
			}
		}
		if _, err := os.Stat(filepath.Join(mnt2, "tree", "docs", "emptydir")); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("stat of the empty directory cp made, through a fresh mount = %v, want ENOENT", err)
		}
	})
}

// within runs op and fails the test when it does not return within d
// (a hung FUSE request); the mount's cleanup unblocks it.
func within(t *testing.T, d time.Duration, op func() error) error {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- op() }()
	select {
	case err := <-done:
		return err
	case <-time.After(d):
		t.Fatalf("operation hung for %v", d)
		return nil
	}
}

// stockRun runs a command (in dir when not "") with a deadline and returns
// its output; a failure or hang fails the test.
func stockRun(t *testing.T, dir, name string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s %q: %v\n%s%s", name, args, err, out.String(), errb.String())
	}
	return out.String()
}

// stockTool runs a built mog* tool against the cluster's tracker, with an
// empty HOME so no ~/.mogilefs.conf leaks in.
func stockTool(t *testing.T, c *Cluster, stdin []byte, tool string, args ...string) {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), filepath.Join(c.Bin, tool), append([]string{"--trackers=" + strings.Join(c.Trackers, ",")}, args...)...)
	cmd.Env = append(os.Environ(), "HOME="+t.TempDir())
	cmd.Stdin = bytes.NewReader(stdin)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s %q: %v\n%s", tool, args, err, out)
	}
}

// mountStock mounts with just the given -o options (no class or timeouts
// of mountMogfs's defaults) and returns the mount point.
func mountStock(t *testing.T, c *Cluster, opts ...string) string {
	t.Helper()
	return mountWith(t, c, opts...).Dir
}

// stockRandom returns n pseudo-random bytes.
func stockRandom(n int) []byte {
	b := make([]byte, n)
	r := rand.NewChaCha8([32]byte{byte(n), byte(n >> 8), byte(n >> 16)})
	r.Read(b)
	return b
}
