package integration

import (
	"bytes"
	"errors"
	"io"
	"net"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"mogfs/client"
	"mogfs/protocol"
)

func TestClientStoreFetch(t *testing.T) {
	c := StartCluster(t, ClusterOpts{})
	cl := c.Client(t)
	ctx := t.Context()
	dom, class := c.Opts.Domain, c.Opts.Class

	data := randomBytes(t, 200<<10)
	fid, err := cl.StoreReaderAt(ctx, dom, "/c/at", class, bytes.NewReader(data), int64(len(data)))
	if err != nil || fid <= 0 {
		t.Fatalf("StoreReaderAt = %d, %v", fid, err)
	}
	// Streaming Store with a known size and with an unknown one.
	small := []byte("streamed body")
	if _, err := cl.Store(ctx, dom, "/c/stream", class, io.MultiReader(bytes.NewReader(small)), int64(len(small))); err != nil {
		t.Fatalf("Store(size known) = %v", err)
	}
	if _, err := cl.Store(ctx, dom, "/c/unknown", "", io.MultiReader(bytes.NewReader(data)), -1); err != nil {
		t.Fatalf("Store(size unknown) = %v", err)
	}
	if _, err := cl.Store(ctx, dom, "/c/empty", class, bytes.NewReader(nil), 0); err != nil {
		t.Fatalf("Store(empty) = %v", err)
	}

	for key, want := range map[string][]byte{"/c/at": data, "/c/stream": small, "/c/unknown": data, "/c/empty": {}} {
		var buf bytes.Buffer
		n, err := cl.Fetch(ctx, dom, key, &buf)
		if err != nil || n != int64(len(want)) || !bytes.Equal(buf.Bytes(), want) {
			t.Errorf("Fetch(%s) = %d, %v; want %d identical bytes", key, n, err, len(want))
		}
	}

	fi, err := cl.FileInfo(ctx, dom, "/c/at")
	if err != nil || fi.FID != fid || fi.Length != int64(len(data)) || fi.Class != class || fi.Key != "/c/at" || len(fi.DevIDs) < 1 {
		t.Errorf("FileInfo = %+v, %v", fi, err)
	}

	// Ranged reads.
	paths, err := cl.GetPaths(ctx, dom, "/c/at", false, 0)
	if err != nil || len(paths) == 0 {
		t.Fatalf("GetPaths = %q, %v", paths, err)
	}
	for _, tc := range []struct {
		off, n int64
		want   []byte
	}{
		{0, 10, data[:10]},
		{1000, 5000, data[1000:6000]},
		{int64(len(data)) - 3, 10, data[len(data)-3:]},
		{int64(len(data)), 10, nil},
		{int64(len(data)) + 100, 10, nil},
		{5, 0, data[5:]},
	} {
		rc, err := cl.ReadRange(ctx, paths[0], tc.off, tc.n)
		if err != nil {
			t.Errorf("ReadRange(%d, %d) = %v", tc.off, tc.n, err)
			continue
		}
		got, err := io.ReadAll(rc)
		rc.Close()
		if err != nil || !bytes.Equal(got, tc.want) {
			t.Errorf("ReadRange(%d, %d) read %d bytes, %v; want %d", tc.off, tc.n, len(got), err, len(tc.want))
		}
	}

	// Paging through list_keys.
	var all []string
	after := ""
	for {
		keys, next, err := cl.ListKeys(ctx, dom, "/c/", after, 2)
		if err != nil {
			t.Fatalf("ListKeys = %v", err)
		}
		if keys == nil {
			break
		}
		all = append(all, keys...)
		after = next
	}
	if want := []string{"/c/at", "/c/empty", "/c/stream", "/c/unknown"}; !slices.Equal(all, want) {
		t.Errorf("ListKeys pages = %q, want %q", all, want)
	}

	if err := cl.Rename(ctx, dom, "/c/stream", "/c/renamed"); err != nil {
		t.Errorf("Rename = %v", err)
	}
	if err := cl.Rename(ctx, dom, "/c/renamed", "/c/at"); !protocol.IsCode(err, "key_exists") {
		t.Errorf("Rename onto an existing key = %v, want key_exists", err)
	}
	if err := cl.UpdateClass(ctx, dom, "/c/renamed", "default"); err != nil {
		t.Errorf("UpdateClass = %v", err)
	}
	if err := cl.Delete(ctx, dom, "/c/renamed"); err != nil {
		t.Errorf("Delete = %v", err)
	}
	if err := cl.Delete(ctx, dom, "/c/renamed"); !protocol.IsCode(err, "unknown_key") {
		t.Errorf("second Delete = %v, want unknown_key", err)
	}
	if _, err := cl.Fetch(ctx, dom, "/c/renamed", io.Discard); !protocol.IsCode(err, "unknown_key") {
		t.Errorf("Fetch(deleted) = %v, want unknown_key", err)
	}
	if _, err := cl.CreateOpen(ctx, "nosuchdom", "k", "", 1); !protocol.IsCode(err, "unreg_domain") {
		t.Errorf("CreateOpen(unknown domain) = %v, want unreg_domain", err)
	}
	if _, err := cl.CreateOpen(ctx, dom, "k", "nosuch", 1); !protocol.IsCode(err, "unreg_class") {
		t.Errorf("CreateOpen(unknown class) = %v, want unreg_class", err)
	}
}

