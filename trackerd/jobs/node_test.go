package jobs_test

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"mogfs/internal/testenv"
	"mogfs/trackerd/jobs"
)

// stordBin is the storage node binary TestMain builds.
var stordBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "jobs-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	stordBin = filepath.Join(dir, "stord")
	if out, err := exec.Command("go", "build", "-o", stordBin, "mogfs/cmd/stord").CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "build stord: %v\n%s", err, out)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// node is a real stord process on its own loopback address with the default
// ports 7500/7501.
type node struct {
	t       *testing.T
	ip      string
	docroot string
	cmd     *exec.Cmd
}

func startNode(t *testing.T, devids ...int) *node {
	t.Helper()
	n := &node{t: t, ip: testenv.LoopbackIP(t, 7500, 7501), docroot: t.TempDir()}
	for _, d := range devids {
		if err := os.Mkdir(filepath.Join(n.docroot, fmt.Sprintf("dev%d", d)), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	n.start()
	t.Cleanup(n.stop)
	return n
}

func (n *node) start() {
	n.t.Helper()
	n.cmd = exec.Command(stordBin,
		"--httplisten", net.JoinHostPort(n.ip, "7500"),
		"--mgmtlisten", net.JoinHostPort(n.ip, "7501"),
		"--docroot", n.docroot, "--log_level", "warn")
	n.cmd.Stderr = n.t.Output()
	if err := n.cmd.Start(); err != nil {
		n.t.Fatal(err)
	}
	testenv.WaitListening(n.t, net.JoinHostPort(n.ip, "7500"), 10*time.Second)
	testenv.WaitListening(n.t, net.JoinHostPort(n.ip, "7501"), 10*time.Second)
}

func (n *node) stop() {
	if n.cmd == nil || n.cmd.Process == nil {
		return
	}
	n.cmd.Process.Kill()
	n.cmd.Wait()
	n.cmd = nil
}

// file returns the bytes of fid's replica on devid as stored on this node's
// disk (nil, error when absent).
func (n *node) file(devid int, fid int64) ([]byte, error) {
	return os.ReadFile(filepath.Join(n.docroot, jobs.FIDPath(devid, fid)))
}
