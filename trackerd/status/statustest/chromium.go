// Package statustest checks the tracker's status page in a real headless
// browser. It is shared by the status package's own tests and the
// live-cluster integration tests.
package statustest

import (
	"bytes"
	"context"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"mogfs/internal/testenv"
)

// browsers are the executable names of Chromium tried in order (Debian's
// package "chromium" installs /usr/bin/chromium).
var browsers = []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "chrome-headless-shell"}

// Chromium returns the path of a Chromium binary, skipping the test (failing
// it under CI=true) when there is none.
func Chromium(t testing.TB) string {
	t.Helper()
	for _, name := range browsers {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	testenv.Missing(t, "no Chromium on PATH (apt-get install chromium)")
	return ""
}

// DumpDOM loads url in headless Chromium and returns the DOM after the page
// loaded, as the browser serialises it: what a user's browser would build
// from the page, not the bytes the server sent.
func DumpDOM(t testing.TB, url string) string {
	t.Helper()
	bin := Chromium(t)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin,
		"--headless",
		"--no-sandbox", // tests run as root, where the sandbox refuses to start
		"--disable-gpu",
		"--disable-quic",
		"--no-first-run",
		"--disable-background-networking", // no update checks or other traffic leaving loopback
		"--disable-component-update",
		"--disable-sync",
		"--disable-dev-shm-usage", // containers have a tiny /dev/shm
		"--user-data-dir="+t.TempDir(),
		"--dump-dom", url)
	// Own process group: on timeout the browser's helper processes are
	// killed with it, by its id.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if err != nil || stdout.Len() == 0 {
		t.Fatalf("chromium --dump-dom %s: %v\nstderr:\n%s", url, err, tail(stderr.String(), 4000))
	}
	return stdout.String()
}

// CheckPageInChromium loads url in headless Chromium and fails the test for
// every string of wants missing from the resulting DOM (attribute values
// appear as the browser serialises them, e.g. style="width: 25.0%"). It
// returns the DOM for further checks.
func CheckPageInChromium(t testing.TB, url string, wants []string) string {
	t.Helper()
	dom := DumpDOM(t, url)
	var missing []string
	for _, w := range wants {
		if !strings.Contains(dom, w) {
			missing = append(missing, w)
		}
	}
	if len(missing) > 0 {
		t.Errorf("page %s in Chromium lacks %q\nDOM:\n%s", url, missing, dom)
	}
	return dom
}

func tail(s string, n int) string {
	if len(s) > n {
		return "..." + s[len(s)-n:]
	}
	return s
}