func TestClientExtension(t *testing.T) {
	c := StartCluster(t, ClusterOpts{})
	cl := c.Client(t)
	ctx := t.Context()
	dom := c.Opts.Domain
	for _, k := range []string{"d/a.txt", "d/b.txt", "d/sub/x", "d/sub/y/z", "top"} {
		if _, err := cl.Store(ctx, dom, k, "", strings.NewReader(k), int64(len(k))); err != nil {
			t.Fatal(err)
		}
	}
	mt := time.Unix(1700000000, 123456789)
	if err := cl.SetAttr(ctx, dom, "d/a.txt", client.Attr{Mode: 0o100640, UID: 7, GID: 8, MTime: mt}); err != nil {
		t.Fatalf("SetAttr = %v", err)
	}
	if err := cl.SetAttr(ctx, dom, "d/emptydir", client.Attr{IsDir: true, Mode: 0o40755}); err != nil {
		t.Fatalf("SetAttr(dir) = %v", err)
	}
	a, err := cl.GetAttr(ctx, dom, "d/a.txt")
	if err != nil || a.Mode != 0o100640 || a.UID != 7 || a.GID != 8 || !a.MTime.Equal(mt) || a.IsDir {
		t.Errorf("GetAttr = %+v, %v", a, err)
	}
	if _, err := cl.GetAttr(ctx, dom, "d/b.txt"); !protocol.IsCode(err, "unknown_key") {
		t.Errorf("GetAttr(no attrs) = %v, want unknown_key", err)
	}

	var names []string
	after := ""
	for {
		es, next, done, err := cl.List(ctx, dom, "d/", after, 2)
		if err != nil {
			t.Fatalf("List = %v", err)
		}
		for _, e := range es {
			names = append(names, e.Name+":"+e.Type)
			if e.Name == "a.txt" && (e.Attr == nil || e.Attr.UID != 7 || e.Length != 7) {
				t.Errorf("List entry a.txt = %+v", e)
			}
		}
		if done {
			break
		}
		after = next
	}
	if want := []string{"a.txt:file", "b.txt:file", "emptydir:dir", "sub:dir"}; !slices.Equal(names, want) {
		t.Errorf("List(d/) = %q, want %q", names, want)
	}

	if _, err := cl.RenameAttrs(ctx, dom, "d", "e"); err != nil {
		t.Errorf("RenameAttrs = %v", err)
	}
	if _, err := cl.GetAttr(ctx, dom, "e/a.txt"); err != nil {
		t.Errorf("GetAttr after RenameAttrs = %v", err)
	}
	if err := cl.DeleteAttr(ctx, dom, "e/a.txt"); err != nil {
		t.Errorf("DeleteAttr = %v", err)
	}
	if err := cl.DeleteAttr(ctx, dom, "e/a.txt"); err != nil {
		t.Errorf("DeleteAttr(absent) = %v", err)
	}
	st, err := cl.Stats(ctx)
	if err != nil || st["queue_replicate"] == "" {
		t.Errorf("Stats = %v, %v", st, err)
	}
}

// TestClientFetchFallsBack stops the node holding the first path of a
// replicated file: Fetch must read the other replica.
func TestClientFetchFallsBack(t *testing.T) {
	c := StartCluster(t, ClusterOpts{})
	cl := c.Client(t)
	ctx := t.Context()
	dom, class := c.Opts.Domain, c.Opts.Class
	data := randomBytes(t, 64<<10)
	if _, err := cl.Store(ctx, dom, "/fb", class, bytes.NewReader(data), int64(len(data))); err != nil {
		t.Fatal(err)
	}
	var paths []string
	deadline := time.Now().Add(20 * time.Second)
	for {
		var err error
		paths, err = cl.GetPaths(ctx, dom, "/fb", true, 0)
		if err == nil && len(paths) >= 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("file not replicated to 2 devices after 20s: %q, %v", paths, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	// Stop the node behind every path but the last one.
	for i, n := range c.Nodes {
		if strings.Contains(paths[0], "//"+n.HTTP+"/") {
			c.StopNode(t, i)
		}
	}
	var buf bytes.Buffer
	if _, err := cl.Fetch(ctx, dom, "/fb", &buf); err != nil || !bytes.Equal(buf.Bytes(), data) {
		t.Fatalf("Fetch with the first replica's node down = %v (%d bytes)", err, buf.Len())
	}
}

// TestClientTrackerFailover: a refused first tracker, then a killed one.
func TestClientTrackerFailover(t *testing.T) {
	c := StartCluster(t, ClusterOpts{})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	refused := ln.Addr().String()
	ln.Close()
	second := c.StartTracker(t)
	cl, err := client.New(client.Config{Trackers: []string{refused, c.Trackers[0], second}, Timeout: 3 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx := t.Context()
	if _, err := cl.Store(ctx, c.Opts.Domain, "/fo/1", "", strings.NewReader("one"), 3); err != nil {
		t.Fatalf("Store with the first tracker refused = %v", err)
	}
	c.StopTracker(t, 0) // its pooled connections break
	for i := range 5 {
		key := "/fo/x" + strconv.Itoa(i)
		if _, err := cl.Store(ctx, c.Opts.Domain, key, "", strings.NewReader("x"), 1); err != nil {
			t.Fatalf("Store after the tracker was killed = %v", err)
		}
	}
	var buf bytes.Buffer
	if _, err := cl.Fetch(ctx, c.Opts.Domain, "/fo/1", &buf); err != nil || buf.String() != "one" {
		t.Errorf("Fetch = %q, %v", buf.String(), err)
	}
	bad, _ := client.New(client.Config{Trackers: []string{refused}})
	defer bad.Close()
	if _, err := bad.Do(ctx, "noop", nil); !errors.Is(err, client.ErrNoTrackers) {
		t.Errorf("Do with no tracker up = %v, want ErrNoTrackers", err)
	}
}
