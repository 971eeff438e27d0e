package stord_test

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"mogfs/internal/testenv"
)

// binDir holds the stord binary TestMain builds. Only ./cmd/stord is built
// (not testenv.Binaries' ./cmd/...), so other daemons' state cannot break
// these tests.
var binDir string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "stord-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binDir = dir
	out, err := exec.Command("go", "build", "-o", filepath.Join(dir, "stord"), "mogfs/cmd/stord").CombinedOutput()
	if err != nil {
		fmt.Fprintf(os.Stderr, "go build ./cmd/stord: %v\n%s", err, out)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// node is a running stord process on its own loopback address.
type node struct {
	ip      string
	base    string // http://ip:7500
	http    string // ip:7500
	mgmt    string // ip:7501
	docroot string
	cmd     *exec.Cmd
	exited  chan error
}

// startNode runs the stord binary with a fresh docroot holding dev1 and
// dev2 and extra flags, and stops it by PID when the test ends.
func startNode(t *testing.T, extra ...string) *node {
	t.Helper()
	ip := testenv.LoopbackIP(t, 7500, 7501)
	n := &node{ip: ip, http: ip + ":7500", mgmt: ip + ":7501", docroot: t.TempDir(), exited: make(chan error, 1)}
	n.base = "http://" + n.http
	for _, d := range []string{"dev1", "dev2"} {
		if err := os.Mkdir(filepath.Join(n.docroot, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	args := append([]string{"--httplisten", n.http, "--mgmtlisten", n.mgmt, "--docroot", n.docroot, "--log_level", "debug"}, extra...)
	n.cmd = exec.Command(filepath.Join(binDir, "stord"), args...)
	n.cmd.Stderr = t.Output()
	if err := n.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { n.exited <- n.cmd.Wait() }()
	t.Cleanup(func() {
		n.cmd.Process.Kill()
		<-n.exited
	})
	testenv.WaitListening(t, n.http, 10*time.Second)
	testenv.WaitListening(t, n.mgmt, 10*time.Second)
	return n
}

// path returns the on-disk path of a URL path.
func (n *node) path(urlPath string) string {
	return filepath.Join(n.docroot, filepath.FromSlash(urlPath))
}

// do sends one request with the standard client and returns status,
// headers and body.
func (n *node) do(t *testing.T, method, urlPath string, body io.Reader, hdr ...string) (int, http.Header, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, n.base+urlPath, body)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, urlPath, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: read body: %v", method, urlPath, err)
	}
	return resp.StatusCode, resp.Header, string(b)
}

// raw sends a literal request on a new connection and reads one response,
// as the Perl client and the tracker's raw-socket code do.
func (n *node) raw(t *testing.T, request string) (*http.Response, string) {
	t.Helper()
	c, err := net.Dial("tcp", n.http)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(c, request); err != nil {
		t.Fatal(err)
	}
	return readResponse(t, bufio.NewReader(c), request)
}

func readResponse(t *testing.T, br *bufio.Reader, request string) (*http.Response, string) {
	t.Helper()
	method, _, _ := strings.Cut(request, " ")
	resp, err := http.ReadResponse(br, &http.Request{Method: method})
	if err != nil {
		t.Fatalf("response to %q: %v", request, err)
	}
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("response body to %q: %v", request, err)
	}
	resp.Body.Close()
	return resp, string(b)
}

// tempFiles lists leftover upload temp files anywhere under dir.
func tempFiles(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && strings.HasSuffix(p, ".tmp") {
			out = append(out, p)
		}
		return nil
	})
	return out
}

// vmHWM returns the peak resident set size of pid in KiB.
func vmHWM(t *testing.T, pid int) int {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for line := range strings.Lines(string(b)) {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			var kb int
			fmt.Sscanf(strings.TrimSpace(v), "%d kB", &kb)
			return kb
		}
	}
	t.Fatal("no VmHWM in /proc status")
	return 0
}

// sigterm stops the node and returns its exit error.
func (n *node) sigterm(t *testing.T) error {
	t.Helper()
	n.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-n.exited:
		n.exited <- err // for Cleanup
		return err
	case <-time.After(20 * time.Second):
		t.Fatal("stord did not exit 20s after SIGTERM")
		return nil
	}
}
