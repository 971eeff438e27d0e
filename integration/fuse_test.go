package integration

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/pkg/xattr"

	"mogfs/internal/testenv"
	"mogfs/metrics/metricstest"
)

// mogfsMount is one running `mogfs -f` process.
type mogfsMount struct {
	Dir string
	cmd *exec.Cmd
	log *bytes.Buffer
}

// mountMogfs runs the real mogfs binary in the foreground (so the test owns
// its PID) and waits until the mount is in /proc/self/mountinfo. Cleanup
// unmounts even when the test failed, with fusermount3 -u -z as last resort.
func mountMogfs(t testing.TB, c *Cluster, opts ...string) *mogfsMount {
	t.Helper()
	return mountWith(t, c, append([]string{"domain=" + c.Opts.Domain, "class=" + c.Opts.Class, "attr_timeout=0.2", "entry_timeout=0.2"}, opts...)...)
}

// mountWith is mountMogfs with exactly the given -o options (plus a
// cache_dir in the test's temporary directory).
func mountWith(t testing.TB, c *Cluster, opts ...string) *mogfsMount {
	t.Helper()
	dir := t.TempDir()
	mnt := filepath.Join(dir, "mnt")
	os.Mkdir(mnt, 0o755)
	o := append([]string{"cache_dir=" + filepath.Join(dir, "cache")}, opts...)
	m := &mogfsMount{Dir: mnt, log: &bytes.Buffer{}}
	m.cmd = exec.Command(filepath.Join(c.Bin, "mogfs"), strings.Join(c.Trackers, ","), mnt, "-f", "-o", strings.Join(o, ","))
	m.cmd.Stdout, m.cmd.Stderr = m.log, m.log
	if err := m.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { m.cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		if mounted(mnt) {
			exec.Command("umount", mnt).Run()
		}
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			exec.Command("fusermount3", "-u", "-z", mnt).Run()
			m.cmd.Process.Kill()
			<-exited
		}
		if t.Failed() {
			t.Logf("mogfs log:\n%s", m.log)
		}
	})
	deadline := time.Now().Add(15 * time.Second)
	for !mounted(mnt) {
		select {
		case <-exited:
			t.Fatalf("mogfs exited before mounting: %s", m.log)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("mogfs did not mount within 15s: %s", m.log)
		}
		time.Sleep(20 * time.Millisecond)
	}
	return m
}

// unmount unmounts and waits for the process to exit cleanly.
func (m *mogfsMount) unmount(t testing.TB) {
	t.Helper()
	if out, err := exec.Command("umount", m.Dir).CombinedOutput(); err != nil {
		t.Fatalf("umount: %v: %s", err, out)
	}
	deadline := time.Now().Add(10 * time.Second)
	for m.cmd.ProcessState == nil && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
}

func mounted(dir string) bool {
	b, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return false
	}
	for _, l := range strings.Split(string(b), "\n") {
		if f := strings.Fields(l); len(f) > 4 && f[4] == dir {
			return true
		}
	}
	return false
}

func run(t testing.TB, name string, args ...string) string {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %q: %v\n%s", name, args, err, out)
	}
	return string(out)
}

