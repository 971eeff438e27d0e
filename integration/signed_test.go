package integration

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"mogfs/internal/testenv"
	"mogfs/nodeproto"
)

// signedSecret is the storage secret of the signed test clusters.
const signedSecret = "integration-storage-secret-0123"

// startSignedCluster starts a cluster whose trackers and nodes share a
// storage secret, each reading it from a file; nodeArgs go to every stord.
// StartCluster waits until every device is observed writeable, which
// already needs the monitor's write test (MKCOL, PUT, GET) to be signed.
func startSignedCluster(t *testing.T, nodeArgs ...string) *Cluster {
	t.Helper()
	file := filepath.Join(t.TempDir(), "storage.secret")
	if err := os.WriteFile(file, []byte(signedSecret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return StartCluster(t, ClusterOpts{
		TrackerArgs: []string{"--storage_secret_file", file},
		NodeArgs:    append([]string{"--storage_secret_file", file}, nodeArgs...),
	})
}

// httpDo sends one request and returns its status and body.
func httpDo(t *testing.T, method, url, body string, hdr ...string) (int, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// waitDevCount waits until key has want copies.
func (c *Cluster) waitDevCount(t *testing.T, key string, want int) map[string]string {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		fi := c.mustDo(t, "file_info", map[string]string{"domain": c.Opts.Domain, "key": key, "devices": "1"})
		if fi["devcount"] == strconv.Itoa(want) {
			return fi
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s has %s copies after 30 s, want %d", key, fi["devcount"], want)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// replicaFiles returns the files holding fid on the nodes' disks.
func (c *Cluster) replicaFiles(fid int64) []string {
	var out []string
	for _, n := range c.Nodes {
		for _, d := range n.DevIDs {
			p := filepath.Join(n.Docroot, filepath.FromSlash(nodeproto.FIDPath(d, fid)))
			if _, err := os.Stat(p); err == nil {
				out = append(out, p)
			}
		}
	}
	return out
}

// TestSignedCluster: with a storage secret on the trackers and the nodes,
// the client stores and fetches, the tracker's own copies, HEADs, deletes
// and fsck go through, and a node refuses a write it did not get a
// tracker's signature for.
func TestSignedCluster(t *testing.T) {
	c := startSignedCluster(t)
	cl := c.Client(t)
	dom := c.Opts.Domain
	data := make([]byte, 300<<10)
	for i := range data {
		data[i] = byte(rand.IntN(256))
	}
	fid, err := cl.Store(t.Context(), dom, "a", c.Opts.Class, bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatalf("Store with signing on: %v", err)
	}
	var got bytes.Buffer
	if _, err := cl.Fetch(t.Context(), dom, "a", &got); err != nil || !bytes.Equal(got.Bytes(), data) {
		t.Fatalf("Fetch with signing on: %d bytes, %v", got.Len(), err)
	}
	c.waitDevCount(t, "a", 2) // the replicator's GET, PUT and HEAD are signed

	paths := c.mustDo(t, "get_paths", map[string]string{"domain": dom, "key": "a"})
	p1 := paths["path1"]
	if !strings.Contains(p1, "?sig=r.") {
		t.Fatalf("get_paths path1 = %q, want a read signature", p1)
	}
	// Reads need no signature unless the node signs reads.
	if code, body := httpDo(t, "GET", nodeproto.Unsigned(p1), ""); code != 200 || body != string(data) {
		t.Errorf("unsigned GET = %d (%d bytes), want 200 and the file", code, len(body))
	}

	// What a client that did not get the URL from a tracker cannot do.
	open := c.mustDo(t, "create_open", map[string]string{"domain": dom, "key": "b", "class": c.Opts.Class})
	w := open["path"]
	if !strings.Contains(w, "?sig=w.") {
		t.Fatalf("create_open path = %q, want a write signature", w)
	}
	base, q, _ := strings.Cut(w, "?")
	pathOf := func(u string) string { return "/" + strings.SplitN(strings.TrimPrefix(u, "http://"), "/", 2)[1] }
	expired := nodeproto.Sign([]byte(signedSecret), nodeproto.PermWrite, pathOf(base), time.Now().Add(-time.Second))
	other := strings.Replace(base, ".fid", "9.fid", 1)
	for _, tc := range []struct {
		name, method, url, want string
	}{
		{"bare PUT", "PUT", base, "not signed"},
		{"bare PUT of another name", "PUT", other, "not signed"},
		{"PUT with a signature of another path", "PUT", other + "?" + q, "invalid"},
		{"tampered PUT", "PUT", base + "?" + strings.Replace(q, "sig=w.", "sig=w.1", 1), "invalid"},
		{"expired PUT", "PUT", base + "?sig=" + expired, "expired"},
		{"PUT to a get_paths URL", "PUT", p1, "reading only"},
		{"bare DELETE", "DELETE", nodeproto.Unsigned(p1), "not signed"},
		{"DELETE of a get_paths URL", "DELETE", p1, "reading only"},
		{"bare MKCOL", "MKCOL", strings.TrimSuffix(base, filepath.Base(base)), "not signed"},
	} {
		if code, body := httpDo(t, tc.method, tc.url, "x"); code != 403 || !strings.Contains(body, tc.want) {
			t.Errorf("%s: %s %s = %d %q, want 403 %q", tc.name, tc.method, tc.url, code, body, tc.want)
		}
	}
	if n := len(c.replicaFiles(fid)); n != 2 {
		t.Errorf("%d replicas of fid %d on disk after the refused DELETEs, want 2", n, fid)
	}

	// The Perl client's upload, byte for byte: NewHTTPFile splits the URL
	// with m!http://(.+?)(/.+)$! and writes the rest, query and all, on
	// the request line; create_close gets the URL back as it came.
	m := regexp.MustCompile(`http://(.+?)(/.+)$`).FindStringSubmatch(w)
	conn, err := net.DialTimeout("tcp", m[1], 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	fmt.Fprintf(conn, "PUT %s HTTP/1.0\r\nContent-length: 5\r\n\r\nperl!", m[2])
	if line, err := bufio.NewReader(conn).ReadString('\n'); err != nil || !strings.Contains(line, " 200 ") {
		t.Fatalf("raw PUT %s: %q, %v", m[2], line, err)
	}
	c.mustDo(t, "create_close", map[string]string{"domain": dom, "key": "b", "fid": open["fid"], "devid": open["devid"],
		"path": w, "size": "5"})
	pb := c.mustDo(t, "get_paths", map[string]string{"domain": dom, "key": "b", "noverify": "1"})
	if code, body := httpDo(t, "GET", pb["path1"], ""); code != 200 || body != "perl!" {
		t.Errorf("GET of the raw upload = %d %q", code, body)
	}

	// The stock tools take the URLs as they come too.
	src := filepath.Join(t.TempDir(), "up")
	os.WriteFile(src, []byte("tool upload"), 0o644)
	tr := "--trackers=" + strings.Join(c.Trackers, ",")
	mustTool(t, c, nil, "mogupload", tr, "--domain="+dom, "--key=tool", "--file="+src)
	if out := mustTool(t, c, nil, "mogfetch", tr, "--domain="+dom, "--key=tool", "--file=-"); out != "tool upload" {
		t.Errorf("mogfetch = %q", out)
	}

	// fsck: HEADs (signed) find a replica gone from disk, and the copy
	// that fixes it is signed.
	files := c.replicaFiles(fid)
	if err := os.Remove(files[0]); err != nil {
		t.Fatal(err)
	}
	c.mustDo(t, "fsck_reset", map[string]string{"policy_only": "0"})
	c.mustDo(t, "fsck_start", nil)
	deadline := time.Now().Add(30 * time.Second)
	for missed := false; ; {
		lg := c.mustDo(t, "fsck_getlog", nil)
		n, _ := strconv.Atoi(lg["row_count"])
		for i := 1; i <= n; i++ {
			r := "row_" + strconv.Itoa(i) + "_"
			if lg[r+"evcode"] == "MISS" && lg[r+"fid"] == strconv.FormatInt(fid, 10) {
				missed = true
			}
		}
		if missed && len(c.replicaFiles(fid)) == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("fsck: MISS logged %v, %d replicas on disk after 30 s; log %v", missed, len(c.replicaFiles(fid)), lg)
		}
		time.Sleep(100 * time.Millisecond)
	}
	c.mustDo(t, "fsck_stop", nil)
	got.Reset()
	if _, err := cl.Fetch(t.Context(), dom, "a", &got); err != nil || !bytes.Equal(got.Bytes(), data) {
		t.Fatalf("Fetch after fsck: %d bytes, %v", got.Len(), err)
	}

	// Deletes: the delete job's DELETEs are signed.
	if err := cl.Delete(t.Context(), dom, "a"); err != nil {
		t.Fatal(err)
	}
	deadline = time.Now().Add(30 * time.Second)
	for len(c.replicaFiles(fid)) > 0 {
		if time.Now().After(deadline) {
			t.Fatalf("replicas of deleted fid %d still on disk after 30 s: %v", fid, c.replicaFiles(fid))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestSignedReads: with sign_reads the client and the stock tools still
// read (their URLs come from get_paths), a bare GET is refused, and
// mogadm check still reaches the nodes.
func TestSignedReads(t *testing.T) {
	c := startSignedCluster(t, "--sign_reads=1")
	cl := c.Client(t)
	dom := c.Opts.Domain
	if _, err := cl.Store(t.Context(), dom, "r", c.Opts.Class, strings.NewReader("read me"), 7); err != nil {
		t.Fatal(err)
	}
	c.waitDevCount(t, "r", 2)
	var got bytes.Buffer
	if _, err := cl.Fetch(t.Context(), dom, "r", &got); err != nil || got.String() != "read me" {
		t.Fatalf("Fetch with signed reads = %q, %v", got.String(), err)
	}
	p := c.mustDo(t, "get_paths", map[string]string{"domain": dom, "key": "r"})["path1"]
	if code, body := httpDo(t, "GET", nodeproto.Unsigned(p), ""); code != 403 || !strings.Contains(body, "not signed") {
		t.Errorf("bare GET with sign_reads = %d %q, want 403", code, body)
	}
	if code, _ := httpDo(t, "HEAD", nodeproto.Unsigned(p), ""); code != 403 {
		t.Errorf("bare HEAD with sign_reads = %d, want 403", code)
	}
	tr := "--trackers=" + strings.Join(c.Trackers, ",")
	if out := mustTool(t, c, nil, "mogfetch", tr, "--domain="+dom, "--key=r", "--file=-"); out != "read me" {
		t.Errorf("mogfetch = %q", out)
	}
	if out := mustTool(t, c, nil, "mogadm", tr, "check"); !strings.Contains(out, "writeable") {
		t.Errorf("mogadm check with sign_reads:\n%s", out)
	}
}

// TestSignedEditFile replays MogileFS::Client's edit_file (as
// TestEditFile does) on signed nodes: the MOVE needs both URLs signed for
// writing, and they are.
func TestSignedEditFile(t *testing.T) {
	c := startSignedCluster(t, "--sign_reads=1")
	cl := c.Client(t)
	dom := c.Opts.Domain
	if _, err := cl.Store(t.Context(), dom, "doc", c.Opts.Class, strings.NewReader("hello world"), 11); err != nil {
		t.Fatal(err)
	}
	res := c.mustDo(t, "edit_file", map[string]string{"domain": dom, "key": "doc"})
	if code, _ := httpDo(t, "MOVE", res["oldpath"], "", "Destination", nodeproto.Unsigned(res["newpath"])); code != 403 {
		t.Errorf("MOVE to an unsigned Destination = %d, want 403", code)
	}
	if code, _ := httpDo(t, "MOVE", res["oldpath"], "", "Destination", res["newpath"]); code/100 != 2 {
		t.Fatalf("MOVE %s -> %s = %d", res["oldpath"], res["newpath"], code)
	}
	req, _ := http.NewRequestWithContext(t.Context(), "HEAD", res["newpath"], nil)
	if r, err := http.DefaultClient.Do(req); err != nil || r.StatusCode != 200 || r.ContentLength != 11 {
		t.Fatalf("HEAD of the moved replica = %v, %v", r, err)
	}
	if code, body := httpDo(t, "GET", res["newpath"], "", "Range", "bytes=0-4"); code != 206 || body != "hello" {
		t.Errorf("ranged GET of newpath = %d %q", code, body)
	}
	if code, _ := httpDo(t, "PUT", res["newpath"], "WORLD", "Content-Range", "bytes 6-10/*"); code/100 != 2 {
		t.Fatalf("ranged PUT = %d", code)
	}
	c.mustDo(t, "create_close", map[string]string{"domain": dom, "key": "doc", "fid": res["fid"], "devid": res["devid"],
		"path": res["newpath"], "size": "11"})
	var got bytes.Buffer
	if _, err := cl.Fetch(t.Context(), dom, "doc", &got); err != nil || got.String() != "hello WORLD" {
		t.Fatalf("after edit_file the key reads %q, %v", got.String(), err)
	}
	if fi := c.waitDevCount(t, "doc", 2); fi["fid"] != res["fid"] {
		t.Errorf("file_info fid = %s, want the edit's %s", fi["fid"], res["fid"])
	}
}

// TestSignedMount: the mount writes and reads through signed URLs (it
// uses them as they come, like every MogileFS client), reads included.
func TestSignedMount(t *testing.T) {
	testenv.RequireFUSE(t)
	c := startSignedCluster(t, "--sign_reads=1")
	m := mountMogfs(t, c)
	want := bytes.Repeat([]byte("signed mount "), 50000)
	if err := os.MkdirAll(filepath.Join(m.Dir, "d"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(m.Dir, "d", "f"), want, 0o644); err != nil {
		t.Fatalf("write through the mount: %v", err)
	}
	var got bytes.Buffer
	if _, err := c.Client(t).Fetch(t.Context(), c.Opts.Domain, "d/f", &got); err != nil || !bytes.Equal(got.Bytes(), want) {
		t.Fatalf("Fetch of the mount's file: %d bytes, %v", got.Len(), err)
	}
	if _, err := c.Client(t).Store(t.Context(), c.Opts.Domain, "d/g", c.Opts.Class, strings.NewReader("from the client"), 15); err != nil {
		t.Fatal(err)
	}
	// A second mount has no cached blocks: its reads go to the nodes.
	m2 := mountMogfs(t, c)
	for name, w := range map[string]string{"d/f": string(want), "d/g": "from the client"} {
		b, err := os.ReadFile(filepath.Join(m2.Dir, name))
		if err != nil || string(b) != w {
			t.Errorf("read %s through the mount: %d bytes, %v", name, len(b), err)
		}
	}
}
