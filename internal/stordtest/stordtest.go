// Package stordtest runs real storage nodes for other packages' tests: the
// stord binary, built once per test process, on its own loopback address
// with the default ports 7500/7501, as MogileFS trackers expect.
package stordtest

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"mogfs/internal/testenv"
)

var (
	buildOnce sync.Once
	binDir    string
	binErr    error
)

// Binary builds mogfs/cmd/stord once and returns its path. Call Cleanup from
// TestMain to remove it.
func Binary(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		binDir, binErr = os.MkdirTemp("", "stordtest-")
		if binErr != nil {
			return
		}
		out, err := exec.Command("go", "build", "-o", filepath.Join(binDir, "stord"), "mogfs/cmd/stord").CombinedOutput()
		if err != nil {
			binErr = fmt.Errorf("stordtest: build stord: %v\n%s", err, out)
		}
	})
	if binErr != nil {
		t.Fatal(binErr)
	}
	return filepath.Join(binDir, "stord")
}

// Cleanup removes the binary Binary built.
func Cleanup() {
	if binDir != "" {
		os.RemoveAll(binDir)
	}
}

// Node is a running stord process.
type Node struct {
	IP      string // its own loopback address; ports are 7500 and 7501
	Docroot string

	t   testing.TB
	cmd *exec.Cmd
}

// Start runs a node with device directories devN for each devid under a
// fresh docroot; it is killed at the end of the test.
func Start(t testing.TB, devids ...int) *Node {
	t.Helper()
	n := &Node{t: t, IP: testenv.LoopbackIP(t, 7500, 7501), Docroot: t.TempDir()}
	for _, d := range devids {
		if err := os.Mkdir(filepath.Join(n.Docroot, fmt.Sprintf("dev%d", d)), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	n.Start()
	t.Cleanup(n.Stop)
	return n
}

// Start (re)starts the process on the same address and docroot.
func (n *Node) Start() {
	n.t.Helper()
	n.cmd = exec.Command(Binary(n.t),
		"--httplisten", net.JoinHostPort(n.IP, "7500"),
		"--mgmtlisten", net.JoinHostPort(n.IP, "7501"),
		"--docroot", n.Docroot, "--log_level", "warn")
	n.cmd.Stderr = n.t.Output()
	if err := n.cmd.Start(); err != nil {
		n.t.Fatal(err)
	}
	testenv.WaitListening(n.t, net.JoinHostPort(n.IP, "7500"), 10*time.Second)
	testenv.WaitListening(n.t, net.JoinHostPort(n.IP, "7501"), 10*time.Second)
}

// Stop kills the process (SIGKILL, by PID) and waits for it.
func (n *Node) Stop() {
	if n.cmd == nil || n.cmd.Process == nil {
		return
	}
	n.cmd.Process.Kill()
	n.cmd.Wait()
	n.cmd = nil
}

// File returns the bytes of a replica on this node's disk, by its URL path
// below the docroot (e.g. "/dev1/0/000/000/0000000001.fid").
func (n *Node) File(urlPath string) ([]byte, error) {
	return os.ReadFile(filepath.Join(n.Docroot, urlPath))
}
