package stord_test

import (
	"crypto/md5"
	"encoding/base64"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"mogfs/internal/testenv"
	"mogfs/nodeproto"
)

// usageOf GETs /devN/usage and parses it.
func (n *node) usageOf(t *testing.T, dev string) nodeproto.Usage {
	t.Helper()
	code, _, body := n.do(t, "GET", "/"+dev+"/usage", nil)
	if code != 200 {
		t.Fatalf("GET /%s/usage = %d %q", dev, code, body)
	}
	u, err := nodeproto.ParseUsage([]byte(body))
	if err != nil {
		t.Fatalf("GET /%s/usage: %v in %q", dev, err, body)
	}
	return u
}

// TestUsageIsLive: GET /devN/usage measures the device when asked, so it
// answers before the usage writer has run and whatever its file says; a
// device directory that is gone is 404.
func TestUsageIsLive(t *testing.T) {
	n := startNode(t)
	os.WriteFile(filepath.Join(n.docroot, "dev1", "usage"), []byte("used: 1\ntotal: 2\n"), 0o644)
	u := n.usageOf(t, "dev1")
	if u.Total < 1024 || u.Total != u.Used+u.Available || time.Since(time.Unix(u.Time, 0)) > time.Minute || u.ReadOnly {
		t.Errorf("GET /dev1/usage = %+v, want this file system's usage now", u)
	}
	if code, h, body := n.do(t, "HEAD", "/dev1/usage", nil); code != 200 || body != "" || h.Get("Content-Length") == "" {
		t.Errorf("HEAD /dev1/usage = %d %q %v", code, body, h)
	}
	if err := os.RemoveAll(filepath.Join(n.docroot, "dev2")); err != nil {
		t.Fatal(err)
	}
	if code, _, body := n.do(t, "GET", "/dev2/usage", nil); code != 404 || !strings.Contains(body, "Base directory does not exist") {
		t.Errorf("GET /dev2/usage without dev2 = %d %q, want 404", code, body)
	}
}

// TestDiskFaults puts dev1 on a 2 MiB tmpfs, fills it, then remounts it
// read-only. Either way a PUT answers 507 and leaves nothing (the file is
// new or replaces one through a temp file), the files already there read,
// and the usage shows the fault at once.
func TestDiskFaults(t *testing.T) {
	if os.Geteuid() != 0 {
		testenv.Missing(t, "mounting a tmpfs needs root")
	}
	n := startNode(t)
	dev := filepath.Join(n.docroot, "dev1")
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=2m", "mogfs-stord-test", dev).CombinedOutput(); err != nil {
		t.Fatalf("mount: %v: %s", err, out)
	}
	t.Cleanup(func() { exec.Command("umount", "-l", dev).Run() })

	const old, fresh = "/dev1/0/000/000/0000000001.fid", "/dev1/0/000/000/0000000002.fid"
	if code, _, _ := n.do(t, "PUT", old, strings.NewReader("kept")); code != 200 {
		t.Fatalf("PUT %s = %d", old, code)
	}
	body := strings.Repeat("x", 256<<10)
	sum := md5.Sum([]byte(body))
	md5hdr := base64.StdEncoding.EncodeToString(sum[:])
	check := func(fault string) {
		t.Helper()
		for _, tc := range []struct {
			path string
			hdr  []string
		}{
			{fresh, nil},                             // written in place
			{fresh, []string{"Content-MD5", md5hdr}}, // through a temp file
			{old, nil},                               // replaces a file: through a temp file
		} {
			if code, _, resp := n.do(t, "PUT", tc.path, strings.NewReader(body), tc.hdr...); code != 507 {
				t.Errorf("%s: PUT %s %v = %d %q, want 507", fault, tc.path, tc.hdr, code, resp)
			}
		}
		if _, err := os.Stat(n.path(fresh)); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s: failed PUT left %s: %v", fault, fresh, err)
		}
		if tmp := tempFiles(t, dev); len(tmp) > 0 {
			t.Errorf("%s: failed PUTs left %v", fault, tmp)
		}
		if code, _, got := n.do(t, "GET", old, nil); code != 200 || got != "kept" {
			t.Errorf("%s: GET %s = %d %q, want the old content", fault, old, code, got)
		}
	}

	f, err := os.Create(filepath.Join(dev, "filler"))
	if err != nil {
		t.Fatal(err)
	}
	for err == nil {
		_, err = f.Write(make([]byte, 64<<10))
	}
	f.Close()
	if !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("filling the tmpfs: %v, want ENOSPC", err)
	}
	check("full")
	if u := n.usageOf(t, "dev1"); u.Available > 64 || u.ReadOnly {
		t.Errorf("usage of the full device = %+v, want nothing available", u)
	}

	os.Remove(filepath.Join(dev, "filler"))
	if out, err := exec.Command("mount", "-o", "remount,ro", dev).CombinedOutput(); err != nil {
		t.Fatalf("remount ro: %v: %s", err, out)
	}
	check("read-only")
	if u := n.usageOf(t, "dev1"); !u.ReadOnly {
		t.Errorf("usage of the read-only device = %+v, want ReadOnly", u)
	}
	if out, err := exec.Command("mount", "-o", "remount,rw", dev).CombinedOutput(); err != nil {
		t.Fatalf("remount rw: %v: %s", err, out)
	}
	if u := n.usageOf(t, "dev1"); u.ReadOnly {
		t.Errorf("usage after remount rw = %+v, want not ReadOnly", u)
	}
	if code, _, _ := n.do(t, "PUT", fresh, strings.NewReader(body)); code != 200 {
		t.Errorf("PUT after the faults = %d, want 200", code)
	}
}
