// Package testenv holds what tests need from the machine: FUSE, a MariaDB
// server, loopback addresses for storage nodes, and the built binaries. On a
// developer's laptop a missing facility skips the test; with CI=true it fails
// it, because CI must exercise everything.
package testenv

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"mogfs/internal/loopback"
)

// InCI reports whether the tests run under CI (CI=true), where nothing may skip.
func InCI() bool { return os.Getenv("CI") == "true" }

// Missing skips the test, or fails it under CI.
func Missing(t testing.TB, format string, args ...any) {
	t.Helper()
	msg := fmt.Sprintf(format, args...)
	if InCI() {
		t.Fatalf("required under CI=true: %s", msg)
	}
	t.Skip(msg)
}

// RequireFUSE skips (or fails under CI) unless /dev/fuse and fusermount exist
// and we are root.
func RequireFUSE(t testing.TB) {
	t.Helper()
	if _, err := os.Stat("/dev/fuse"); err != nil {
		Missing(t, "no /dev/fuse: %v", err)
	}
	if _, err := exec.LookPath("fusermount3"); err != nil {
		if _, err := exec.LookPath("fusermount"); err != nil {
			Missing(t, "no fusermount3 or fusermount on PATH (apt-get install fuse3)")
		}
	}
	if os.Geteuid() != 0 {
		Missing(t, "FUSE tests run as root")
	}
}

// MariaDBDSN returns the MogileFS-style DSN, user and password of the test
// MariaDB server that scripts/test starts (MOGFS_TEST_MYSQL_DSN,
// MOGFS_TEST_MYSQL_USER, MOGFS_TEST_MYSQL_PASS), skipping (failing under CI)
// when none is configured. Tests that need a private database create one with
// a unique name through this server.
func MariaDBDSN(t testing.TB) (dsn, user, pass string) {
	t.Helper()
	dsn = os.Getenv("MOGFS_TEST_MYSQL_DSN")
	if dsn == "" {
		Missing(t, "MOGFS_TEST_MYSQL_DSN unset: run through scripts/test, which starts MariaDB")
	}
	return dsn, os.Getenv("MOGFS_TEST_MYSQL_USER"), os.Getenv("MOGFS_TEST_MYSQL_PASS")
}

// LoopbackIP returns an address in 127.0.0.0/8 on which the given ports are
// free right now, for a test storage node that must use the default ports
// (7500, 7501) as MogileFS expects. Test packages take 127.100-249.x.x;
// bench takes 127.60-99 and scripts/up uses 127.0.1.x.
func LoopbackIP(t testing.TB, ports ...int) string {
	t.Helper()
	ip, err := loopback.Pick(100, 150, ports...)
	if err != nil {
		t.Fatalf("testenv: %v", err)
	}
	return ip
}

// FreePort returns a TCP port that was free on ip a moment ago.
func FreePort(t testing.TB, ip string) int {
	t.Helper()
	l, err := net.Listen("tcp", net.JoinHostPort(ip, "0"))
	if err != nil {
		t.Fatalf("testenv: %v", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// WaitListening polls until addr accepts TCP connections or d passes.
func WaitListening(t testing.TB, addr string, d time.Duration) {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err == nil {
			c.Close()
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("testenv: %s not listening after %v: %v", addr, d, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

var buildOnce sync.Once
var buildDir string
var buildErr error

// Binaries builds ./cmd/... of this module once per test process into a
// temporary directory and returns it. The caller's TestMain should remove it
// with CleanupBinaries.
func Binaries(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		root, err := moduleRoot()
		if err != nil {
			buildErr = err
			return
		}
		buildDir, err = os.MkdirTemp("", "mogfs-bin-")
		if err != nil {
			buildErr = err
			return
		}
		cmd := exec.Command("go", "build", "-o", buildDir+"/", "./cmd/...")
		cmd.Dir = root
		out, err := cmd.CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build ./cmd/...: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return buildDir
}

// CleanupBinaries removes what Binaries built; call it from TestMain.
func CleanupBinaries() {
	if buildDir != "" {
		os.RemoveAll(buildDir)
	}
}

func moduleRoot() (string, error) {
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		return "", fmt.Errorf("testenv: no caller info")
	}
	dir := filepath.Dir(file)
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir || strings.HasSuffix(parent, string(filepath.Separator)) && parent == "/" {
			return "", fmt.Errorf("testenv: go.mod not found above %s", file)
		}
		dir = parent
	}
}
