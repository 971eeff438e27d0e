package trackerd

import (
	"crypto/md5"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"mogfs/internal/config"
	"mogfs/nodeproto"
	"mogfs/stord"
)

var signSecret = []byte("trackerd-test-secret-0123")

// TestSignedURLs runs a tracker with a storage secret over nodes that
// require signed writes and reads: the monitor's write test, uploads,
// replication with a checksum re-read, get_paths, edit_file and deletes all
// work, and the URLs handed out are signed for what the client does.
func TestSignedURLs(t *testing.T) {
	_, addr := startTrackerWith(t, "DBI:SQLite:dbname="+filepath.Join(t.TempDir(), "mogilefs.db"), func(c *Config) {
		c.StorageSecret, c.JobMaster = signSecret, true
	})
	signed := func(h *stord.Handler) { h.RequireSignatures(signSecret, true) }
	n1, n2 := startNodeWith(t, signed, 1), startNodeWith(t, signed, 2)
	c := dial(t, addr)
	setup(t, c, n1, n2) // the monitor's signed write test passed
	c.ok("create_class", map[string]string{"domain": "testdom", "class": "md5", "mindevcount": "2", "hashtype": "MD5"})

	body := "signed content"
	sum := md5.Sum([]byte(body))
	open := c.ok("create_open", map[string]string{"domain": "testdom", "key": "k", "class": "md5", "multi_dest": "1"})
	for _, k := range []string{"path_1", "path_2"} {
		if !strings.Contains(open[k], "?sig=w.") {
			t.Errorf("create_open %s = %q, want a write signature", k, open[k])
		}
	}
	if code := send(t, "PUT", nodeproto.Unsigned(open["path_1"]), body); code != 403 {
		t.Errorf("PUT without the signature = %d, want 403", code)
	}
	put(t, open["path_1"], body)
	c.ok("create_close", map[string]string{"domain": "testdom", "key": "k", "fid": open["fid"], "devid": open["devid_1"],
		"path": open["path_1"], "size": strconv.Itoa(len(body)), "checksum": fmt.Sprintf("MD5:%x", sum), "checksumverify": "1"})

	// Replication: a signed GET of the source, PUT, HEAD and digest GET.
	deadline := time.Now().Add(15 * time.Second)
	for c.ok("file_info", map[string]string{"domain": "testdom", "key": "k"})["devcount"] != "2" {
		if time.Now().After(deadline) {
			t.Fatal("the file has not replicated to 2 devices after 15s")
		}
		time.Sleep(50 * time.Millisecond)
	}

	paths := c.ok("get_paths", map[string]string{"domain": "testdom", "key": "k", "noverify": "1"})
	if paths["paths"] != "2" {
		t.Fatalf("get_paths = %v, want 2 paths", paths)
	}
	for _, k := range []string{"path1", "path2"} {
		u := paths[k]
		if !strings.Contains(u, "?sig=r.") {
			t.Errorf("get_paths %s = %q, want a read signature", k, u)
		}
		if got := get(t, u); got != body {
			t.Errorf("GET %s = %q, want %q", u, got, body)
		}
		if code := send(t, "GET", nodeproto.Unsigned(u), ""); code != 403 {
			t.Errorf("GET without the signature (sign_reads) = %d, want 403", code)
		}
		if code := send(t, "PUT", u, "overwrite"); code != 403 {
			t.Errorf("PUT to a get_paths URL = %d, want 403", code)
		}
	}
	// The cached lookup is signed afresh (and verified: no noverify).
	if again := c.ok("get_paths", map[string]string{"domain": "testdom", "key": "k"}); again["paths"] != "2" || get(t, again["path1"]) != body {
		t.Errorf("second get_paths = %v", again)
	}
	dbg := c.ok("file_debug", map[string]string{"domain": "testdom", "key": "k"})
	if u := dbg["devpath_1"]; !strings.Contains(u, "?sig=r.") || get(t, u) != body {
		t.Errorf("file_debug devpath_1 = %q, want a readable signed URL", u)
	}

	// edit_file as MogileFS::Client does it.
	ed := c.ok("edit_file", map[string]string{"domain": "testdom", "key": "k"})
	if code := send(t, "MOVE", ed["oldpath"], "", "Destination", nodeproto.Unsigned(ed["newpath"])); code != 403 {
		t.Errorf("MOVE to an unsigned destination = %d, want 403", code)
	}
	if code := send(t, "MOVE", ed["oldpath"], "", "Destination", ed["newpath"]); code != 201 {
		t.Fatalf("MOVE %s -> %s = %d", ed["oldpath"], ed["newpath"], code)
	}
	if code := send(t, "PUT", ed["newpath"], "SIGNED", "Content-Range", "bytes 0-5/*"); code != 200 {
		t.Fatalf("ranged PUT to newpath = %d", code)
	}
	c.ok("create_close", map[string]string{"domain": "testdom", "key": "k", "fid": ed["fid"], "devid": ed["devid"],
		"path": ed["newpath"], "size": strconv.Itoa(len(body))})
	p := c.ok("get_paths", map[string]string{"domain": "testdom", "key": "k", "noverify": "1"})
	if got := get(t, p["path1"]); got != "SIGNED content" {
		t.Errorf("after edit_file the key reads %q", got)
	}

	// Deletes: the delete job's DELETEs are signed.
	c.ok("delete", map[string]string{"domain": "testdom", "key": "k"})
	deadline = time.Now().Add(15 * time.Second)
	for {
		left := 0
		for _, n := range []*node{n1, n2} {
			filepath.WalkDir(n.docroot, func(p string, d os.DirEntry, err error) error {
				if err == nil && strings.HasSuffix(p, ".fid") && !strings.Contains(p, "test-write") {
					left++
				}
				return nil
			})
		}
		if left == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d replicas left on disk 15s after delete", left)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestSignedCreateCloseChecksPath: create_close compares the path without
// its signature, and still refuses another path.
func TestSignedCreateCloseChecksPath(t *testing.T) {
	_, addr := startTrackerWith(t, "DBI:SQLite:dbname="+filepath.Join(t.TempDir(), "mogilefs.db"), func(c *Config) {
		c.StorageSecret = signSecret
	})
	signed := func(h *stord.Handler) { h.RequireSignatures(signSecret, false) }
	n1 := startNodeWith(t, signed, 1)
	c := dial(t, addr)
	setup(t, c, n1)
	open := c.ok("create_open", map[string]string{"domain": "testdom", "key": "k"})
	put(t, open["path"], "x")
	other := strings.Replace(open["path"], ".fid", "1.fid", 1)
	if code := c.code("create_close", map[string]string{"domain": "testdom", "key": "k", "fid": open["fid"], "devid": open["devid"],
		"path": other, "size": "1"}); code != "bogus_args" {
		t.Errorf("create_close with another path = %s, want bogus_args", code)
	}
	c.ok("create_close", map[string]string{"domain": "testdom", "key": "k", "fid": open["fid"], "devid": open["devid"],
		"path": nodeproto.Unsigned(open["path"]), "size": "1"})
}

func TestSignedConfig(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		ok   bool
		ttl  time.Duration
	}{
		{"off", nil, true, time.Hour},
		{"on", []string{"--storage_secret=" + string(signSecret), "--storage_url_ttl=600"}, true, 10 * time.Minute},
		{"short secret", []string{"--storage_secret=short"}, false, 0},
		{"zero ttl", []string{"--storage_secret=" + string(signSecret), "--storage_url_ttl=0"}, false, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			set := config.New("trackerd", Settings)
			if _, err := set.Parse(tc.args); err != nil {
				t.Fatal(err)
			}
			cfg, err := ConfigFromSet(set)
			if (err == nil) != tc.ok || (err != nil && !errors.Is(err, ErrBadConfig)) {
				t.Fatalf("ConfigFromSet(%v) = %v, want ok %v", tc.args, err, tc.ok)
			}
			if tc.ok && cfg.StorageURLTTL != tc.ttl {
				t.Errorf("StorageURLTTL = %v, want %v", cfg.StorageURLTTL, tc.ttl)
			}
		})
	}
}

// send sends one request with the given headers and returns its status.
func send(tb testing.TB, method, url, body string, hdr ...string) int {
	tb.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		tb.Fatal(err)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		tb.Fatalf("%s %s: %v", method, url, err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

// get returns the body of a GET of url, or "" after a failure.
func get(tb testing.TB, url string) string {
	tb.Helper()
	resp, err := http.Get(url)
	if err != nil {
		tb.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		return ""
	}
	return string(b)
}