// makeTree writes a small source tree with nested dirs, an empty file and
// names with spaces and percent signs.
func makeTree(t testing.TB) string {
	t.Helper()
	src := filepath.Join(t.TempDir(), "src")
	files := map[string]string{
		"README":             "top\n",
		"empty":              "",
		"a/b/c/deep.txt":     strings.Repeat("deep ", 1000),
		"a/with space.txt":   "space\n",
		"a/50%.txt":          "percent\n",
		"bin/blob":           strings.Repeat("\x00\x01\x02", 100000),
		"docs/x/y/z/end.txt": "end\n",
	}
	for p, c := range files {
		full := filepath.Join(src, p)
		os.MkdirAll(filepath.Dir(full), 0o755)
		if err := os.WriteFile(full, []byte(c), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	os.MkdirAll(filepath.Join(src, "emptydir"), 0o755)
	return src
}

func TestFUSETreeTools(t *testing.T) {
	testenv.RequireFUSE(t)
	if _, err := exec.LookPath("rsync"); err != nil {
		testenv.Missing(t, "rsync not installed (apt-get install rsync)")
	}
	c := StartCluster(t, ClusterOpts{})
	m := mountMogfs(t, c)
	src := makeTree(t)

	t.Run("cp and diff", func(t *testing.T) {
		run(t, "cp", "-r", src, filepath.Join(m.Dir, "cp"))
		run(t, "diff", "-r", src, filepath.Join(m.Dir, "cp"))
	})
	t.Run("tar round trip", func(t *testing.T) {
		tarball := filepath.Join(t.TempDir(), "t.tar")
		run(t, "tar", "-C", src, "-cf", tarball, ".")
		os.Mkdir(filepath.Join(m.Dir, "tar"), 0o755)
		run(t, "tar", "-C", filepath.Join(m.Dir, "tar"), "-xf", tarball)
		back := filepath.Join(t.TempDir(), "back")
		os.Mkdir(back, 0o755)
		tar2 := filepath.Join(t.TempDir(), "t2.tar")
		run(t, "tar", "-C", filepath.Join(m.Dir, "tar"), "-cf", tar2, ".")
		run(t, "tar", "-C", back, "-xf", tar2)
		run(t, "diff", "-r", src, back)
	})
	t.Run("rsync twice", func(t *testing.T) {
		dst := filepath.Join(m.Dir, "rs") + "/"
		run(t, "rsync", "-a", src+"/", dst)
		if out := run(t, "rsync", "-a", "--itemize-changes", src+"/", dst); strings.TrimSpace(out) != "" {
			t.Errorf("second rsync transferred:\n%s", out)
		}
		run(t, "diff", "-r", src, dst)
	})
	t.Run("ls find mv rm", func(t *testing.T) {
		ls := run(t, "ls", "-lR", filepath.Join(m.Dir, "cp"))
		for _, want := range []string{"deep.txt", "with space.txt", "50%.txt", "emptydir"} {
			if !strings.Contains(ls, want) {
				t.Errorf("ls -lR lacks %q:\n%s", want, ls)
			}
		}
		found := strings.Split(strings.TrimSpace(run(t, "find", filepath.Join(m.Dir, "cp"), "-type", "f", "-name", "*.txt")), "\n")
		if len(found) != 4 {
			t.Errorf("find found %d .txt files, want 4: %v", len(found), found)
		}
		run(t, "mv", filepath.Join(m.Dir, "cp", "a"), filepath.Join(m.Dir, "cp", "moved"))
		run(t, "mv", filepath.Join(m.Dir, "cp", "README"), filepath.Join(m.Dir, "cp", "moved", "README2"))
		got, err := os.ReadFile(filepath.Join(m.Dir, "cp", "moved", "b", "c", "deep.txt"))
		if err != nil || string(got) != strings.Repeat("deep ", 1000) {
			t.Errorf("after mv: %v", err)
		}
		if _, err := os.Stat(filepath.Join(m.Dir, "cp", "a")); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("old dir still there: %v", err)
		}
		run(t, "rm", "-r", filepath.Join(m.Dir, "cp"))
		if ents, _ := os.ReadDir(m.Dir); slices.ContainsFunc(ents, func(e os.DirEntry) bool { return e.Name() == "cp" }) {
			t.Error("cp still listed after rm -r")
		}
		keys, _, err := c.Client(t).ListKeys(t.Context(), c.Opts.Domain, "cp/", "", 10)
		if err != nil || len(keys) != 0 {
			t.Errorf("keys under cp/ after rm -r: %v %v", keys, err)
		}
	})
}

func TestFUSEEdits(t *testing.T) {
	testenv.RequireFUSE(t)
	c := StartCluster(t, ClusterOpts{})
	m := mountMogfs(t, c)
	p := filepath.Join(m.Dir, "f.txt")
	os.WriteFile(p, []byte("hello world"), 0o644)
	fid1 := fileFID(t, c, "f.txt")

	f, _ := os.OpenFile(p, os.O_APPEND|os.O_WRONLY, 0)
	f.WriteString("!!")
	if err := f.Close(); err != nil {
		t.Fatalf("close after append: %v", err)
	}
	run(t, "sh", "-c", "printf WORLD | dd of='"+p+"' bs=1 seek=6 conv=notrunc 2>/dev/null")
	assertContent(t, p, "hello WORLD!!")
	if fid2 := fileFID(t, c, "f.txt"); fid2 == fid1 {
		t.Errorf("rewritten file kept fid %d, want a new fid", fid1)
	}
	if err := os.Truncate(p, 5); err != nil {
		t.Fatal(err)
	}
	assertContent(t, p, "hello")
	run(t, "sh", "-c", "echo more >> '"+p+"'")
	assertContent(t, p, "hello"+"more\n")

	// Attributes and namespace that must survive a remount.
	os.Mkdir(filepath.Join(m.Dir, "emptydir"), 0o750)
	os.MkdirAll(filepath.Join(m.Dir, "gone/sub"), 0o755)
	if err := os.Remove(filepath.Join(m.Dir, "gone/sub")); err != nil {
		t.Fatal(err)
	}
	os.Mkdir(filepath.Join(m.Dir, "full"), 0o755)
	os.WriteFile(filepath.Join(m.Dir, "full/x"), []byte("x"), 0o644)
	if err := os.Remove(filepath.Join(m.Dir, "full")); !errors.Is(err, syscall.ENOTEMPTY) {
		t.Errorf("rmdir non-empty = %v, want ENOTEMPTY", err)
	}
	if err := os.Symlink("f.txt", filepath.Join(m.Dir, "link")); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(p, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(p, 1234, 5678); err != nil {
		t.Fatal(err)
	}
	mt := time.Date(2001, 2, 3, 4, 5, 6, 0, time.UTC)
	if err := os.Chtimes(p, mt, mt); err != nil {
		t.Fatal(err)
	}
	if err := os.Link(p, filepath.Join(m.Dir, "hard")); err != nil {
		t.Errorf("link: %v", err)
	} else if fi, err := os.Stat(filepath.Join(m.Dir, "hard")); err != nil || fi.Sys().(*syscall.Stat_t).Nlink != 2 {
		t.Errorf("stat of the hard link = %v, %v; want 2 links", fi, err)
	}

	// xattrs
	names, err := xattr.List(p)
	if err != nil || !slices.Contains(names, "user.mogilefs.fid") || !slices.Contains(names, "user.mogilefs.paths") {
		t.Errorf("xattr.List = %v, %v", names, err)
	}
	if v, err := xattr.Get(p, "user.mogilefs.fid"); err != nil || string(v) != fmt.Sprint(fileFID(t, c, "f.txt")) {
		t.Errorf("user.mogilefs.fid = %q, %v", v, err)
	}
	if v, err := xattr.Get(p, "user.mogilefs.class"); err != nil || string(v) != c.Opts.Class {
		t.Errorf("user.mogilefs.class = %q, %v, want %q", v, err, c.Opts.Class)
	}
	if err := xattr.Set(p, "user.mogilefs.class", []byte("default")); err != nil {
		t.Errorf("set class: %v", err)
	}
	if v, _ := xattr.Get(p, "user.mogilefs.class"); string(v) != "default" {
		t.Errorf("class after set = %q", v)
	}
	if err := xattr.Set(p, "user.other", []byte("x")); !errors.Is(err, syscall.EOPNOTSUPP) {
		t.Errorf("set user.other = %v, want EOPNOTSUPP", err)
	}

	m.unmount(t)
	m2 := mountMogfs(t, c)
	q := filepath.Join(m2.Dir, "f.txt")
	st, err := os.Stat(q)
	if err != nil {
		t.Fatal(err)
	}
	sys := st.Sys().(*syscall.Stat_t)
	if st.Mode().Perm() != 0o600 || sys.Uid != 1234 || sys.Gid != 5678 || !st.ModTime().Equal(mt) || st.Size() != 10 {
		t.Errorf("after remount: mode %v uid %d gid %d mtime %v size %d", st.Mode(), sys.Uid, sys.Gid, st.ModTime(), st.Size())
	}
	if st, err := os.Stat(filepath.Join(m2.Dir, "emptydir")); err != nil || !st.IsDir() || st.Mode().Perm() != 0o750 {
		t.Errorf("empty dir after remount: %v %v", st, err)
	}
	if _, err := os.Stat(filepath.Join(m2.Dir, "gone", "sub")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("removed dir after remount: %v", err)
	}
	if target, err := os.Readlink(filepath.Join(m2.Dir, "link")); err != nil || target != "f.txt" {
		t.Errorf("readlink = %q, %v", target, err)
	}
	assertContent(t, filepath.Join(m2.Dir, "link"), "hellomore\n")
}

func TestFUSELargeFile(t *testing.T) {
	testenv.RequireFUSE(t)
	c := StartCluster(t, ClusterOpts{})
	maddr := fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(t, "127.0.0.1"))
	m := mountMogfs(t, c, "cache_size=64M", "metrics_listen="+maddr)
	sizes := []int64{256 << 20}
	if !testing.Short() {
		sizes = append(sizes, 1<<30)
	}
	var streamedTotal float64
	for _, size := range sizes {
		p := filepath.Join(m.Dir, fmt.Sprintf("big-%d", size))
		f, err := os.Create(p)
		if err != nil {
			t.Fatal(err)
		}
		wsum := sha256.New()
		wstart := time.Now()
		if _, err := io.Copy(io.MultiWriter(f, wsum), io.LimitReader(newPattern(), size)); err != nil {
			t.Fatal(err)
		}
		if err := f.Close(); err != nil {
			t.Fatalf("close %d bytes: %v", size, err)
		}
		t.Logf("write+upload of %d MiB through the mount: %.0f MiB/s", size>>20, float64(size)/(1<<20)/time.Since(wstart).Seconds())
		// Written from 0 onwards: the bytes went to the node as they were
		// written, and the close did not send them again.
		streamed, _ := metricstest.Scrape(t, "http://"+maddr+"/metrics").Value("mogfs_mount_streamed_bytes_total")
		if streamedBefore := streamedTotal; streamed-streamedBefore != float64(size) {
			t.Errorf("streamed %.0f bytes of a %d-byte file written sequentially", streamed-streamedBefore, size)
		}
		streamedTotal = streamed
		rf, err := os.Open(p)
		if err != nil {
			t.Fatal(err)
		}
		rsum := sha256.New()
		start := time.Now()
		n, err := io.Copy(rsum, rf)
		t.Logf("sequential read of %d MiB through the mount: %.0f MiB/s", size>>20, float64(size)/(1<<20)/time.Since(start).Seconds())
		rf.Close()
		if err != nil || n != size || !bytes.Equal(rsum.Sum(nil), wsum.Sum(nil)) {
			t.Fatalf("read back %d of %d bytes (%v), checksums equal: %v", n, size, err, bytes.Equal(rsum.Sum(nil), wsum.Sum(nil)))
		}
		// The full cache lives off the Go heap (the cache's arena): a heap
		// holding it made the collector pace on it, or run without pause
		// under the soft memory limit.
		mf := metricstest.Scrape(t, "http://"+maddr+"/metrics")
		cached, _ := mf.Value("mogfs_mount_cache_bytes")
		heap, _ := mf.Value("go_memstats_heap_inuse_bytes")
		t.Logf("after reading %d MiB: %.0f MiB cached, Go heap in use %.0f MiB", size>>20, cached/(1<<20), heap/(1<<20))
		if cached < 32<<20 || heap >= cached {
			t.Errorf("cache holds %.0f MiB, Go heap in use %.0f MiB: want a full cache (64M) beside a heap smaller than it", cached/(1<<20), heap/(1<<20))
		}
		os.Remove(p)
	}
	// dd closes its first descriptor of the new file (after dup2) before
	// writing: that close stores the empty file, and the writes that
	// follow still stream.
	if out, err := exec.Command("dd", "if=/dev/zero", "of="+filepath.Join(m.Dir, "dd"), "bs=1M", "count=32", "conv=fsync").CombinedOutput(); err != nil {
		t.Fatalf("dd: %v\n%s", err, out)
	}
	streamed, _ := metricstest.Scrape(t, "http://"+maddr+"/metrics").Value("mogfs_mount_streamed_bytes_total")
	if streamed-streamedTotal != 32<<20 {
		t.Errorf("dd of 32 MiB streamed %.0f bytes", streamed-streamedTotal)
	}
	// Staging is on disk and reads stream through the block cache: the
	// mount's peak RSS stays within its cache budget plus 100 MB whatever
	// the file size.
	hwm := vmHWM(t, m.cmd.Process.Pid)
	t.Logf("mogfs VmHWM after the large files: %d MiB", hwm>>20)
	if limit := int64(64<<20 + 100<<20); hwm > limit {
		t.Errorf("mogfs VmHWM = %d MiB, want <= %d MiB (cache_size=64M + 100 MB)", hwm>>20, limit>>20)
	}
}

// vmHWM returns the peak resident set size of process pid, in bytes.
func vmHWM(t testing.TB, pid int) int64 {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(l, "VmHWM:"); ok {
			var kb int64
			fmt.Sscan(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), &kb)
			return kb << 10
		}
	}
	t.Fatalf("no VmHWM in /proc/%d/status", pid)
	return 0
}

