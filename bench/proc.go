package bench

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"mogfs/internal/loopback"
)

// proc is one daemon we started. We only ever signal it by its own PID.
type proc struct {
	name string
	cmd  *exec.Cmd
	log  string // path of its combined stdout/stderr
	done chan struct{}
}

// startProc starts bin with args, logging to dir/name.log. The child gets
// SIGKILL if mogbench dies, so an interrupted run leaves no daemons behind.
func startProc(dir, name, bin string, args ...string) (*proc, error) {
	logPath := filepath.Join(dir, name+".log")
	f, err := os.OpenFile(logPath, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("bench: %s log: %w", name, err)
	}
	defer f.Close()
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = f, f
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("bench: start %s: %w", name, err)
	}
	p := &proc{name: name, cmd: cmd, log: logPath, done: make(chan struct{})}
	go func() { cmd.Wait(); close(p.done) }()
	return p, nil
}

// exited reports whether the process has ended.
func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// stop sends sig, waits up to d for the exit, then SIGKILLs.
func (p *proc) stop(sig syscall.Signal, d time.Duration) {
	if p == nil || p.exited() {
		return
	}
	p.cmd.Process.Signal(sig)
	select {
	case <-p.done:
	case <-time.After(d):
		p.cmd.Process.Kill()
		<-p.done
	}
}

// logTail returns the last lines of the process's log, for error messages.
func (p *proc) logTail() string {
	b, _ := os.ReadFile(p.log)
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > 15 {
		lines = lines[len(lines)-15:]
	}
	return p.name + " log:\n" + strings.Join(lines, "\n")
}

// memKB reads a "VmXxx:  123 kB" field of /proc/PID/status; 0 when the
// process is gone.
func memKB(pid int, field string) float64 {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0
	}
	for l := range bytes.SplitSeq(b, []byte("\n")) {
		if k, v, ok := bytes.Cut(l, []byte(":")); ok && string(k) == field {
			f := strings.Fields(string(v))
			if len(f) > 0 {
				n, _ := strconv.ParseFloat(f[0], 64)
				return n
			}
		}
	}
	return 0
}

// peakMiB is the process's peak resident set (VmHWM) in MiB.
func (p *proc) peakMiB() float64 {
	if p == nil || p.exited() {
		return 0
	}
	return memKB(p.cmd.Process.Pid, "VmHWM") / 1024
}

// loopbackIP returns an address for a storage node with the default ports:
// 127.60-99.x.x, a range no test package uses (testenv takes 127.100-249,
// scripts/up 127.0.1.x), so a benchmark can run beside the tests.
func loopbackIP(ports ...int) (string, error) { return loopback.Pick(60, 40, ports...) }

// freeAddr returns "127.0.0.1:port" for a port that was free a moment ago.
func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("bench: %w", err)
	}
	defer l.Close()
	return l.Addr().String(), nil
}

// waitListening polls until addr accepts connections, p exits, or d passes.
func waitListening(p *proc, addr string, d time.Duration) error {
	deadline := time.Now().Add(d)
	for {
		c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err == nil {
			c.Close()
			return nil
		}
		if p.exited() {
			return fmt.Errorf("%w: %s exited before listening on %s\n%s", ErrNotReady, p.name, addr, p.logTail())
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%w: %s not listening on %s after %v\n%s", ErrNotReady, p.name, addr, d, p.logTail())
		}
		time.Sleep(20 * time.Millisecond)
	}
}
