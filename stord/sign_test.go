package stord_test

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"mogfs/internal/config"
	"mogfs/nodeproto"
	"mogfs/stord"
)

const testSecret = "stord-test-secret-0123"

// sig returns "?sig=..." letting perm be done to path for a minute (ttl
// negative: expired a minute ago).
func sig(perm nodeproto.Perm, path string, ttl time.Duration) string {
	return "?" + nodeproto.SigParam + "=" + nodeproto.Sign([]byte(testSecret), perm, path, time.Now().Add(ttl))
}

// startSignedNode runs stord with the secret read from a file.
func startSignedNode(t *testing.T, extra ...string) *node {
	t.Helper()
	file := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(file, []byte(testSecret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return startNode(t, append([]string{"--storage_secret_file", file}, extra...)...)
}

// TestSignedWrites: with a secret, every request that changes files needs
// a write signature of exactly its path; reads need none.
func TestSignedWrites(t *testing.T) {
	n := startSignedNode(t)
	const p = "/dev1/0/000/000/0000000042.fid"
	w, r := sig(nodeproto.PermWrite, p, time.Minute), sig(nodeproto.PermRead, p, time.Minute)
	tampered := w[:len(w)-2] + map[bool]string{true: "AA", false: "QA"}[!strings.HasSuffix(w, "AA")]
	steps := []struct {
		name, method, url, body string
		hdr                     []string
		code                    int
		text                    string // in the body of a refusal
	}{
		{"unsigned PUT", "PUT", p, "x", nil, 403, "not signed"},
		{"read-signed PUT", "PUT", p + r, "x", nil, 403, "reading only"},
		{"expired PUT", "PUT", p + sig(nodeproto.PermWrite, p, -time.Minute), "x", nil, 403, "expired"},
		{"tampered PUT", "PUT", p + tampered, "x", nil, 403, "invalid"},
		{"PUT signed for another fid", "PUT", "/dev1/0/000/000/0000000043.fid" + w, "x", nil, 403, "invalid"},
		{"PUT signed for another device", "PUT", "/dev2/0/000/000/0000000042.fid" + w, "x", nil, 403, "invalid"},
		{"PUT with a second sig", "PUT", p + w + "&sig=w.1.x", "x", nil, 403, "invalid"},
		{"signed PUT", "PUT", p + w, "hello world", nil, 200, ""},
		{"another spelling of the signed path", "PUT", "/" + p + w, "hello world", nil, 200, ""},
		{"traversal keeps its 400", "PUT", "/dev1/0/../0/000/000/0000000042.fid" + w, "x", nil, 400, ""},
		{"ranged PUT", "PUT", p + w, "WORLD", []string{"Content-Range", "bytes 6-10/*"}, 200, ""},
		{"unsigned GET", "GET", p, "", nil, 200, ""},
		{"unsigned HEAD", "HEAD", p, "", nil, 200, ""},
		{"GET with a bad signature", "GET", p + tampered, "", nil, 200, ""},
		{"unsigned MKCOL", "MKCOL", "/dev1/9/", "", nil, 403, "not signed"},
		{"signed MKCOL", "MKCOL", "/dev1/9/" + sig(nodeproto.PermWrite, "/dev1/9/", time.Minute), "", nil, 201, ""},
		{"MOVE to an unsigned destination", "MOVE", p + w, "", []string{"Destination", n.base + "/dev1/0/000/000/0000000043.fid"}, 403, "not signed"},
		{"MOVE to a read-signed destination", "MOVE", p + w, "", []string{"Destination", n.base + "/dev1/0/000/000/0000000043.fid" +
			sig(nodeproto.PermRead, "/dev1/0/000/000/0000000043.fid", time.Minute)}, 403, "reading only"},
		{"MOVE to a destination signed for another path", "MOVE", p + w, "", []string{"Destination", n.base + "/dev1/0/000/000/0000000044.fid" +
			sig(nodeproto.PermWrite, "/dev1/0/000/000/0000000043.fid", time.Minute)}, 403, "invalid"},
		{"unsigned MOVE", "MOVE", p, "", []string{"Destination", n.base + "/dev1/0/000/000/0000000043.fid" +
			sig(nodeproto.PermWrite, "/dev1/0/000/000/0000000043.fid", time.Minute)}, 403, "not signed"},
		{"signed MOVE", "MOVE", p + w, "", []string{"Destination", n.base + "/dev1/0/000/000/0000000043.fid" +
			sig(nodeproto.PermWrite, "/dev1/0/000/000/0000000043.fid", time.Minute)}, 201, ""},
		{"unsigned DELETE", "DELETE", "/dev1/0/000/000/0000000043.fid", "", nil, 403, "not signed"},
		{"DELETE signed for the old name", "DELETE", "/dev1/0/000/000/0000000043.fid" + w, "", nil, 403, "invalid"},
		{"signed DELETE", "DELETE", "/dev1/0/000/000/0000000043.fid" + sig(nodeproto.PermWrite, "/dev1/0/000/000/0000000043.fid", time.Minute), "", nil, 204, ""},
	}
	for _, s := range steps {
		var body io.Reader
		if s.body != "" {
			body = strings.NewReader(s.body)
		}
		code, _, text := n.do(t, s.method, s.url, body, s.hdr...)
		if code != s.code || !strings.Contains(text, s.text) {
			t.Errorf("%s: %s %s = %d %q, want %d with %q", s.name, s.method, s.url, code, text, s.code, s.text)
		}
	}
	if b, err := os.ReadFile(n.path("/dev1/0/000/000/0000000042.fid")); err == nil {
		t.Errorf("the moved file is still at its old name: %q", b)
	}
	if _, err := os.Stat(n.path("/dev1/0/000/000/0000000043.fid")); !os.IsNotExist(err) {
		t.Errorf("the deleted file is still there: %v", err)
	}
}

// TestSignedRawPut: the Perl client's NewHTTPFile writes the URL's path
// and query on the request line as it got them from create_open.
func TestSignedRawPut(t *testing.T) {
	n := startSignedNode(t)
	const p = "/dev1/0/000/000/0000000050.fid"
	resp, _ := n.raw(t, "PUT "+p+sig(nodeproto.PermWrite, p, time.Minute)+" HTTP/1.0\r\nContent-length: 5\r\n\r\nhello")
	if resp.StatusCode != 200 {
		t.Fatalf("raw signed PUT = %s, want 200", resp.Status)
	}
	resp, body := n.raw(t, "PUT "+p+" HTTP/1.0\r\nContent-length: 5\r\n\r\nhello")
	if resp.StatusCode != 403 || resp.ContentLength != int64(len(body)) {
		t.Fatalf("raw unsigned PUT = %s %q (Content-Length %d), want 403 with a length", resp.Status, body, resp.ContentLength)
	}
}

// TestSignedReads: with sign_reads, GET and HEAD need a read or write
// signature too, except for what mogadm check reads.
func TestSignedReads(t *testing.T) {
	n := startSignedNode(t, "--sign_reads=1")
	const p = "/dev1/0/000/000/0000000060.fid"
	if code, _, _ := n.do(t, "PUT", p+sig(nodeproto.PermWrite, p, time.Minute), strings.NewReader("data")); code != 200 {
		t.Fatalf("signed PUT = %d", code)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, err := os.Stat(filepath.Join(n.docroot, "dev1", "usage")); err == nil || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	for _, tc := range []struct {
		method, url string
		code        int
	}{
		{"GET", p, 403},
		{"HEAD", p, 403},
		{"GET", p + sig(nodeproto.PermRead, p, -time.Minute), 403},
		{"GET", p + sig(nodeproto.PermRead, "/dev1/0/000/000/0000000061.fid", time.Minute), 403},
		{"GET", p + sig(nodeproto.PermRead, p, time.Minute), 200},
		{"HEAD", p + sig(nodeproto.PermRead, p, time.Minute), 200},
		{"GET", p + sig(nodeproto.PermWrite, p, time.Minute), 200},
		{"GET", "/", 200},
		{"GET", "/dev1/usage", 200},
		{"GET", "/dev1/", 403},
	} {
		if code, _, _ := n.do(t, tc.method, tc.url, nil); code != tc.code {
			t.Errorf("%s %s = %d, want %d", tc.method, tc.url, code, tc.code)
		}
	}
}

func TestSignedConfig(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		ok   bool
	}{
		{"off", nil, true},
		{"secret", []string{"--storage_secret=" + testSecret}, true},
		{"short secret", []string{"--storage_secret=short"}, false},
		{"sign_reads alone", []string{"--sign_reads=1"}, false},
		{"secret twice", []string{"--storage_secret=" + testSecret, "--storage_secret_file=/dev/null"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			set := config.New("stord", stord.Settings)
			if _, err := set.Parse(tc.args); err != nil {
				t.Fatal(err)
			}
			cfg, err := stord.ConfigFromSet(set)
			if (err == nil) != tc.ok {
				t.Fatalf("ConfigFromSet(%v) = %v, want ok %v", tc.args, err, tc.ok)
			}
			if tc.name == "short secret" && !errors.Is(err, nodeproto.ErrShortSecret) {
				t.Errorf("ConfigFromSet(%v) = %v, want ErrShortSecret", tc.args, err)
			}
			if tc.name == "secret" && string(cfg.StorageSecret) != testSecret {
				t.Errorf("StorageSecret = %q", cfg.StorageSecret)
			}
		})
	}
}
