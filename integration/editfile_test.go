package integration

import (
	"bytes"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestEditFile runs edit_file as the Perl client's MogileFS::Client does
// (edit_file, then MOVE oldpath to newpath on the node, HEAD for the
// length, a ranged PUT at an offset, create_close): the key then reads
// back edited under the new fid, which replication brings to its copy
// count.
func TestEditFile(t *testing.T) {
	c := StartCluster(t, ClusterOpts{})
	cl := c.Client(t)
	dom := c.Opts.Domain
	if _, err := cl.Store(t.Context(), dom, "doc", c.Opts.Class, strings.NewReader("hello world"), 11); err != nil {
		t.Fatal(err)
	}
	res := c.mustDo(t, "edit_file", map[string]string{"domain": dom, "key": "doc"})
	do := func(method, url string, body string, hdr ...string) *http.Response {
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
		resp.Body.Close()
		return resp
	}
	if r := do("MOVE", res["oldpath"], "", "Destination", res["newpath"]); r.StatusCode/100 != 2 {
		t.Fatalf("MOVE %s -> %s = %s", res["oldpath"], res["newpath"], r.Status)
	}
	if r := do("HEAD", res["newpath"], ""); r.StatusCode != 200 || r.ContentLength != 11 {
		t.Fatalf("HEAD of the moved replica = %s, length %d", r.Status, r.ContentLength)
	}
	if r := do("PUT", res["newpath"], "WORLD", "Content-Range", "bytes 6-10/*"); r.StatusCode/100 != 2 {
		t.Fatalf("ranged PUT = %s", r.Status)
	}
	c.mustDo(t, "create_close", map[string]string{"domain": dom, "key": "doc", "fid": res["fid"], "devid": res["devid"],
		"path": res["newpath"], "size": "11"})
	var got bytes.Buffer
	if _, err := cl.Fetch(t.Context(), dom, "doc", &got); err != nil || got.String() != "hello WORLD" {
		t.Fatalf("after edit_file the key reads %q, %v", got.String(), err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		fi := c.mustDo(t, "file_info", map[string]string{"domain": dom, "key": "doc"})
		if fi["fid"] != res["fid"] {
			t.Fatalf("file_info fid = %s, want the edit's %s", fi["fid"], res["fid"])
		}
		if fi["devcount"] == "2" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the edited file has %s copies after 30 s, want 2", fi["devcount"])
		}
		time.Sleep(100 * time.Millisecond)
	}
}
