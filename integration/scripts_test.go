package integration

import (
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"mogfs/internal/testenv"
)

// TestScriptsUpDown runs scripts/up and scripts/down as a newcomer would:
// a cluster on the fixed addresses of the README (127.0.0.1:7001,
// 127.0.1.1-3), a mount, `cp -r` into it, then down leaves nothing running
// or mounted. State goes to a temporary MOGFS_VAR, not the checkout's var/.
func TestScriptsUpDown(t *testing.T) {
	testenv.RequireFUSE(t)
	if c, err := net.DialTimeout("tcp", "127.0.0.1:7001", 200*time.Millisecond); err == nil {
		c.Close()
		testenv.Missing(t, "127.0.0.1:7001 is in use (a scripts/up cluster is running?)")
	}
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	state := t.TempDir()
	mnt := filepath.Join(t.TempDir(), "mnt")
	env := append(os.Environ(), "MOGFS_VAR="+state)
	script := func(name string) *exec.Cmd {
		cmd := exec.Command("bash", filepath.Join(root, "scripts", name), mnt)
		cmd.Dir, cmd.Env = root, env
		return cmd
	}
	run := func(name string) string {
		t.Helper()
		out, err := script(name).CombinedOutput()
		if err != nil {
			t.Fatalf("scripts/%s: %v\n%s", name, err, out)
		}
		return string(out)
	}
	// Even when the test fails half way: stop what up started.
	t.Cleanup(func() { script("down").Run() })

	if out := run("up"); !strings.Contains(out, "mogfs is up") {
		t.Fatalf("scripts/up said:\n%s", out)
	}
	run("up") // twice is harmless

	src := "/usr/share/doc/bash"
	if _, err := os.Stat(src); err != nil {
		src = filepath.Join(root, "protocol")
	}
	if out, err := exec.Command("cp", "-r", src, mnt+"/").CombinedOutput(); err != nil {
		t.Fatalf("cp -r %s: %v\n%s", src, err, out)
	}
	if out, err := exec.Command("diff", "-r", src, filepath.Join(mnt, filepath.Base(src))).CombinedOutput(); err != nil {
		t.Fatalf("diff -r: %v\n%s", err, out)
	}

	pids := map[string]int{}
	for _, name := range []string{"trackerd", "stord1", "stord2", "stord3", "mogfs"} {
		b, err := os.ReadFile(filepath.Join(state, "run", name+".pid"))
		if err != nil {
			t.Fatalf("pid file of %s: %v", name, err)
		}
		pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
		if err != nil {
			t.Fatalf("pid file of %s: %q", name, b)
		}
		pids[name] = pid
	}
	run("down")
	for name, pid := range pids {
		if err := syscall.Kill(pid, 0); err == nil {
			t.Errorf("%s (pid %d) still running after scripts/down", name, pid)
		}
	}
	if err := exec.Command("mountpoint", "-q", mnt).Run(); err == nil {
		t.Errorf("%s still mounted after scripts/down", mnt)
	}
	// The data stays for the next up.
	if m, _ := filepath.Glob(filepath.Join(state, "node*", "dev*", "*", "*", "*", "*.fid")); len(m) == 0 {
		t.Errorf("no stored .fid files left in %s after down", state)
	}
}
