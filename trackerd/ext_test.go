package trackerd

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestMogfsAttrs(t *testing.T) {
	_, addr := startTracker(t)
	c := dial(t, addr)
	c.ok("create_domain", args{"domain": "testdom"})
	c.ok("mogfs_setattr", args{"domain": "testdom", "path": "d", "isdir": "1", "mode": "40755", "uid": "1", "gid": "2", "mtime": "1700000000.123456789"})
	c.ok("mogfs_setattr", args{"domain": "testdom", "path": "d", "uid": "7"}) // others kept
	got := c.ok("mogfs_getattr", args{"domain": "testdom", "path": "d"})
	want := args{"isdir": "1", "mode": "40755", "uid": "7", "gid": "2", "mtime": "1700000000.123456789", "target": ""}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("getattr[%s] = %q, want %q", k, got[k], v)
		}
	}
	c.ok("mogfs_setattr", args{"domain": "testdom", "path": "d/x", "mode": "100644"})
	c.ok("mogfs_renameattrs", args{"domain": "testdom", "from": "d", "to": "e"})
	if got := c.code("mogfs_getattr", args{"domain": "testdom", "path": "d/x"}); got != "unknown_key" {
		t.Errorf("getattr of a moved path = %s", got)
	}
	c.ok("mogfs_getattr", args{"domain": "testdom", "path": "e/x"})
	c.ok("mogfs_delattr", args{"domain": "testdom", "path": "e/x"})
	c.ok("mogfs_delattr", args{"domain": "testdom", "path": "e/x"})
}

// TestMogfsList checks delimiter listing, paging and the skip-scan over
// big sub-directories (keys are inserted straight into the store: the
// listing does not care whether replicas exist).
func TestMogfsList(t *testing.T) {
	tr, addr := startTracker(t)
	c := dial(t, addr)
	c.ok("create_domain", args{"domain": "testdom"})
	dmid := tr.ns.snap().domains["testdom"].ID
	keys := []string{"a.txt", "big/x", "foo", "foo.txt", "foo/bar", "zz"}
	for i := range 3000 {
		keys = append(keys, fmt.Sprintf("big/sub/%05d", i))
	}
	insertKeys(t, tr, dmid, keys)
	c.ok("mogfs_setattr", args{"domain": "testdom", "path": "empty", "isdir": "1", "mode": "40755"})
	c.ok("mogfs_setattr", args{"domain": "testdom", "path": "emptier/deep", "isdir": "1", "mode": "40755"})
	c.ok("mogfs_setattr", args{"domain": "testdom", "path": "foo.txt", "mode": "120777", "target": "a.txt"})

	// Key order: a directory sorts as "name/".
	want := []string{"a.txt:file", "big:dir", "emptier:dir", "empty:dir", "foo:file", "foo.txt:symlink", "foo:dir", "zz:file"}
	for _, limit := range []int{1, 2, 3, 100} {
		var got []string
		after := ""
		for page := 0; ; page++ {
			if page > 20 {
				t.Fatal("no end")
			}
			res := c.ok("mogfs_list", args{"domain": "testdom", "prefix": "", "after": after, "limit": fmt.Sprint(limit)})
			n := atoi(res["count"])
			for i := 1; i <= n; i++ {
				got = append(got, res[fmt.Sprintf("e%d_name", i)]+":"+res[fmt.Sprintf("e%d_type", i)])
			}
			if res["done"] == "1" {
				break
			}
			after = res["next_after"]
		}
		if strings.Join(got, " ") != strings.Join(want, " ") {
			t.Errorf("limit %d: listing = %v, want %v", limit, got, want)
		}
	}
	res := c.ok("mogfs_list", args{"domain": "testdom", "prefix": "big/"})
	if res["count"] != "2" || res["e1_name"] != "sub" || res["e2_name"] != "x" || res["e2_fid"] == "" {
		t.Errorf("list big/ = %v", res)
	}
	start := time.Now()
	res = c.ok("mogfs_list", args{"domain": "testdom", "prefix": "big/sub/", "limit": "10000"})
	if res["count"] != "3000" || res["done"] != "1" {
		t.Errorf("list big/sub/ count = %s done = %s", res["count"], res["done"])
	}
	t.Logf("listing 3000 files took %v", time.Since(start))
}

// insertKeys stores file rows directly (tempfile + close with a fake devid).
func insertKeys(tb testing.TB, tr *Tracker, dmid int, keys []string) {
	tb.Helper()
	ctx := tb.Context()
	for _, k := range keys {
		fid, err := tr.store.RegisterTempFile(ctx, tempFile(dmid, k))
		if err != nil {
			tb.Fatal(err)
		}
		if _, err := tr.store.CloseFile(ctx, closeArgs(fid, dmid, k)); err != nil {
			tb.Fatal(err)
		}
	}
}

// TestSecondTrackerSharesDB: a tracker on the same database sees domains
// created through another within the cache refresh period.
func TestSecondTrackerSharesDB(t *testing.T) {
	dsn := "DBI:SQLite:dbname=" + filepath.Join(t.TempDir(), "shared.db")
	_, a1 := startTrackerDSN(t, dsn)
	_, a2 := startTrackerDSN(t, dsn)
	c1, c2 := dial(t, a1), dial(t, a2)
	c1.ok("create_domain", args{"domain": "shared"})
	deadline := time.Now().Add(5 * time.Second)
	for {
		if _, err := c2.do("list_fids", nil); err != nil {
			t.Fatal(err)
		}
		res, err := c2.do("get_paths", args{"domain": "shared", "key": "k"})
		if err != nil && strings.Contains(err.Error(), "unknown_key") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("second tracker still answers %v %v", res, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
