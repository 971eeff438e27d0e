package stord_test

import (
	"bufio"
	"crypto/md5"
	"encoding/base64"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"
)

func TestHTTPFileLifecycle(t *testing.T) {
	n := startNode(t)
	const p = "/dev1/0/000/000/0000000123.fid"

	code, _, body := n.do(t, "PUT", p, strings.NewReader("hello world"))
	if code != 200 || body != "<h1>200 - OK</h1>\n" {
		t.Fatalf("PUT %s = %d %q, want 200 <h1>200 - OK</h1>", p, code, body)
	}
	if b, err := os.ReadFile(n.path(p)); err != nil || string(b) != "hello world" {
		t.Fatalf("file on disk = %q, %v", b, err)
	}

	code, h, body := n.do(t, "GET", p, nil)
	if code != 200 || body != "hello world" || h.Get("Content-Length") != "11" ||
		h.Get("Accept-Ranges") != "bytes" || h.Get("Last-Modified") == "" {
		t.Errorf("GET = %d %q %v", code, body, h)
	}
	code, h, body = n.do(t, "HEAD", p, nil)
	if code != 200 || body != "" || h.Get("Content-Length") != "11" || h.Get("Last-Modified") == "" {
		t.Errorf("HEAD = %d %q %v", code, body, h)
	}
	for _, tc := range []struct {
		rng, want, cr string
		code          int
	}{
		{"bytes=1-1", "e", "bytes 1-1/11", 206},
		{"bytes=6-", "world", "bytes 6-10/11", 206},
		{"bytes=-5", "world", "bytes 6-10/11", 206}, // RFC 7233, not Perlbal's 0-5
		{"bytes=6-100", "world", "bytes 6-10/11", 206},
		{"bytes=11-", "", "bytes */11", 416},
		{"bytes=20-30", "", "bytes */11", 416},
	} {
		code, h, body := n.do(t, "GET", p, nil, "Range", tc.rng)
		if code != tc.code || h.Get("Content-Range") != tc.cr || (code == 206 && body != tc.want) {
			t.Errorf("GET Range %s = %d %q %q, want %d %q %q", tc.rng, code, h.Get("Content-Range"), body, tc.code, tc.cr, tc.want)
		}
	}
	code, _, _ = n.do(t, "GET", p, nil, "If-Modified-Since", h.Get("Last-Modified"))
	if code != 304 {
		t.Errorf("GET If-Modified-Since = %d, want 304", code)
	}

	// Overwrite truncates.
	if code, _, _ := n.do(t, "PUT", p, strings.NewReader("hi")); code != 200 {
		t.Fatalf("second PUT = %d", code)
	}
	if _, _, body := n.do(t, "GET", p, nil); body != "hi" {
		t.Errorf("GET after overwrite = %q, want hi", body)
	}

	if code, _, _ := n.do(t, "DELETE", p, nil); code != 204 {
		t.Errorf("DELETE = %d, want 204", code)
	}
	if code, _, _ := n.do(t, "GET", p, nil); code != 404 {
		t.Errorf("GET after DELETE = %d, want 404", code)
	}
	if code, _, _ := n.do(t, "HEAD", p, nil); code != 404 {
		t.Errorf("HEAD after DELETE = %d, want 404", code)
	}
	if code, _, _ := n.do(t, "DELETE", p, nil); code != 404 {
		t.Errorf("second DELETE = %d, want 404", code)
	}
}

func TestHTTPMiscRequests(t *testing.T) {
	n := startNode(t)
	tests := []struct {
		method, path string
		code         int
		bodyHas      string
	}{
		{"GET", "/", 200, "Directory listing disabled"},
		{"GET", "/dev1/", 200, "Directory listing disabled"},
		{"GET", "/dev1/usage", 200, "available: "},
		{"GET", "//dev1/usage", 200, "total: "}, // mogadm check; no 301
		{"MKCOL", "/dev1/0/", 201, ""},
		{"MKCOL", "/dev1/0/", 201, ""}, // existing: still 2xx
		{"MKCOL", "/dev1/0/000/111/", 201, ""},
		{"MKCOL", "/dev9/0/", 404, ""},
		{"PUT", "/dev9/0/000/000/0000000001.fid", 404, "Base directory does not exist"},
		{"GET", "/dev9/usage", 404, ""},
		{"GET", "/dev1/nope.fid", 404, ""},
		{"DELETE", "/dev1/0/", 400, ""},
		{"PUT", "/dev1/", 400, ""},
		{"POST", "/dev1/x", 400, ""},
		{"OPTIONS", "/dev1/x", 400, ""},
	}
	for _, tc := range tests {
		var body io.Reader
		if tc.method == "PUT" {
			body = strings.NewReader("x")
		}
		if tc.method == "GET" && strings.HasPrefix(tc.path, "//") {
			// net/http's client keeps the path as given; use a raw request
			// to be sure the double slash goes out.
			resp, b := n.raw(t, "GET "+tc.path+" HTTP/1.0\r\n\r\n")
			if resp.StatusCode != tc.code || !strings.Contains(b, tc.bodyHas) {
				t.Errorf("raw GET %s = %d %q, want %d containing %q", tc.path, resp.StatusCode, b, tc.code, tc.bodyHas)
			}
			continue
		}
		code, _, b := n.do(t, tc.method, tc.path, body)
		if code != tc.code || !strings.Contains(b, tc.bodyHas) {
			t.Errorf("%s %s = %d %q, want %d containing %q", tc.method, tc.path, code, b, tc.code, tc.bodyHas)
		}
	}
	if fi, err := os.Stat(n.path("/dev1/0/000/111")); err != nil || !fi.IsDir() {
		t.Errorf("MKCOL did not create the directory: %v", err)
	}
}