func TestFUSETwoMounts(t *testing.T) {
	testenv.RequireFUSE(t)
	c := StartCluster(t, ClusterOpts{})
	a, b := mountMogfs(t, c), mountMogfs(t, c)
	os.WriteFile(filepath.Join(a.Dir, "shared"), []byte("v1"), 0o644)
	assertContent(t, filepath.Join(b.Dir, "shared"), "v1")
	os.WriteFile(filepath.Join(b.Dir, "shared"), []byte("version 2"), 0o644)
	assertContent(t, filepath.Join(a.Dir, "shared"), "version 2") // close-to-open
	os.Mkdir(filepath.Join(b.Dir, "dir"), 0o755)
	time.Sleep(300 * time.Millisecond) // entry_timeout
	if st, err := os.Stat(filepath.Join(a.Dir, "dir")); err != nil || !st.IsDir() {
		t.Errorf("mkdir in b not seen in a: %v", err)
	}
	os.Remove(filepath.Join(a.Dir, "shared"))
	time.Sleep(300 * time.Millisecond)
	if _, err := os.Stat(filepath.Join(b.Dir, "shared")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("unlink in a not seen in b: %v", err)
	}
}

// TestFUSENodeKilled reads a replicated file with the storage node of its
// first path stopped: the reader moves on to the other copy.
func TestFUSENodeKilled(t *testing.T) {
	testenv.RequireFUSE(t)
	c := StartCluster(t, ClusterOpts{})
	m := mountMogfs(t, c, "cache_size=0")
	data := bytes.Repeat([]byte("replicated "), 300000)
	os.WriteFile(filepath.Join(m.Dir, "r"), data, 0o644)
	cl := c.Client(t)
	deadline := time.Now().Add(30 * time.Second)
	var paths []string
	for {
		var err error
		paths, err = cl.GetPaths(t.Context(), c.Opts.Domain, "r", true, 0)
		if err == nil && len(paths) >= 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("file not replicated to 2 devices in 30s: %v %v", paths, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
	for i, n := range c.Nodes {
		if strings.Contains(paths[0], "//"+n.IP+":") {
			c.StopNode(t, i)
		}
	}
	got, err := os.ReadFile(filepath.Join(m.Dir, "r"))
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("read with a node down: %d bytes, %v", len(got), err)
	}
}

// TestFUSEBackground runs mogfs as mount(8) would: it must detach and
// return only once mounted, and umount must end it.
func TestFUSEBackground(t *testing.T) {
	testenv.RequireFUSE(t)
	c := StartCluster(t, ClusterOpts{})
	mnt := filepath.Join(t.TempDir(), "mnt")
	os.Mkdir(mnt, 0o755)
	t.Cleanup(func() {
		if mounted(mnt) {
			exec.Command("fusermount3", "-u", "-z", mnt).Run()
		}
	})
	bin := filepath.Join(c.Bin, "mogfs")
	run(t, bin, strings.Join(c.Trackers, ","), mnt, "-o", "rw,dev,suid,_netdev,nofail,domain="+c.Opts.Domain)
	if !mounted(mnt) {
		t.Fatal("mogfs returned before the mount was ready")
	}
	os.WriteFile(filepath.Join(mnt, "x"), []byte("bg"), 0o644)
	assertContent(t, filepath.Join(mnt, "x"), "bg")
	run(t, "umount", mnt)
	if mounted(mnt) {
		t.Error("still mounted after umount")
	}

	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"not-a-tracker", mnt}, "not host:port"},
		{[]string{"127.0.0.1:1", mnt, "-f"}, "no tracker reachable"},
		{[]string{strings.Join(c.Trackers, ","), filepath.Join(mnt, "x"), "-f"}, "no such file"},
		{[]string{strings.Join(c.Trackers, ","), mnt, "-o", "domain=nosuch"}, "unknown domain"},
	} {
		out, err := exec.Command(bin, tc.args...).CombinedOutput()
		if err == nil || !strings.Contains(string(out), tc.want) {
			t.Errorf("mogfs %q = %v, %q; want failure saying %q", tc.args, err, out, tc.want)
		}
	}
}

