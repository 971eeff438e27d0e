package vfs

import (
	"bytes"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	_ "github.com/mattn/go-sqlite3" // the tracker's database, seeded directly

	"mogfs/cache"
	"mogfs/client"
	"mogfs/internal/stordtest"
	"mogfs/trackerd"
)

// These tests run the namespace semantics against a real tracker (in this
// process, on SQLite) and a real storage node, without /dev/fuse, and count
// the tracker requests each operation costs with the client's counters.

func TestMain(m *testing.M) {
	code := m.Run()
	stordtest.Cleanup()
	os.Exit(code)
}

// env is a tracker with one storage node, a domain and an FS over it.
type env struct {
	fs     *FS
	c      *client.Client
	db     *sql.DB // the tracker's database, for keys "written by others"
	domain string
	dmid   int
	fid    int64
	node   *stordtest.Node
}

func newEnv(t *testing.T) *env {
	t.Helper()
	ctx := t.Context()
	node := stordtest.Start(t, 1)
	dbPath := filepath.Join(t.TempDir(), "mogilefs.db")
	tr, err := trackerd.Start(ctx, trackerd.Config{
		Listen: []string{"127.0.0.1:0"}, DSN: "DBI:SQLite:dbname=" + dbPath,
		MonitorInterval: 100 * time.Millisecond, StreamPort: -1, CacheRefresh: 200 * time.Millisecond,
		Logger: slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn})),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tr.Close() })
	c, err := client.New(client.Config{Trackers: tr.Addrs()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	e := &env{c: c, domain: "ns", node: node}
	must(t, c.CreateDomain(ctx, e.domain))
	_, err = c.CreateHost(ctx, "n1", client.HostOpts{IP: node.IP, Status: "alive"})
	must(t, err)
	must(t, c.CreateDevice(ctx, "n1", 1, "alive"))
	e.fs = New(Config{Client: c, Options: Options{CacheDir: t.TempDir(), BlockSize: 1 << 20}})
	e.db, err = sql.Open("sqlite3", "file:"+dbPath+"?_busy_timeout=10000&_txlock=immediate")
	must(t, err)
	t.Cleanup(func() { e.db.Close() })
	must(t, e.db.QueryRowContext(ctx, "SELECT dmid FROM domain WHERE namespace = ?", e.domain).Scan(&e.dmid))
	e.fid = 1 << 40 // far above the tracker's own fids
	return e
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// seed stores file rows straight into the database, as another tracker
// (the original Perl one, say) sharing it would: the tracker serving the
// mount never sees them being written.
func (e *env) seed(t *testing.T, keys []string) {
	t.Helper()
	ctx := t.Context()
	tx, err := e.db.BeginTx(ctx, nil)
	must(t, err)
	defer tx.Rollback()
	for _, k := range keys {
		e.fid++
		_, err := tx.ExecContext(ctx, "INSERT INTO file (fid, dmid, dkey, length, classid, devcount) VALUES (?, ?, ?, 7, 0, 1)", e.fid, e.dmid, k)
		must(t, err)
	}
	must(t, tx.Commit())
}

// requests runs fn and returns the tracker requests it sent, by command.
func (e *env) requests(fn func()) map[string]int64 {
	before := e.c.Requests()
	fn()
	out := map[string]int64{}
	for k, v := range e.c.Requests() {
		if d := v - before[k]; d != 0 {
			out[k] = d
		}
	}
	return out
}

func total(m map[string]int64) (n int64) {
	for _, v := range m {
		n += v
	}
	return n
}

// bigDir fills dir "big/" with 20,000 files, 2,000 key prefixes of three
// keys each and 500 explicit (mkdir'ed) directories, and dir "small/" with
// one of each; it returns the names of big/ in listing order.
func (e *env) bigDir(t *testing.T) []string {
	t.Helper()
	ctx := t.Context()
	var keys, names []string
	for i := range 20000 {
		keys = append(keys, fmt.Sprintf("big/f%05d", i))
		names = append(names, fmt.Sprintf("f%05d", i))
	}
	for i := range 2000 {
		for j := range 3 {
			keys = append(keys, fmt.Sprintf("big/p%04d/k%d", i, j))
		}
		names = append(names, fmt.Sprintf("p%04d/", i))
	}
	keys = append(keys, "small/f", "small/p/k")
	e.seed(t, keys)
	for i := range 500 {
		_, err := e.fs.Mkdir(ctx, e.domain, fmt.Sprintf("big/m%03d/", i), 0o755, 0, 0)
		must(t, err)
		names = append(names, fmt.Sprintf("m%03d/", i))
	}
	_, err := e.fs.Mkdir(ctx, e.domain, "small/m/", 0o755, 0, 0)
	must(t, err)
	slices.Sort(names)
	return names
}

// TestLookupCostsOneRequest: a lookup of a file, a key prefix, an explicit
// directory or a missing name is one tracker request, in a directory of
// 22,500 entries as in one of three.
func TestLookupCostsOneRequest(t *testing.T) {
	e := newEnv(t)
	e.bigDir(t)
	ctx := t.Context()
	for _, tc := range []struct {
		dir, seg string
		kind     Kind
		missing  bool
	}{
		{"small/", "f", KindFile, false}, {"big/", "f12345", KindFile, false},
		{"small/", "p", KindDir, false}, {"big/", "p1234", KindDir, false},
		{"small/", "m", KindDir, false}, {"big/", "m123", KindDir, false},
		{"small/", "nope", 0, true}, {"big/", "f123456", 0, true}, {"big/", "p12", 0, true},
	} {
		var st Stat
		var err error
		n := e.requests(func() { st, err = e.fs.Lookup(ctx, e.domain, tc.dir, tc.seg) })
		switch {
		case tc.missing && !errors.Is(err, ErrNotFound):
			t.Errorf("Lookup(%s%s) = %+v, %v; want ErrNotFound", tc.dir, tc.seg, st, err)
		case !tc.missing && (err != nil || st.Kind != tc.kind):
			t.Errorf("Lookup(%s%s) = %+v, %v; want kind %d", tc.dir, tc.seg, st, err, tc.kind)
		}
		if !tc.missing && tc.kind == KindFile && st.Length != 7 {
			t.Errorf("Lookup(%s%s).Length = %d, want 7 (the seeded row)", tc.dir, tc.seg, st.Length)
		}
		if total(n) != 1 || n["mogfs_lookup"] != 1 {
			t.Errorf("Lookup(%s%s) sent %v, want one mogfs_lookup", tc.dir, tc.seg, n)
		}
	}
}

// TestDirReaderPages: listing 22,500 entries is one mogfs_list request per
// page of 1,000, complete and in order, holding one page; a lookup of each
// name just listed (READDIRPLUS) costs no request.
func TestDirReaderPages(t *testing.T) {
	e := newEnv(t)
	want := e.bigDir(t)
	ctx := t.Context()
	r := e.fs.OpenDir(e.domain, "big/", nil)
	var got []string
	var lookups int
	n := e.requests(func() {
		for {
			ent, off, ok, err := r.Next(ctx)
			must(t, err)
			if !ok {
				break
			}
			if off != uint64(len(got)+1) {
				t.Fatalf("entry %d has offset %d", len(got), off)
			}
			pos := ent.Seg
			if ent.St.Kind == KindDir {
				pos += "/"
			}
			got = append(got, pos)
			if le, ok := r.Lookup(NameOf(ent.Seg)); ok && le.Seg == ent.Seg {
				lookups++
			}
			if len(r.page) > DirPage {
				t.Fatalf("reader holds %d entries", len(r.page))
			}
		}
	})
	if !slices.Equal(got, want) {
		t.Fatalf("listing has %d entries, want %d", len(got), len(want))
	}
	if lookups != len(want) {
		t.Errorf("%d of %d names answered from the page", lookups, len(want))
	}
	pages := int64((len(want) + DirPage - 1) / DirPage)
	if total(n) != n["mogfs_list"] || n["mogfs_list"] > pages+1 {
		t.Errorf("listing sent %v, want at most %d mogfs_list", n, pages+1)
	}
	// Seek back into the current page is free; to the start re-reads.
	must(t, r.Seek(ctx, uint64(len(want)-1)))
	if ent, _, ok, _ := r.Next(ctx); !ok || NameOf(ent.Seg) != strings.TrimSuffix(want[len(want)-1], "/") {
		t.Errorf("after Seek to the last entry: %+v, %v", ent, ok)
	}
	must(t, r.Seek(ctx, 0))
	if ent, _, ok, _ := r.Next(ctx); !ok || ent.Seg != "f00000" {
		t.Errorf("after Seek(0): %+v, %v", ent, ok)
	}
}

// TestRmdirAndRenameCheckEmptinessCheaply: rmdir of a big directory is
// refused after one one-entry listing; rmdir and rename of empty ones work.
func TestRmdirAndRenameCheckEmptinessCheaply(t *testing.T) {
	e := newEnv(t)
	e.bigDir(t)
	ctx := t.Context()
	var err error
	n := e.requests(func() { err = e.fs.Rmdir(ctx, e.domain, "big/") })
	if !errors.Is(err, ErrNotEmpty) || n["mogfs_list"] != 1 || total(n) != 1 {
		t.Errorf("Rmdir(big/) = %v after %v, want ErrNotEmpty after one mogfs_list", err, n)
	}
	_, err = e.fs.Mkdir(ctx, e.domain, "big/m000/x/", 0o755, 0, 0)
	must(t, err)
	if err := e.fs.Rmdir(ctx, e.domain, "big/m000/"); !errors.Is(err, ErrNotEmpty) {
		t.Errorf("Rmdir of a directory holding an explicit directory = %v", err)
	}
	must(t, e.fs.RenameDir(ctx, e.domain, "big/m001/", "big/renamed/", 0))
	if _, err := e.fs.Lookup(ctx, e.domain, "big/", "m001"); !errors.Is(err, ErrNotFound) {
		t.Errorf("old name after rename: %v", err)
	}
	must(t, e.fs.Rmdir(ctx, e.domain, "big/renamed/"))
	if _, err := e.fs.Lookup(ctx, e.domain, "big/", "renamed"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Lookup after rmdir: %v", err)
	}
}

// TestStoredFilesListAndRead: files written through the FS (real PUTs to
// the storage node) and by another writer appear in listings and lookups
// with their sizes; a file created and not stored yet is listed from the
// pending list, once.
func TestStoredFilesListAndRead(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	body := []byte("hello, mogfs\n")
	if _, err := e.fs.Store(e.domain, "d/hello")(ctx, bytes.NewReader(body), int64(len(body))); err != nil {
		t.Fatal(err)
	}
	e.seed(t, []string{"d/other"})
	pending := []Entry{{Seg: "new", St: Stat{Kind: KindFile}}, {Seg: "hello", St: Stat{Kind: KindFile}}}
	r := e.fs.OpenDir(e.domain, "d/", pending)
	var names []string
	sizes := map[string]int64{}
	for {
		ent, _, ok, err := r.Next(ctx)
		must(t, err)
		if !ok {
			break
		}
		names = append(names, ent.Seg)
		sizes[ent.Seg] = ent.St.Length
	}
	if !slices.Equal(names, []string{"hello", "other", "new"}) || sizes["hello"] != int64(len(body)) || sizes["other"] != 7 {
		t.Errorf("listing = %q, sizes %v", names, sizes)
	}
	var buf bytes.Buffer
	must(t, e.fs.Load(e.domain, "d/hello")(ctx, &buf))
	if !bytes.Equal(buf.Bytes(), body) {
		t.Errorf("read back %q", buf.Bytes())
	}
}

// TestLongNameLookupIsBounded: a key segment too long for a file name is
// found by its long name without listing the whole directory.
func TestLongNameLookupIsBounded(t *testing.T) {
	e := newEnv(t)
	e.bigDir(t)
	ctx := t.Context()
	long := strings.Repeat("x", 300)
	e.seed(t, []string{"big/" + long, "big/" + long + "y"})
	var seg string
	var err error
	n := e.requests(func() { seg, err = e.fs.ResolveName(ctx, e.domain, "big/", LongName(long)) })
	if err != nil || seg != long {
		t.Fatalf("ResolveName(long) = %q, %v", seg, err)
	}
	if n["mogfs_list"] != 1 || total(n) != 1 {
		t.Errorf("ResolveName(long) sent %v, want one mogfs_list", n)
	}
	if _, err := e.fs.ResolveName(ctx, e.domain, "big/", LongName(strings.Repeat("z", 300))); !errors.Is(err, ErrNotFound) {
		t.Errorf("ResolveName of a missing long name = %v", err)
	}
}

// TestOpenReadCostsOneRequest: opening a file the mount has looked up and
// reading it costs one get_paths and the GET, nothing else; a file
// replaced since is noticed and read afresh.
func TestOpenReadCostsOneRequest(t *testing.T) {
	e := newEnv(t)
	e.fs.cache, _ = cache.New(cache.Config{MaxBytes: 8 << 20, BlockSize: 1 << 20})
	ctx := t.Context()
	body := bytes.Repeat([]byte("4k"), 2048)
	if _, err := e.fs.Store(e.domain, "d/small")(ctx, bytes.NewReader(body), int64(len(body))); err != nil {
		t.Fatal(err)
	}
	st, err := e.fs.Lookup(ctx, e.domain, "d/", "small")
	must(t, err)
	var paths []string
	var got Stat
	n := e.requests(func() { got, paths, err = e.fs.OpenRead(ctx, e.domain, "d/small", st) })
	must(t, err)
	if total(n) != 1 || n["get_paths"] != 1 || got.FID != st.FID || got.Length != int64(len(body)) {
		t.Errorf("OpenRead sent %v and gave %+v, want one get_paths and fid %d", n, got, st.FID)
	}
	r := e.fs.NewReader(e.domain, "d/small", got.FID, got.Length)
	defer r.Close()
	r.SeedPaths(paths)
	buf := make([]byte, len(body)+10)
	var read int
	n = e.requests(func() { read, err = r.ReadAt(ctx, buf, 0) })
	if !bytes.Equal(buf[:read], body) || total(n) != 0 {
		t.Errorf("read %d bytes (%v) with %v tracker requests, want the body and none", read, err, n)
	}
	// Replaced by another writer: the open sees the new fid and length.
	two := []byte("replaced")
	if _, err := e.c.StoreReaderAt(ctx, e.domain, "d/small", "", bytes.NewReader(two), int64(len(two))); err != nil {
		t.Fatal(err)
	}
	got, _, err = e.fs.OpenRead(ctx, e.domain, "d/small", st)
	if err != nil || got.FID == st.FID || got.Length != int64(len(two)) {
		t.Errorf("OpenRead after a replace = %+v, %v; want a new fid of length %d", got, err, len(two))
	}
}

// TestFreshDirLookups: in a directory this mount has just made, a missing
// name costs no request for entry_timeout; names made here since are
// looked up; a name another writer made there shows once the window ends.
func TestFreshDirLookups(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	e.fs.opt.EntryTimeout = 500 * time.Millisecond
	if _, err := e.fs.Mkdir(ctx, e.domain, "fr/", 0o755, 0, 0); err != nil {
		t.Fatal(err)
	}
	var err error
	n := e.requests(func() { _, err = e.fs.Lookup(ctx, e.domain, "fr/", "missing") })
	if !errors.Is(err, ErrNotFound) || total(n) != 0 {
		t.Errorf("lookup in a fresh dir = %v with %v requests, want ErrNotFound with none", err, n)
	}
	// Made here: a file (create + upload), a sub-directory, a symlink.
	pre := e.fs.PreOpen(e.domain, "fr/file")
	_, err = e.fs.StoreSession(e.domain, "fr/file", Upload{Pre: pre, MTime: time.Now()})(ctx, bytes.NewReader([]byte("x")), 1)
	must(t, err)
	_, err = e.fs.Mkdir(ctx, e.domain, "fr/sub/", 0o755, 0, 0)
	must(t, err)
	_, err = e.fs.Symlink(ctx, e.domain, "fr/link", "file", 0, 0)
	must(t, err)
	for _, name := range []string{"file", "sub", "link"} {
		if _, err := e.fs.Lookup(ctx, e.domain, "fr/", name); err != nil {
			t.Errorf("lookup of %s made here = %v", name, err)
		}
	}
	// Another writer adds a key: hidden during the window, seen after.
	e.seed(t, []string{"fr/other"})
	if _, err := e.fs.Lookup(ctx, e.domain, "fr/", "other"); !errors.Is(err, ErrNotFound) {
		t.Errorf("lookup of another writer's key inside the window = %v (the window answers absent)", err)
	}
	time.Sleep(600 * time.Millisecond)
	n = e.requests(func() { _, err = e.fs.Lookup(ctx, e.domain, "fr/", "other") })
	if err != nil || total(n) != 1 {
		t.Errorf("lookup after the window = %v with %v requests, want found with one", err, n)
	}
}
