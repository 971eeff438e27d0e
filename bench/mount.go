package bench

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// mountProc is one running `mogfs -f` process and its mount point.
type mountProc struct {
	dir  string
	proc *proc
}

// canMount says why this machine cannot run the mount section (nil when
// it can): it needs /dev/fuse, fusermount3 or fusermount, and root.
func canMount() error {
	if _, err := os.Stat("/dev/fuse"); err != nil {
		return fmt.Errorf("%w: no /dev/fuse", ErrSkipped)
	}
	if _, err := exec.LookPath("fusermount3"); err != nil {
		if _, err := exec.LookPath("fusermount"); err != nil {
			return fmt.Errorf("%w: no fusermount3 (apt-get install fuse3)", ErrSkipped)
		}
	}
	if os.Geteuid() != 0 {
		return fmt.Errorf("%w: the mount benchmarks run as root", ErrSkipped)
	}
	return nil
}

// mount runs mogfs in the foreground (so we own its PID) on dir and waits
// until the kernel lists the mount. The block cache holds a whole
// sequential file, so "cached" reads measure the cache, not the network.
// extra options come after these and win (cache_size=, say).
func (r *runner) mount(dir string, n int, extra ...string) (*mountProc, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("bench: %w", err)
	}
	opts := []string{"domain=" + benchDomain, "class=" + benchClass,
		fmt.Sprintf("cache_size=%d", r.sz.MountSeq+64<<20),
		"cache_dir=" + filepath.Join(r.cfg.Dir, "mogfs-cache")}
	opts = append(opts, extra...)
	p, err := startProc(r.cfg.Dir, fmt.Sprintf("mogfs%d", n), filepath.Join(r.cfg.Bin, "mogfs"),
		r.c.tracker, dir, "-f", "-o", strings.Join(opts, ","))
	if err != nil {
		return nil, err
	}
	m := &mountProc{dir: dir, proc: p}
	deadline := time.Now().Add(20 * time.Second)
	for !mounted(dir) {
		if p.exited() {
			return nil, fmt.Errorf("bench: mogfs exited before mounting\n%s", p.logTail())
		}
		if time.Now().After(deadline) {
			m.unmount(r)
			return nil, fmt.Errorf("bench: mogfs did not mount within 20s\n%s", p.logTail())
		}
		time.Sleep(20 * time.Millisecond)
	}
	if _, ok := r.memRef["mogfs"]; !ok {
		r.memRef["mogfs"] = p.peakMiB()
	}
	return m, nil
}

// unmount records the process's peak memory, unmounts, and waits for the
// process to exit; a hung mount is detached lazily and the process killed.
func (m *mountProc) unmount(r *runner) {
	if m == nil {
		return
	}
	r.memRef["mogfs_peak"] = max(r.memRef["mogfs_peak"], m.proc.peakMiB())
	if mounted(m.dir) {
		exec.Command("umount", m.dir).Run()
	}
	select {
	case <-m.proc.done:
	case <-time.After(15 * time.Second):
		exec.Command("fusermount3", "-u", "-z", m.dir).Run()
		m.proc.stop(syscall.SIGKILL, time.Second)
	}
}

// mounted reports whether dir is a mount point in /proc/self/mountinfo.
func mounted(dir string) bool {
	b, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return false
	}
	for l := range strings.SplitSeq(string(b), "\n") {
		if f := strings.Fields(l); len(f) > 4 && f[4] == dir {
			return true
		}
	}
	return false
}

// sh runs a command with stdout discarded; stderr goes into the error.
func sh(name string, args ...string) error {
	cmd := exec.Command(name, args...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		msg := strings.TrimSpace(stderr.String())
		if len(msg) > 300 {
			msg = msg[:300] + "..."
		}
		return fmt.Errorf("bench: %s %s: %w: %s", name, strings.Join(args, " "), err, msg)
	}
	return nil
}

// errNoTree fails the tar rows when no source tree was configured.
var errNoTree = errors.New("bench: no Go source tree (Config.GoSrc)")