func fileFID(t testing.TB, c *Cluster, key string) int64 {
	t.Helper()
	fi, err := c.Client(t).FileInfo(t.Context(), c.Opts.Domain, key)
	if err != nil {
		t.Fatalf("FileInfo(%s): %v", key, err)
	}
	return fi.FID
}

func assertContent(t testing.TB, p, want string) {
	t.Helper()
	got, err := os.ReadFile(p)
	if err != nil || string(got) != want {
		t.Errorf("ReadFile(%s) = %q, %v; want %q", p, got, err, want)
	}
}

// newPattern is an endless deterministic pseudo-random stream.
func newPattern() io.Reader { return rand.NewChaCha8([32]byte{1}) }

// BenchmarkFUSESequentialRead streams a 64 MiB file through the mount, with
// the block cache holding it (hit) and disabled (miss: every block from
// storage).
func BenchmarkFUSESequentialRead(b *testing.B) {
	testenv.RequireFUSE(b)
	c := StartCluster(b, ClusterOpts{})
	const size = 64 << 20
	for _, bc := range []struct{ name, opt string }{{"hit", "cache_size=256M"}, {"miss", "cache_size=0"}} {
		b.Run("cache="+bc.name, func(b *testing.B) {
			m := mountMogfs(b, c, bc.opt)
			p := filepath.Join(m.Dir, "bench")
			f, err := os.Create(p)
			if err != nil {
				b.Fatal(err)
			}
			io.Copy(f, io.LimitReader(newPattern(), size))
			if err := f.Close(); err != nil {
				b.Fatal(err)
			}
			buf := make([]byte, 1<<20)
			b.SetBytes(size)
			b.ReportAllocs()
			for b.Loop() {
				f, err := os.Open(p) // no keep_cache: every open reads through FUSE
				if err != nil {
					b.Fatal(err)
				}
				n, err := io.CopyBuffer(io.Discard, f, buf)
				f.Close()
				if err != nil || n != size {
					b.Fatalf("read %d bytes: %v", n, err)
				}
			}
		})
	}
}

