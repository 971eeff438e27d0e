package stord_test

import (
	"crypto/sha256"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestPathTraversal(t *testing.T) {
	n := startNode(t)
	outside := t.TempDir()
	os.WriteFile(filepath.Join(outside, "secret"), []byte("secret"), 0o644)
	os.WriteFile(filepath.Join(n.docroot, "topsecret"), []byte("secret"), 0o644)
	os.WriteFile(n.path("/dev2/victim"), []byte("victim"), 0o644)
	// Symlinks inside a device that point out of it.
	if err := os.Symlink("/etc", n.path("/dev1/etc")); err != nil {
		t.Fatal(err)
	}
	os.Symlink(outside, n.path("/dev1/out"))
	os.Symlink(filepath.Join(outside, "secret"), n.path("/dev1/secretlink"))
	os.Symlink("../dev2", n.path("/dev1/sibling"))

	refused := func(code int) bool { return code == 400 || code == 403 || code == 404 }
	for _, method := range []string{"GET", "HEAD", "PUT", "DELETE", "MKCOL"} {
		for _, target := range []string{
			"/dev1/../dev2/victim",
			"/dev1/%2e%2e/dev2/victim",
			"/dev1/%2E%2E/topsecret",
			"/dev1/%2F..%2Ftopsecret",
			"/dev1/..%2Ftopsecret",
			"/../etc/passwd",
			"/dev1/etc/passwd",
			"/dev1/etc/",
			"/dev1/out/secret",
			"/dev1/out/new",
			"/dev1/secretlink",
			"/dev1/sibling/victim",
			"/dev1/x%00y",
			"/dev1/%00",
			"/etc/passwd",
			"/topsecret",
			"/dev1/a%20b",
			"/dev3/x",
			"//../etc/passwd",
			"http://evil/../etc/passwd",
		} {
			req := method + " " + target + " HTTP/1.0\r\nContent-length: 4\r\n\r\nevil"
			resp, body := n.raw(t, req)
			if !refused(resp.StatusCode) || strings.Contains(body, "secret") || strings.Contains(body, "root:") {
				t.Errorf("%s %s = %d %q, want refusal", method, target, resp.StatusCode, body)
			}
		}
	}
	// Nothing outside the devices changed.
	if b, _ := os.ReadFile(filepath.Join(outside, "secret")); string(b) != "secret" {
		t.Errorf("outside file changed: %q", b)
	}
	if ents, _ := os.ReadDir(outside); len(ents) != 1 {
		t.Errorf("outside dir gained files: %v", ents)
	}
	if b, _ := os.ReadFile(n.path("/dev2/victim")); string(b) != "victim" {
		t.Errorf("dev2/victim changed: %q", b)
	}
	if _, err := os.Stat(n.path("/dev3")); err == nil {
		t.Errorf("PUT created missing device dir dev3")
	}
	// Symlinks that stay inside the device work.
	os.WriteFile(n.path("/dev1/real"), []byte("ok"), 0o644)
	os.Symlink("real", n.path("/dev1/inside"))
	if code, _, body := n.do(t, "GET", "/dev1/inside", nil); code != 200 || body != "ok" {
		t.Errorf("GET in-device symlink = %d %q", code, body)
	}
}

// TestInterruptedUpload sends half of the declared body and hangs up:
// nothing may appear at the final path, and the temp file must go.
func TestInterruptedUpload(t *testing.T) {
	n := startNode(t)
	const p = "/dev1/0/000/000/0000000777.fid"
	os.MkdirAll(filepath.Dir(n.path(p)), 0o755)
	for _, prior := range []bool{false, true} {
		if prior {
			os.WriteFile(n.path(p), []byte("old"), 0o644)
		}
		c, err := net.Dial("tcp", n.http)
		if err != nil {
			t.Fatal(err)
		}
		io.WriteString(c, "PUT "+p+" HTTP/1.0\r\nContent-length: 1000000\r\n\r\n")
		c.Write(make([]byte, 500000))
		time.Sleep(100 * time.Millisecond) // let the server start writing
		c.Close()
		// A new path is written in place, so "cleaned up" is also "the
		// final path is gone" then.
		busy := func() bool {
			_, err := os.Stat(n.path(p))
			return len(tempFiles(t, n.docroot)) > 0 || !prior && err == nil
		}
		deadline := time.Now().Add(5 * time.Second)
		for busy() && time.Now().Before(deadline) {
			time.Sleep(20 * time.Millisecond)
		}
		if tmp := tempFiles(t, n.docroot); len(tmp) > 0 {
			t.Fatalf("temp files left after disconnect: %v", tmp)
		}
		b, err := os.ReadFile(n.path(p))
		switch {
		case !prior && err == nil:
			t.Errorf("partial upload left a %d-byte file", len(b))
		case prior && string(b) != "old":
			t.Errorf("partial upload replaced the old file: %d bytes, %v", len(b), err)
		}
	}
}

// TestLargeUpload streams 512 MiB (64 MiB with -short) through the node
// and checks the node's peak RSS stays small: uploads must not buffer.
func TestLargeUpload(t *testing.T) {
	n := startNode(t)
	size := int64(512 << 20)
	if testing.Short() {
		size = 64 << 20
	}
	const p = "/dev2/big/0000000001.fid"
	src := &patternReader{left: size}
	h := sha256.New()
	req, _ := http.NewRequestWithContext(t.Context(), "PUT", n.base+p, io.TeeReader(src, h))
	req.ContentLength = size
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("PUT %d bytes = %d", size, resp.StatusCode)
	}
	want := h.Sum(nil)

	resp, err = http.Get(n.base + p)
	if err != nil {
		t.Fatal(err)
	}
	h.Reset()
	got, err := io.Copy(h, resp.Body)
	resp.Body.Close()
	if err != nil || got != size || string(h.Sum(nil)) != string(want) || resp.ContentLength != size {
		t.Fatalf("GET back %d bytes (Content-Length %d), %v, checksum match %v", got, resp.ContentLength, err, string(h.Sum(nil)) == string(want))
	}
	if kb := vmHWM(t, n.cmd.Process.Pid); kb > 64<<10 {
		t.Errorf("stord peak RSS %d KiB after a %d MiB upload, want < 64 MiB", kb, size>>20)
	} else {
		t.Logf("stord peak RSS %d KiB", kb)
	}
}

// patternReader yields left bytes of a non-repeating-per-block pattern
// without holding them in memory.
type patternReader struct {
	left int64
	i    uint64
}

func (r *patternReader) Read(b []byte) (int, error) {
	if r.left <= 0 {
		return 0, io.EOF
	}
	if int64(len(b)) > r.left {
		b = b[:r.left]
	}
	for j := range b {
		r.i++
		b[j] = byte(r.i ^ r.i>>9)
	}
	r.left -= int64(len(b))
	return len(b), nil
}