// TestHTTP10PerlClient speaks exactly what MogileFS::Client::NewHTTPFile and
// the tracker's replicator send: HTTP/1.0, no Host, "Content-length".
func TestHTTP10PerlClient(t *testing.T) {
	n := startNode(t)
	const p = "/dev2/0/000/148/0000148056.fid"
	resp, body := n.raw(t, "PUT "+p+" HTTP/1.0\r\nContent-length: 5\r\n\r\nhello")
	if resp.StatusCode != 200 || body != "<h1>200 - OK</h1>\n" {
		t.Fatalf("raw PUT = %d %q", resp.StatusCode, body)
	}
	if b, _ := os.ReadFile(n.path(p)); string(b) != "hello" {
		t.Fatalf("file = %q, want hello", b)
	}

	// Replicator: HTTP/1.0 keep-alive GET needs Content-Length and a
	// connection that stays open for the next request.
	c, err := net.Dial("tcp", n.http)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	br := bufio.NewReader(c)
	for i := range 2 {
		req := "GET " + p + " HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"
		io.WriteString(c, req)
		resp, body := readResponse(t, br, req)
		if resp.StatusCode != 200 || body != "hello" || resp.ContentLength != 5 || resp.Close {
			t.Fatalf("keep-alive GET #%d = %d %q len=%d close=%v", i, resp.StatusCode, body, resp.ContentLength, resp.Close)
		}
	}
	// Replicator PUT with Content-MD5 on the same connection.
	sum := md5.Sum([]byte("hello"))
	req := "PUT /dev2/copy.fid HTTP/1.0\r\nConnection: keep-alive\r\nContent-length: 5\r\nContent-MD5: " +
		base64.StdEncoding.EncodeToString(sum[:]) + "\r\n\r\nhello"
	io.WriteString(c, req)
	if resp, _ := readResponse(t, br, req); resp.StatusCode != 201 {
		t.Fatalf("keep-alive PUT with Content-MD5 = %d, want 201", resp.StatusCode)
	}
	// Missing length is zero, as Perlbal.
	resp, _ = n.raw(t, "PUT /dev2/empty HTTP/1.0\r\n\r\n")
	if fi, err := os.Stat(n.path("/dev2/empty")); resp.StatusCode != 200 || err != nil || fi.Size() != 0 {
		t.Errorf("PUT without length = %d, file %v %v", resp.StatusCode, fi, err)
	}
}

func TestChunkedPut(t *testing.T) {
	n := startNode(t)
	resp, _ := n.raw(t, "PUT /dev1/chunked HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"+
		"5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n")
	if resp.StatusCode != 200 {
		t.Fatalf("chunked PUT = %d", resp.StatusCode)
	}
	if b, _ := os.ReadFile(n.path("/dev1/chunked")); string(b) != "hello world" {
		t.Errorf("chunked file = %q", b)
	}
	// A pipe body makes net/http's client send chunks too.
	pr, pw := io.Pipe()
	go func() {
		for range 100 {
			pw.Write([]byte(strings.Repeat("z", 1000)))
		}
		pw.Close()
	}()
	if code, _, _ := n.do(t, "PUT", "/dev1/chunked2", pr); code != 200 {
		t.Fatalf("streamed chunked PUT = %d", code)
	}
	if fi, err := os.Stat(n.path("/dev1/chunked2")); err != nil || fi.Size() != 100000 {
		t.Errorf("chunked2 = %v, %v, want 100000 bytes", fi, err)
	}
}

func TestContentMD5(t *testing.T) {
	n := startNode(t)
	good := md5.Sum([]byte("payload"))
	goodB64 := base64.StdEncoding.EncodeToString(good[:])
	bang := md5.Sum([]byte("!"))
	tests := []struct {
		name, path, md5 string
		code            int
		exists          bool
	}{
		{"good", "/dev1/md5/good", goodB64, 201, true},
		{"good without padding", "/dev1/md5/nopad", strings.TrimRight(goodB64, "="), 201, true},
		// The monitor's probe: body "." with the MD5 of "!".
		{"monitor probe", "/dev1/test-write/test-md5", base64.StdEncoding.EncodeToString(bang[:]), 400, false},
		{"garbage", "/dev1/md5/garbage", "not base64", 400, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			body := "payload"
			if tc.name == "monitor probe" {
				body = "."
			}
			code, _, text := n.do(t, "PUT", tc.path, strings.NewReader(body), "Content-MD5", tc.md5)
			if code != tc.code {
				t.Fatalf("PUT Content-MD5 %q = %d %q, want %d", tc.md5, code, text, tc.code)
			}
			if code == 400 && !strings.Contains(text, "Content-MD5 mismatch") {
				t.Errorf("mismatch body = %q", text)
			}
			if _, err := os.Stat(n.path(tc.path)); (err == nil) != tc.exists {
				t.Errorf("file exists = %v, want %v", err == nil, tc.exists)
			}
		})
	}
	if tmp := tempFiles(t, n.docroot); len(tmp) != 0 {
		t.Errorf("temp files left: %v", tmp)
	}
}

