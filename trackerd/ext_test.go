package trackerd

import (
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"mogfs/protocol"
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
	keys := []string{"a.txt", "big/", "big/x", "foo", "foo.txt", "foo/bar", "zz"}
	for i := range 3000 {
		keys = append(keys, fmt.Sprintf("big/sub/%05d", i))
	}
	insertKeys(t, tr, dmid, keys)
	c.ok("mogfs_setattr", args{"domain": "testdom", "path": "empty", "isdir": "1", "mode": "40755"})
	c.ok("mogfs_setattr", args{"domain": "testdom", "path": "emptier/deep", "isdir": "1", "mode": "40755"})
	c.ok("mogfs_setattr", args{"domain": "testdom", "path": "foo.txt", "mode": "120777", "target": "a.txt"})

	// Key order: a directory sorts as "name/". Key "foo" shadows the keys
	// under "foo/": the name is listed once, as the file a lookup finds.
	want := []string{"a.txt:file", "big:dir", "emptier:dir", "empty:dir", "foo:file", "foo.txt:symlink", "zz:file"}
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
	// The key "big/" itself is the directory's empty-named file.
	if res["count"] != "3" || res["e1_name"] != "" || res["e1_type"] != "file" || res["e2_name"] != "sub" || res["e3_name"] != "x" || res["e3_fid"] == "" {
		t.Errorf("list big/ = %v", res)
	}
	start := time.Now()
	res = c.ok("mogfs_list", args{"domain": "testdom", "prefix": "big/sub/", "limit": "10000"})
	if res["count"] != "3000" || res["done"] != "1" {
		t.Errorf("list big/sub/ count = %s done = %s", res["count"], res["done"])
	}
	t.Logf("listing 3000 files took %v", time.Since(start))
}

// TestMogfsLookup: one name in a directory of 20,000 entries, present as a
// file, a key prefix, an explicit directory (empty or with only explicit
// directories below) or absent, is answered with a few point queries: the
// same count as in an empty directory.
func TestMogfsLookup(t *testing.T) {
	tr, addr := startTracker(t)
	c := dial(t, addr)
	c.ok("create_domain", args{"domain": "testdom"})
	dmid := tr.ns.snap().domains["testdom"].ID
	var keys []string
	for i := range 10000 {
		keys = append(keys, fmt.Sprintf("big/f%05d", i), fmt.Sprintf("big/d%05d/x", i))
	}
	keys = append(keys, "small/f", "small/d/x")
	insertKeys(t, tr, dmid, keys)
	for _, dir := range []string{"big", "small"} {
		c.ok("mogfs_setattr", args{"domain": "testdom", "path": dir + "/empty", "isdir": "1", "mode": "40700"})
		c.ok("mogfs_setattr", args{"domain": "testdom", "path": dir + "/nested/deep", "isdir": "1", "mode": "40700"})
	}
	cases := []struct{ small, big, want string }{
		{"f", "f00042", "file"}, {"d", "d00042", "dir"}, {"empty", "empty", "dir"},
		{"nested", "nested", "dir"}, {"missing", "missing", ""}, {"f0", "f0004", ""},
	}
	for _, tc := range cases {
		var cost [2]int64
		for i, dir := range []string{"small/", "big/"} {
			name := tc.small
			if i == 1 {
				name = tc.big
			}
			q0 := tr.store.Queries()
			res, err := c.do("mogfs_lookup", args{"domain": "testdom", "dir": dir, "name": name})
			cost[i] = tr.store.Queries() - q0
			switch {
			case tc.want == "" && protocol.IsCode(err, "unknown_key"):
			case err != nil:
				t.Fatalf("lookup %s%s: %v", dir, name, err)
			case res["type"] != tc.want || res["name"] != name:
				t.Errorf("lookup %s%s = %v, want type %s", dir, name, res, tc.want)
			case tc.want == "file" && res["fid"] == "":
				t.Errorf("lookup %s%s carries no fid: %v", dir, name, res)
			}
			if cost[i] > 4 {
				t.Errorf("lookup %s%s ran %d queries, want at most 4", dir, name, cost[i])
			}
		}
		if cost[0] != cost[1] {
			t.Errorf("lookup of %s costs %d queries among 20,000 entries, %d among 4", tc.big, cost[1], cost[0])
		}
	}
	if code := c.code("mogfs_lookup", args{"domain": "testdom", "dir": "big/", "name": "a/b"}); code != "bad_params" {
		t.Errorf("lookup of a name with / = %s, want bad_params", code)
	}
}