// TestFUSESIGTERM stops mogfs while a file is open for writing: it must
// store the file before it unmounts, and the statfs totals come from the
// devices.
func TestFUSESIGTERM(t *testing.T) {
	testenv.RequireFUSE(t)
	c := StartCluster(t, ClusterOpts{})
	m := mountMogfs(t, c)
	var sfs syscall.Statfs_t
	if err := syscall.Statfs(m.Dir, &sfs); err != nil || sfs.Blocks == 0 || sfs.Bfree > sfs.Blocks {
		t.Errorf("statfs = %+v, %v; want device totals", sfs, err)
	}
	f, err := os.Create(filepath.Join(m.Dir, "open"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	f.WriteString("written before SIGTERM")
	m.cmd.Process.Signal(syscall.SIGTERM)
	deadline := time.Now().Add(20 * time.Second)
	for mounted(m.Dir) && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if mounted(m.Dir) {
		t.Fatal("still mounted 20s after SIGTERM")
	}
	var buf bytes.Buffer
	if _, err := c.Client(t).Fetch(t.Context(), c.Opts.Domain, "open", &buf); err != nil || buf.String() != "written before SIGTERM" {
		t.Errorf("stored after SIGTERM: %q, %v", buf.String(), err)
	}
}

// TestFUSEMetrics scrapes -o metrics_listen= after a write and a read: the
// per-operation counters, the byte counters and the cache collector moved,
// and a failed lookup is counted as an ENOENT error.
func TestFUSEMetrics(t *testing.T) {
	testenv.RequireFUSE(t)
	c := StartCluster(t, ClusterOpts{})
	addr := fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(t, "127.0.0.1"))
	m := mountMogfs(t, c, "metrics_listen="+addr)
	url := "http://" + addr + "/metrics"
	before := metricstest.Scrape(t, url)
	if v, _ := before.Value("mogfs_mount_upload_bytes_total"); v != 0 {
		t.Errorf("upload bytes before any write = %v, want 0", v)
	}
	data := bytes.Repeat([]byte("metrics "), 1<<17) // 1 MiB
	if err := os.WriteFile(filepath.Join(m.Dir, "m"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	assertContent(t, filepath.Join(m.Dir, "m"), string(data))
	if _, err := os.Stat(filepath.Join(m.Dir, "missing")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("stat missing = %v", err)
	}
	f := metricstest.Scrape(t, url)
	for _, tc := range []struct {
		name   string
		labels []string
		min    float64
	}{
		{"mogfs_mount_ops_total", []string{"op", "create"}, 1},
		{"mogfs_mount_ops_total", []string{"op", "write"}, 1},
		{"mogfs_mount_ops_total", []string{"op", "flush"}, 1},
		{"mogfs_mount_ops_total", []string{"op", "open"}, 1},
		{"mogfs_mount_ops_total", []string{"op", "read"}, 1},
		{"mogfs_mount_op_errors_total", []string{"op", "lookup", "errno", "ENOENT"}, 1},
		{"mogfs_mount_op_duration_seconds", []string{"op", "flush"}, 1},
		{"mogfs_mount_upload_bytes_total", nil, float64(len(data))},
		{"mogfs_mount_download_bytes_total", nil, float64(len(data))},
		{"mogfs_mount_cache_misses_total", nil, 1},
		{"process_resident_memory_bytes", nil, 1},
	} {
		if v, ok := f.Value(tc.name, tc.labels...); !ok || v < tc.min {
			t.Errorf("%s%v = %v (present %v), want >= %v", tc.name, tc.labels, v, ok, tc.min)
		}
	}
}

// smallFileTargets are the slowest the mount may be, as a multiple of the
// same workload in a plain local directory measured in the same run.
var smallFileTargets = map[string]float64{
	"cp small files": 8, "tar -x": 12, "ls -lR": 5, "read back": 5, "rm -rf": 3,
}

// TestFUSESmallFiles times the small-file workloads through the mount and in
// a local directory (same disk, same run) and fails when a ratio exceeds its
// target: cp -r of N 4 KiB files (MOGFS_SMALL_FILES, default 1000; the
// 10,000 of the benchmark figures is an env var away), and tar -x, ls -lR,
// reading back and rm -rf of part of the Go source tree. Every close(2) of
// the mount is durable (stored and committed), so the local side is not
// an exact equal: it is the reference the targets are written against.
func TestFUSESmallFiles(t *testing.T) {
	testenv.RequireFUSE(t)
	if testing.Short() {
		t.Skip("slow: times workloads of thousands of files")
	}
	// The targets hold only where fsync is cheap next to a round trip
	// (every close here waits for a storage node's fdatasync and the
	// tracker's commits; a plain directory waits for neither), so they are
	// enforced on request; the rest of the test always checks the
	// content, the cleanup and connection reuse.
	strict := os.Getenv("MOGFS_PERF_TARGETS") == "1"
	nfiles := 1000
	if s := os.Getenv("MOGFS_SMALL_FILES"); s != "" {
		fmt.Sscan(s, &nfiles)
	}
	c := StartCluster(t, ClusterOpts{})
	maddr := fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(t, "127.0.0.1"))
	m := mountMogfs(t, c, "attr_timeout=1", "entry_timeout=1", "metrics_listen="+maddr)
	local := t.TempDir()
	src := filepath.Join(t.TempDir(), "small")
	os.Mkdir(src, 0o755)
	pat := make([]byte, 4096+nfiles)
	io.ReadFull(newPattern(), pat)
	for i := range nfiles {
		if err := os.WriteFile(filepath.Join(src, fmt.Sprintf("f%05d", i)), pat[i:i+4096], 0o644); err != nil {
			t.Fatal(err)
		}
	}
	tarball := filepath.Join(t.TempDir(), "tree.tar")
	goroot := strings.TrimSpace(run(t, "go", "env", "GOROOT"))
	run(t, "tar", "-C", filepath.Join(goroot, "src"), "-cf", tarball, "go", "net", "encoding")

	timed := func(name string, f func(dir string)) {
		t.Helper()
		before := metricstest.Scrape(t, "http://"+maddr+"/metrics")
		start := time.Now()
		f(m.Dir)
		dm := time.Since(start)
		logOps(t, before, metricstest.Scrape(t, "http://"+maddr+"/metrics"))
		start = time.Now()
		f(local)
		dl := time.Since(start)
		ratio := dm.Seconds() / dl.Seconds()
		t.Logf("%-15s mount %8.3fs  local %8.3fs  ratio %6.1f (target <= %v)", name, dm.Seconds(), dl.Seconds(), ratio, smallFileTargets[name])
		if strict && ratio > smallFileTargets[name] {
			t.Errorf("%s: mount %.1f× slower than local, target %v×", name, ratio, smallFileTargets[name])
		}
	}
	timed("cp small files", func(dir string) { run(t, "cp", "-r", src, filepath.Join(dir, "small")) })
	timed("tar -x", func(dir string) {
		os.Mkdir(filepath.Join(dir, "tree"), 0o755)
		run(t, "tar", "-C", filepath.Join(dir, "tree"), "-xf", tarball)
	})
	timed("ls -lR", func(dir string) { run(t, "ls", "-lR", filepath.Join(dir, "tree")) })
	timed("read back", func(dir string) {
		run(t, "sh", "-c", "find '"+filepath.Join(dir, "tree")+"' -type f -exec cat {} + >/dev/null")
	})
	run(t, "diff", "-r", filepath.Join(m.Dir, "tree"), filepath.Join(local, "tree"))
	run(t, "diff", "-r", src, filepath.Join(m.Dir, "small"))
	timed("rm -rf", func(dir string) { run(t, "rm", "-rf", filepath.Join(dir, "tree"), filepath.Join(dir, "small")) })
	if keys, _, err := c.Client(t).ListKeys(t.Context(), c.Opts.Domain, "", "", 10); err != nil || len(keys) != 0 {
		t.Errorf("keys left after rm -rf: %v %v", keys, err)
	}
	// Thousands of requests, a handful of connections: pooling and
	// keep-alive work under the mount's access pattern.
	f := metricstest.Scrape(t, "http://"+maddr+"/metrics")
	td, _ := f.Value("mogfs_mount_tracker_dials_total")
	hd, _ := f.Value("mogfs_mount_storage_dials_total")
	t.Logf("connections opened: %v to trackers, %v to storage nodes", td, hd)
	if td > 64 || hd > 64 || hd < 1 {
		t.Errorf("dials: %v tracker, %v storage; want 1..64 each (connections reused)", td, hd)
	}
}

// logOps logs how many FUSE operations of each kind ran between two scrapes
// and their mean time, which says where a workload's time went.
func logOps(t testing.TB, before, after metricstest.Families) {
	t.Helper()
	mf := after["mogfs_mount_op_duration_seconds"]
	if mf == nil {
		return
	}
	var b strings.Builder
	for _, m := range mf.GetMetric() {
		op := m.GetLabel()[0].GetValue()
		n := float64(m.GetHistogram().GetSampleCount())
		sum := m.GetHistogram().GetSampleSum()
		if bm := before["mogfs_mount_op_duration_seconds"]; bm != nil {
			for _, o := range bm.GetMetric() {
				if o.GetLabel()[0].GetValue() == op {
					n -= float64(o.GetHistogram().GetSampleCount())
					sum -= o.GetHistogram().GetSampleSum()
				}
			}
		}
		if n > 0 {
			fmt.Fprintf(&b, " %s=%.0f×%.2fms", op, n, sum/n*1000)
		}
	}
	t.Logf("ops:%s", b.String())
}

// TestFUSENodeDiesMidUpload kills (SIGKILL) the storage node receiving the
// streamed PUT of a large file while it is being written: the writes go
// on, close(2) stores the staged copy on another destination, and returns
// 0 only with the whole file stored.
func TestFUSENodeDiesMidUpload(t *testing.T) {
	testenv.RequireFUSE(t)
	c := StartCluster(t, ClusterOpts{})
	m := mountMogfs(t, c)
	size := int64(256 << 20)
	if testing.Short() {
		size = 64 << 20
	}
	p := filepath.Join(m.Dir, "big")
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	wsum := sha256.New()
	// Watch the nodes' docroots for the fid file growing, and kill its node:
	// the PUT streams while the file is written, so this happens during the
	// writes, which go on; close stores the staged copy elsewhere.
	killed := make(chan int, 1)
	stop := make(chan struct{})
	go func() {
		defer close(killed)
		for {
			select {
			case <-stop:
				return
			default:
			}
			for i, n := range c.Nodes {
				grow := false
				filepath.WalkDir(n.Docroot, func(path string, d os.DirEntry, err error) error {
					if err == nil && strings.HasSuffix(path, ".fid") {
						if info, err := d.Info(); err == nil && info.Size() > 1<<20 && info.Size() < size {
							grow = true
						}
					}
					return nil
				})
				if grow {
					c.StopNode(t, i)
					killed <- i
					return
				}
			}
			time.Sleep(5 * time.Millisecond)
		}
	}()
	if _, err := io.Copy(io.MultiWriter(f, wsum), io.LimitReader(newPattern(), size)); err != nil {
		t.Fatal(err)
	}
	cerr := f.Close()
	close(stop)
	victim, ok := <-killed
	if !ok {
		t.Fatal("the upload finished before any node could be killed mid-PUT")
	}
	t.Logf("killed node %d mid-upload; close = %v", victim+1, cerr)
	if cerr != nil {
		t.Fatalf("close after a node died mid-upload = %v, want 0 (retry on another destination)", cerr)
	}
	fi, err := c.Client(t).FileInfo(t.Context(), c.Opts.Domain, "big")
	if err != nil || fi.Length != size {
		t.Fatalf("stored file: %+v, %v; want length %d", fi, err, size)
	}
	rf, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer rf.Close()
	rsum := sha256.New()
	if n, err := io.Copy(rsum, rf); err != nil || n != size || !bytes.Equal(rsum.Sum(nil), wsum.Sum(nil)) {
		t.Fatalf("read back %d bytes, %v; checksum equal %v", n, err, bytes.Equal(rsum.Sum(nil), wsum.Sum(nil)))
	}
}

// TestFUSETrackerGone stops the only tracker while a written file is open:
// close(2) must fail (EIO), never return 0 for a file that was not stored.
func TestFUSETrackerGone(t *testing.T) {
	testenv.RequireFUSE(t)
	c := StartCluster(t, ClusterOpts{})
	m := mountMogfs(t, c)
	f, err := os.Create(filepath.Join(m.Dir, "lost"))
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString("never stored")
	time.Sleep(200 * time.Millisecond) // the early create_open is answered
	c.StopTracker(t, 0)
	start := time.Now()
	err = f.Close()
	t.Logf("close without a tracker = %v after %v", err, time.Since(start))
	if !errors.Is(err, syscall.EIO) {
		t.Fatalf("close without a tracker = %v, want EIO", err)
	}
	if time.Since(start) > time.Minute {
		t.Errorf("close took %v without a tracker, want bounded", time.Since(start))
	}
}

// TestFUSEDiskFull puts every device on a 1 MiB tmpfs: each storage node
// answers 507 Insufficient Storage (or the tracker finds no device), and
// close(2) of a 4 MiB file reports ENOSPC.
func TestFUSEDiskFull(t *testing.T) {
	testenv.RequireFUSE(t)
	c := StartCluster(t, ClusterOpts{})
	for _, n := range c.Nodes {
		for _, id := range n.DevIDs {
			dev := filepath.Join(n.Docroot, fmt.Sprintf("dev%d", id))
			run(t, "mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", dev)
			t.Cleanup(func() { exec.Command("umount", "-l", dev).Run() })
		}
	}
	m := mountMogfs(t, c)
	f, err := os.Create(filepath.Join(m.Dir, "full"))
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(f, io.LimitReader(newPattern(), 4<<20))
	if err := f.Close(); !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("close with every device full = %v, want ENOSPC", err)
	}
}