// TestContentRangePut is MogileFS::Client's largefile mode: an empty PUT,
// then chunks at offsets.
func TestContentRangePut(t *testing.T) {
	n := startNode(t)
	const p = "/dev1/large/file"
	if code, _, _ := n.do(t, "PUT", p, strings.NewReader("")); code != 200 {
		t.Fatalf("empty PUT = %d", code)
	}
	for _, c := range []struct{ cr, body string }{
		{"bytes 0-4/*", "hello"}, {"bytes 11-15/*", "again"}, {"bytes 5-10/*", " world"},
	} {
		if code, _, b := n.do(t, "PUT", p, strings.NewReader(c.body), "Content-Range", c.cr); code != 200 {
			t.Fatalf("PUT Content-Range %s = %d %q", c.cr, code, b)
		}
	}
	if b, _ := os.ReadFile(n.path(p)); string(b) != "hello worldagain" {
		t.Errorf("file = %q, want hello worldagain", b)
	}
	if code, _, _ := n.do(t, "PUT", p, strings.NewReader("abc"), "Content-Range", "bytes 0-9/*"); code != 400 {
		t.Errorf("PUT with Content-Range longer than body = %d, want 400", code)
	}
	if code, _, _ := n.do(t, "PUT", p, strings.NewReader("abc"), "Content-Range", "bytes x-y/*"); code != 400 {
		t.Errorf("PUT with bad Content-Range = %d, want 400", code)
	}
	// EOF detection of ClientHTTPFile::READ.
	if code, _, _ := n.do(t, "GET", p, nil, "Range", "bytes=16-31"); code != http.StatusRequestedRangeNotSatisfiable {
		t.Errorf("GET past EOF = %d, want 416", code)
	}
}

// TestHTTPMove: WebDAV MOVE as the Perl client's edit_file sends it, with
// an absolute Destination URL, and its refusals.
func TestHTTPMove(t *testing.T) {
	n := startNode(t)
	const src, dst = "/dev1/0/000/000/0000000007.fid", "/dev1/0/000/000/0000000008.fid"
	put := func(p, body string) {
		t.Helper()
		if code, _, _ := n.do(t, "PUT", p, strings.NewReader(body)); code != 200 {
			t.Fatalf("PUT %s = %d", p, code)
		}
	}
	put(src, "old content")
	if code, _, _ := n.do(t, "MOVE", src, nil, "Destination", n.base+dst); code != 201 {
		t.Fatalf("MOVE to a new name = %d, want 201", code)
	}
	if b, err := os.ReadFile(n.path(dst)); err != nil || string(b) != "old content" {
		t.Fatalf("destination holds %q, %v", b, err)
	}
	if _, err := os.Stat(n.path(src)); !os.IsNotExist(err) {
		t.Fatalf("source still there: %v", err)
	}
	put(src, "again")
	if code, _, _ := n.do(t, "MOVE", src, nil, "Destination", n.base+dst, "Overwrite", "F"); code != 412 {
		t.Errorf("MOVE onto a file with Overwrite: F = %d, want 412", code)
	}
	if code, _, _ := n.do(t, "MOVE", src, nil, "Destination", dst); code != 204 {
		t.Errorf("MOVE onto a file (path Destination) = %d, want 204", code)
	}
	if b, _ := os.ReadFile(n.path(dst)); string(b) != "again" {
		t.Errorf("replaced destination holds %q", b)
	}
	put(src, "x")
	for _, tc := range []struct {
		name, dest string
		code       int
	}{
		{"no Destination", "", 400},
		{"another device", n.base + "/dev2/x.fid", 400},
		{"traversal", n.base + "/dev1/../dev2/x.fid", 400},
		{"a directory", n.base + "/dev1/0/", 400},
		{"not a device", "http://elsewhere/etc/passwd", 400},
	} {
		hdr := []string{}
		if tc.dest != "" {
			hdr = []string{"Destination", tc.dest}
		}
		if code, _, _ := n.do(t, "MOVE", src, nil, hdr...); code != tc.code {
			t.Errorf("MOVE (%s) = %d, want %d", tc.name, code, tc.code)
		}
	}
	if b, _ := os.ReadFile(n.path(src)); string(b) != "x" {
		t.Errorf("a refused MOVE changed the source: %q", b)
	}
	if code, _, _ := n.do(t, "MOVE", "/dev1/nope.fid", nil, "Destination", n.base+dst); code != 404 {
		t.Errorf("MOVE of a missing file = %d, want 404", code)
	}
}