// insertKeys stores file rows directly (tempfile + close with a fake devid).
func insertKeys(tb testing.TB, tr *Tracker, dmid int, keys []string) {
	tb.Helper()
	// One transaction of raw inserts: a create_open/close pair per key
	// would cost two fsyncs each with synchronous=FULL.
	ctx := tb.Context()
	db := tr.store.DB()
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		tb.Fatal(err)
	}
	defer tx.Rollback()
	var fid int64
	if err := tx.QueryRowContext(ctx, "SELECT COALESCE(MAX(fid),0) FROM file").Scan(&fid); err != nil {
		tb.Fatal(err)
	}
	for _, k := range keys {
		fid++
		if _, err := tx.ExecContext(ctx, "INSERT INTO file (fid, dmid, dkey, length, classid, devcount) VALUES (?, ?, ?, 1, 0, 1)", fid, dmid, k); err != nil {
			tb.Fatal(err)
		}
		if _, err := tx.ExecContext(ctx, "INSERT INTO file_on (fid, devid) VALUES (?, 1)", fid); err != nil {
			tb.Fatal(err)
		}
	}
	if err := tx.Commit(); err != nil {
		tb.Fatal(err)
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

// TestCreateCloseAttrs: attr_* arguments of create_close land in mogfs_attr
// with the file; a bad one fails the close without storing the file; and
// mogfs_caps advertises the extension.
func TestCreateCloseAttrs(t *testing.T) {
	_, addr := startTracker(t)
	c := dial(t, addr)
	setup(t, c, startNode(t, 1))
	caps := c.ok("mogfs_caps", nil)
	for _, k := range []string{"create_close_attrs", "list", "attrs"} {
		if caps[k] != "1" {
			t.Errorf("mogfs_caps[%s] = %q, want 1 (%v)", k, caps[k], caps)
		}
	}
	open := func(key string) map[string]string {
		res := c.ok("create_open", args{"domain": "testdom", "key": key, "fid": "0"})
		put(t, res["path"], "abc")
		return res
	}
	res := open("/a/f")
	c.ok("create_close", args{"domain": "testdom", "key": "/a/f", "fid": res["fid"], "devid": res["devid"], "path": res["path"],
		"size": "3", "attr_mode": "100640", "attr_uid": "1000", "attr_gid": "100",
		"attr_mtime": "1700000000.5", "attr_ctime": "1700000001", "attr_atime": "1700000002"})
	got := c.ok("mogfs_getattr", args{"domain": "testdom", "path": "/a/f"})
	want := args{"isdir": "0", "mode": "100640", "uid": "1000", "gid": "100", "mtime": "1700000000.500000000", "ctime": "1700000001", "atime": "1700000002"}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("getattr[%s] = %q, want %q", k, got[k], v)
		}
	}
	c.ok("get_paths", args{"domain": "testdom", "key": "/a/f", "noverify": "1"})

	// Without attr_* nothing is written.
	res = open("/a/plain")
	c.ok("create_close", args{"domain": "testdom", "key": "/a/plain", "fid": res["fid"], "devid": res["devid"], "path": res["path"], "size": "3"})
	if code := c.code("mogfs_getattr", args{"domain": "testdom", "path": "/a/plain"}); code != "unknown_key" {
		t.Errorf("getattr of a file closed without attrs = %s, want unknown_key", code)
	}

	// A malformed attribute fails the close; the key does not appear.
	res = open("/a/bad")
	if code := c.code("create_close", args{"domain": "testdom", "key": "/a/bad", "fid": res["fid"], "devid": res["devid"], "path": res["path"],
		"size": "3", "attr_mode": "rwx"}); code != "bad_params" {
		t.Errorf("create_close with attr_mode=rwx = %s, want bad_params", code)
	}
	if code := c.code("get_paths", args{"domain": "testdom", "key": "/a/bad"}); code != "unknown_key" {
		t.Errorf("get_paths after a failed close = %s, want unknown_key", code)
	}
}

// TestGetPathsCacheInvalidation: this tracker's own delete, rename and
// overwrite show at once through the get_paths cache.
func TestGetPathsCacheInvalidation(t *testing.T) {
	_, addr := startTracker(t)
	c := dial(t, addr)
	setup(t, c, startNode(t, 1))
	gp := func(key string) (map[string]string, error) {
		return c.do("get_paths", args{"domain": "testdom", "key": key, "noverify": "1"})
	}
	fid1 := store(t, c, "/k", "", "one")
	p1, err := gp("/k")
	if err != nil || !strings.Contains(p1["path1"], fid1Path(fid1)) {
		t.Fatalf("get_paths /k = %v, %v; want a path of fid %s", p1, err, fid1)
	}
	fid2 := store(t, c, "/k", "", "two") // overwrite: new fid
	if p, _ := gp("/k"); !strings.Contains(p["path1"], fid1Path(fid2)) {
		t.Errorf("get_paths after overwrite = %v, want fid %s", p, fid2)
	}
	c.ok("rename", args{"domain": "testdom", "from_key": "/k", "to_key": "/k2"})
	if _, err := gp("/k"); err == nil {
		t.Error("get_paths of a renamed-away key succeeded")
	}
	if p, err := gp("/k2"); err != nil || !strings.Contains(p["path1"], fid1Path(fid2)) {
		t.Errorf("get_paths /k2 = %v, %v", p, err)
	}
	c.ok("delete", args{"domain": "testdom", "key": "/k2"})
	if _, err := gp("/k2"); err == nil {
		t.Error("get_paths of a deleted key succeeded")
	}
}

// fid1Path is the file name part of a fid's path ("/0000000123.fid").
func fid1Path(fid string) string {
	n, _ := strconv.ParseInt(fid, 10, 64)
	return fmt.Sprintf("/%010d.fid", n)
}
