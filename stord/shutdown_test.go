package stord_test

import (
	"bufio"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestConfigFileAndPIDFile starts stord from a mogstored.conf-style file
// and checks the pidfile lives exactly as long as the process.
func TestConfigFileAndPIDFile(t *testing.T) {
	dir := t.TempDir()
	pidfile := filepath.Join(dir, "stord.pid")
	conf := filepath.Join(dir, "mogstored.conf")
	os.WriteFile(conf, []byte("# mogstored.conf\npidfile = "+pidfile+"\nmaxconns = 50\ndaemonize = 0\nserver = perlbal\n"), 0o644)
	n := startNode(t, "--config", conf)
	b, err := os.ReadFile(pidfile)
	if err != nil || strings.TrimSpace(string(b)) != strconv.Itoa(n.cmd.Process.Pid) {
		t.Fatalf("pidfile = %q, %v, want %d", b, err, n.cmd.Process.Pid)
	}
	if err := n.sigterm(t); err != nil {
		t.Fatalf("exit after SIGTERM: %v", err)
	}
	if _, err := os.Stat(pidfile); !os.IsNotExist(err) {
		t.Errorf("pidfile still there after exit: %v", err)
	}
}

// TestSIGTERMFinishesUpload sends SIGTERM in the middle of an upload: the
// upload still completes, then the process exits 0.
func TestSIGTERMFinishesUpload(t *testing.T) {
	n := startNode(t)
	c, err := net.Dial("tcp", n.http)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(15 * time.Second))
	io.WriteString(c, "PUT /dev1/inflight HTTP/1.0\r\nContent-length: 10\r\n\r\nhello")
	time.Sleep(200 * time.Millisecond)
	done := make(chan error, 1)
	go func() { done <- n.sigterm(t) }()
	time.Sleep(300 * time.Millisecond)
	// New connections are refused while the upload drains.
	if c2, err := net.DialTimeout("tcp", n.http, time.Second); err == nil {
		c2.Close()
		t.Errorf("HTTP port still accepting after SIGTERM")
	}
	io.WriteString(c, "world")
	resp, body := readResponse(t, bufio.NewReader(c), "PUT")
	if resp.StatusCode != 200 {
		t.Errorf("in-flight PUT = %d %q, want 200", resp.StatusCode, body)
	}
	if err := <-done; err != nil {
		t.Errorf("exit after SIGTERM: %v", err)
	}
	if b, _ := os.ReadFile(n.path("/dev1/inflight")); string(b) != "helloworld" {
		t.Errorf("file = %q, want helloworld", b)
	}
	if tmp := tempFiles(t, n.docroot); len(tmp) != 0 {
		t.Errorf("temp files left: %v", tmp)
	}
}
