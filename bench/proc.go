package bench

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
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

var ipMu sync.Mutex // guards usedIPs
var usedIPs = map[string]bool{}

// loopbackIP returns an address in 127.0.0.0/8 on which the ports are free
// right now. Storage nodes must use the default ports 7500/7501, and tests
// of other packages run at the same time, so the address is random within
// 127.60-99.x.x (testenv hands out 127.100-250, scripts/up uses 127.0.1.x)
// and probed before use.
func loopbackIP(ports ...int) (string, error) {
	ipMu.Lock()
	defer ipMu.Unlock()
	for range 200 {
		ip := fmt.Sprintf("127.%d.%d.%d", 60+rand.IntN(40), rand.IntN(256), 1+rand.IntN(254))
		if usedIPs[ip] {
			continue
		}
		ok := true
		for _, p := range ports {
			l, err := net.Listen("tcp", net.JoinHostPort(ip, strconv.Itoa(p)))
			if err != nil {
				ok = false
				break
			}
			l.Close()
		}
		if ok {
			usedIPs[ip] = true
			return ip, nil
		}
	}
	return "", fmt.Errorf("bench: no free loopback address for ports %v", ports)
}

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
