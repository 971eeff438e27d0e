package metatest

import (
	"context"
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"

	"mogfs/trackerd/meta"
)

// refListing is what ListDir must return for prefix P, computed from every
// key and explicit directory path the long way: each key or directory
// below P names its first segment; a name that is both a key and a
// directory is the file.
func refListing(keys, dirs []string, P string, specials ...string) []string {
	pos := map[string]bool{}
	for _, sp := range specials {
		if rest, ok := strings.CutPrefix(sp, P); ok && !strings.Contains(rest, "/") {
			pos[rest] = true
		}
	}
	for _, k := range keys {
		if !strings.HasPrefix(k, P) {
			continue
		}
		rest := k[len(P):]
		if name, _, ok := strings.Cut(rest, "/"); ok {
			pos[name+"/"] = true
		} else {
			pos[rest] = true
		}
	}
	for _, d := range dirs {
		dk := d + "/"
		if !strings.HasPrefix(dk, P) || dk == P {
			continue
		}
		name, _, _ := strings.Cut(dk[len(P):], "/")
		pos[name+"/"] = true
	}
	var out []string
	for p := range pos {
		if strings.HasSuffix(p, "/") && pos[strings.TrimSuffix(p, "/")] {
			continue // shadowed by the key of the same name
		}
		out = append(out, p)
	}
	sort.Strings(out)
	return out
}

// listAll pages through ListDir with the given page size and returns every
// position, checking each page's statement count.
func listAll(t *testing.T, s *meta.Store, dmid int, P string, limit int) []string {
	t.Helper()
	ctx := ctxT(t)
	var out []string
	after := ""
	for pages := 0; ; pages++ {
		if pages > 100000 {
			t.Fatalf("ListDir(%q) does not end", P)
		}
		q0 := s.Queries()
		ents, next, done, err := s.ListDir(ctx, dmid, P, after, limit)
		must(t, err, "ListDir(%q, %d)", P, limit)
		if n := s.Queries() - q0; n > 4 {
			t.Fatalf("ListDir(%q, %d) ran %d statements, want at most 4", P, limit, n)
		}
		if len(ents) > max(limit, 2) {
			t.Fatalf("ListDir(%q, %d) returned %d entries", P, limit, len(ents))
		}
		for _, e := range ents {
			if !e.IsDir && !e.Special && e.File.Key != P+e.Name {
				t.Fatalf("ListDir(%q): file %q carries the row of %q", P, e.Name, e.File.Key)
			}
			out = append(out, e.Pos())
		}
		if done {
			return out
		}
		if next <= after {
			t.Fatalf("ListDir(%q, after %q, %d): next %q does not advance", P, after, limit, next)
		}
		after = next
	}
}

// testListDir: listings of keys, key prefixes and explicit directories,
// with names that sort around "/" ('.', '-', '!' sort before it, '0' right
// after), bytes that are not UTF-8, NUL, empty segments, nested explicit
// directories and a key shadowing a prefix, at every page size.
func testListDir(t *testing.T, newDB NewDB) {
	s := Open(t, newDB(t))
	ctx := ctxT(t)
	dm := newDomain(t, s, "ld")
	keys := []string{
		"d/a", "d/a.txt", "d/a/x", "d/a/y/z", "d/a0", "d/a-b/c", "d/!", "d/\xff\xfe", "d/é/x", "d/b\x00c",
		"d/s", "d/s/t", "d/", "d//empty", "d/m/1", "d/m/2", "d/m/3", "d/m.x", "top", "d0/k", "d.x/k",
		"d/q/r/s/t", "d/zzz",
	}
	dirs := []string{"d", "d/a", "d/e", "d/f/g", "d/a.b", "d/zz/deep/er", "d/a/y", "d/s", "d/m", "d/é", "x/y"}
	for _, k := range keys {
		newFile(t, s, dm.ID, k, 1)
	}
	for _, d := range dirs {
		must(t, s.SetAttr(ctx, meta.Attr{DomainID: dm.ID, Path: d, IsDir: true, Mode: 0o40755}), "SetAttr(%q)", d)
	}
	// A file's attribute row is not a directory; special files (rows
	// alone) are entries.
	must(t, s.SetAttr(ctx, meta.Attr{DomainID: dm.ID, Path: "d/a.txt", Mode: 0o100644}), "SetAttr(file)")
	specials := []string{"d/fifo", "d/a.sock", "d/e/dev", "d/zzz0"}
	for i, sp := range specials {
		mode := []uint32{0o010644, 0o140755, 0o020600, 0o060600}[i]
		must(t, s.SetAttr(ctx, meta.Attr{DomainID: dm.ID, Path: sp, Mode: mode, Rdev: uint64(i) << 8}), "SetAttr(%q)", sp)
	}
	if a, err := s.GetAttr(ctx, dm.ID, "d/zzz0"); err != nil || a.Rdev != 3<<8 || !a.IsSpecial() {
		t.Fatalf("GetAttr(special) = %+v, %v", a, err)
	}
	for _, P := range []string{"", "d/", "d/a/", "d/a/y/", "d/f/", "d/zz/", "d/m/", "d/e/", "nothing/", "d//", "x/"} {
		want := refListing(keys, dirs, P, specials...)
		for _, limit := range []int{1, 2, 3, 5, 1000} {
			if got := listAll(t, s, dm.ID, P, limit); !slices.Equal(got, want) {
				t.Fatalf("ListDir(%q) by %d =\n%q\nwant\n%q", P, limit, got, want)
			}
		}
	}
	for P, want := range map[string]bool{"d/": true, "d/e/": true, "d/f/": true, "d/a/y/": true, "nothing/": false, "": true, "x/": true} {
		if got, err := s.HasChildren(ctx, dm.ID, P); err != nil || got != want {
			t.Fatalf("HasChildren(%q) = %v, %v; want %v", P, got, err, want)
		}
	}
	// Directory rows follow a rename and go with a delete.
	must(t, renameAttrs(ctx, s, dm.ID, "d/zz", "d/yy"), "RenameAttrs")
	must(t, s.DeleteAttr(ctx, dm.ID, "d/e"), "DeleteAttr")
	dirs = slices.DeleteFunc(dirs, func(d string) bool { return d == "d/e" || d == "d/zz/deep/er" })
	dirs = append(dirs, "d/yy/deep/er")
	specials[2] = "" // d/e went, with what was in it
	must(t, s.DeleteAttr(ctx, dm.ID, "d/e/dev"), "DeleteAttr")
	must(t, renameAttrs(ctx, s, dm.ID, "d/fifo", "d/fifo2"), "RenameAttrs(special)")
	specials[0] = "d/fifo2"
	if got, want := listAll(t, s, dm.ID, "d/", 2), refListing(keys, dirs, "d/", specials...); !slices.Equal(got, want) {
		t.Fatalf("ListDir(d/) after rename = %q, want %q", got, want)
	}
}

// testListDirScale: a directory of 12,000 entries (10,000 keys, 1,000 key
// prefixes of 20 keys each, 1,000 explicit directories, half of them with
// explicit directories below) lists completely, in the same few statements
// per page of 1,000 wherever the page starts.
func testListDirScale(t *testing.T, newDB NewDB) {
	cfg := newDB(t)
	s := Open(t, cfg)
	ctx := ctxT(t)
	dm := newDomain(t, s, "big")
	db := RawDB(t, cfg)
	tx, err := db.BeginTx(ctx, nil)
	must(t, err, "begin")
	fid := int64(1000)
	var keys, dirs []string
	add := func(k string) {
		fid++
		keys = append(keys, k)
		_, err := tx.ExecContext(ctx, "INSERT INTO file (fid, dmid, dkey, length, classid, devcount) VALUES (?, ?, ?, 1, 0, 1)", fid, dm.ID, k)
		must(t, err, "insert %q", k)
	}
	for i := range 10000 {
		add(fmt.Sprintf("big/f%05d", i))
	}
	for i := range 1000 {
		for j := range 20 {
			add(fmt.Sprintf("big/p%04d/k%02d", i, j))
		}
	}
	must(t, tx.Commit(), "commit")
	for i := range 1000 {
		d := fmt.Sprintf("big/e%04d", i)
		dirs = append(dirs, d)
		must(t, s.SetAttr(ctx, meta.Attr{DomainID: dm.ID, Path: d, IsDir: true}), "SetAttr")
		if i%2 == 0 {
			dirs = append(dirs, d+"/sub")
			must(t, s.SetAttr(ctx, meta.Attr{DomainID: dm.ID, Path: d + "/sub", IsDir: true}), "SetAttr")
		}
	}
	want := refListing(keys, dirs, "big/")
	if len(want) != 12000 {
		t.Fatalf("reference listing has %d entries", len(want))
	}
	if got := listAll(t, s, dm.ID, "big/", 1000); !slices.Equal(got, want) {
		t.Fatalf("ListDir(big/) = %d entries, want %d; first difference near %q", len(got), len(want), firstDiff(got, want))
	}
}

func firstDiff(a, b []string) string {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return a[i] + " / " + b[i]
		}
	}
	return "the end"
}

// testListDirRandom: random namespaces over an alphabet that sorts around
// "/" ("-" and "." before it, "0" right after), with empty segments and
// keys that are also prefixes, list like the reference at every page size
// from every directory: the skip-scan's corner cases, found by chance.
func testListDirRandom(t *testing.T, newDB NewDB) {
	s := Open(t, newDB(t))
	ctx := ctxT(t)
	dm := newDomain(t, s, "rnd")
	rng := rand.New(rand.NewPCG(7, 11))
	alphabet := []string{"a", "b", "-", ".", "0", "/", "/"}
	word := func() string {
		var b strings.Builder
		for range 1 + rng.IntN(6) {
			b.WriteString(alphabet[rng.IntN(len(alphabet))])
		}
		return b.String()
	}
	seen := map[string]bool{}
	var keys, dirs []string
	for len(keys) < 150 {
		k := "r/" + word()
		if !seen[k] {
			seen[k] = true
			keys = append(keys, k)
			newFile(t, s, dm.ID, k, 1)
		}
	}
	for range 40 {
		d := "r/" + strings.Trim(word(), "/")
		dirs = append(dirs, d)
		must(t, s.SetAttr(ctx, meta.Attr{DomainID: dm.ID, Path: d, IsDir: true}), "SetAttr(%q)", d)
	}
	prefixes := map[string]bool{"r/": true, "": true}
	for _, k := range append(slices.Clone(keys), dirs...) {
		for i := range len(k) {
			if k[i] == '/' {
				prefixes[k[:i+1]] = true
			}
		}
	}
	for P := range prefixes {
		want := refListing(keys, dirs, P)
		for _, limit := range []int{1, 2, 3, 4, 1000} {
			if got := listAll(t, s, dm.ID, P, limit); !slices.Equal(got, want) {
				t.Fatalf("ListDir(%q) by %d =\n%q\nwant\n%q", P, limit, got, want)
			}
		}
	}
}

// testAttrIno: an entry's inode number is stored with its attributes and
// follows it through a rename and a close that rewrites the row.
func testAttrIno(t *testing.T, newDB NewDB) {
	s := Open(t, newDB(t))
	ctx := ctxT(t)
	dm := newDomain(t, s, "ino")
	must(t, s.SetAttr(ctx, meta.Attr{DomainID: dm.ID, Path: "d", IsDir: true, Mode: 0o40755, Ino: 1<<62 | 12345}), "SetAttr(dir)")
	must(t, s.SetAttr(ctx, meta.Attr{DomainID: dm.ID, Path: "d/f", Mode: 0o100644, Ino: 77}), "SetAttr(file)")
	must(t, renameAttrs(ctx, s, dm.ID, "d", "e"), "RenameAttrs")
	for p, want := range map[string]int64{"e": 1<<62 | 12345, "e/f": 77} {
		if a, err := s.GetAttr(ctx, dm.ID, p); err != nil || a.Ino != want {
			t.Fatalf("GetAttr(%q) = %+v, %v; want ino %d", p, a, err, want)
		}
	}
	fid, err := s.RegisterTempFile(ctx, meta.TempFile{DomainID: dm.ID, Key: "e/f", DevIDs: []int{1}})
	must(t, err, "RegisterTempFile")
	_, err = s.CloseFile(ctx, meta.CloseArgs{FID: fid, DomainID: dm.ID, Key: "e/f", DevID: 1, Length: 1,
		Attr: &meta.Attr{Mode: 0o100600, Ino: 77}})
	must(t, err, "CloseFile")
	if a, err := s.GetAttr(ctx, dm.ID, "e/f"); err != nil || a.Ino != 77 || a.Mode != 0o100600 {
		t.Fatalf("GetAttr(e/f) after close = %+v, %v", a, err)
	}
}

// testLinks: hard links share a file, follow renames of its key and of the
// directories above it, and keep the data until the last name goes: the
// first link becomes the key when the key is removed.
func testLinks(t *testing.T, newDB NewDB) {
	s := Open(t, newDB(t))
	ctx := ctxT(t)
	dm := newDomain(t, s, "links")
	fid := newFile(t, s, dm.ID, "a/k", 1)
	key, pa, err := s.Link(ctx, dm.ID, "a/k", "b/l1", meta.Attr{Mode: 0o100640, UID: 7, GID: 8})
	must(t, err, "Link")
	if key != "a/k" || pa.Ino != fid || pa.Mode != 0o100640 {
		t.Fatalf("Link = %q, %+v; want key a/k, ino %d", key, pa, fid)
	}
	if key, _, err = s.Link(ctx, dm.ID, "b/l1", "c/l2", meta.Attr{}); err != nil || key != "a/k" {
		t.Fatalf("Link through a link = %q, %v", key, err)
	}
	_, _, err = s.Link(ctx, dm.ID, "a/k", "c/l2", meta.Attr{})
	wantErr(t, err, meta.ErrExists, "Link onto a name")
	_, _, err = s.Link(ctx, dm.ID, "nope", "c/l3", meta.Attr{})
	wantErr(t, err, meta.ErrNotFound, "Link to nothing")
	if got := listAll(t, s, dm.ID, "b/", 10); !slices.Equal(got, []string{"l1"}) {
		t.Fatalf("ListDir(b/) = %q", got)
	}
	if n, err := s.LinkCounts(ctx, dm.ID, []string{"a/k"}); err != nil || n["a/k"] != 2 {
		t.Fatalf("LinkCounts = %v, %v", n, err)
	}
	must(t, s.RenameFile(ctx, dm.ID, "a/k", "z/k"), "RenameFile")
	must(t, renameAttrs(ctx, s, dm.ID, "a/k", "z/k"), "RenameAttrs")
	for _, p := range []string{"b/l1", "c/l2"} {
		if a, err := s.GetAttr(ctx, dm.ID, p); err != nil || a.LinkKey != "z/k" || a.Ino != fid {
			t.Fatalf("GetAttr(%s) after the key's rename = %+v, %v", p, a, err)
		}
	}
	res, err := s.UnlinkName(ctx, dm.ID, "z/k")
	must(t, err, "UnlinkName(key)")
	if res.Promoted != "b/l1" || res.FID != 0 {
		t.Fatalf("UnlinkName(key) = %+v, want b/l1 promoted", res)
	}
	if f, err := s.FileByKey(ctx, dm.ID, "b/l1"); err != nil || f.FID != fid {
		t.Fatalf("FileByKey(b/l1) = %+v, %v", f, err)
	}
	if a, err := s.GetAttr(ctx, dm.ID, "c/l2"); err != nil || a.LinkKey != "b/l1" {
		t.Fatalf("GetAttr(c/l2) after promotion = %+v, %v", a, err)
	}
	if a, err := s.GetAttr(ctx, dm.ID, "b/l1"); err != nil || a.LinkKey != "" || a.Mode != 0o100640 {
		t.Fatalf("GetAttr(b/l1) after promotion = %+v, %v", a, err)
	}
	if res, err := s.UnlinkName(ctx, dm.ID, "c/l2"); err != nil || res != (meta.UnlinkResult{}) {
		t.Fatalf("UnlinkName(link) = %+v, %v", res, err)
	}
	if res, err := s.UnlinkName(ctx, dm.ID, "b/l1"); err != nil || res.FID != fid {
		t.Fatalf("UnlinkName(last name) = %+v, %v; want fid %d", res, err, fid)
	}
	_, err = s.UnlinkName(ctx, dm.ID, "b/l1")
	wantErr(t, err, meta.ErrNotFound, "UnlinkName(gone)")
}

// renameAttrs is Store.RenameAttrs for tests that need only its error.
func renameAttrs(ctx context.Context, s *meta.Store, dmid int, from, to string) error {
	_, err := s.RenameAttrs(ctx, dmid, from, to)
	return err
}

// testEntries: ListEntries resolves a page for the mount (attributes, hard
// links through the key they name, name counts; a link whose key is gone
// left out), and LookupEntry gives each name exactly the entry the listing
// gave it.
func testEntries(t *testing.T, newDB NewDB) {
	s := Open(t, newDB(t))
	ctx := ctxT(t)
	dm := newDomain(t, s, "entries")
	fid := newFile(t, s, dm.ID, "d/f", 1)
	must(t, s.SetAttr(ctx, meta.Attr{DomainID: dm.ID, Path: "d/f", Mode: 0o100640, UID: 7, GID: 8, Ino: fid}), "SetAttr(file)")
	must(t, s.SetAttr(ctx, meta.Attr{DomainID: dm.ID, Path: "d/sub", IsDir: true, Mode: 0o40755}), "SetAttr(dir)")
	newFile(t, s, dm.ID, "d/imp/x", 1)
	must(t, s.SetAttr(ctx, meta.Attr{DomainID: dm.ID, Path: "d/fifo", Mode: 0o10644}), "SetAttr(fifo)")
	_, _, err := s.Link(ctx, dm.ID, "d/f", "d/l", meta.Attr{})
	must(t, err, "Link(d/l)")
	newFile(t, s, dm.ID, "gone/k", 1)
	_, _, err = s.Link(ctx, dm.ID, "gone/k", "d/dead", meta.Attr{Mode: 0o100600})
	must(t, err, "Link(d/dead)")
	_, err = s.DeleteFile(ctx, dm.ID, "gone/k") // a stock client's delete: the link row stays
	must(t, err, "DeleteFile")

	var got []meta.Entry
	for after := ""; ; {
		page, next, done, err := s.ListEntries(ctx, dm.ID, "d/", after, 2)
		must(t, err, "ListEntries")
		got = append(got, page...)
		if done {
			break
		}
		after = next
	}
	names := make([]string, len(got))
	for i, e := range got {
		names[i] = e.Name
	}
	if want := []string{"f", "fifo", "imp", "l", "sub"}; !slices.Equal(names, want) {
		t.Fatalf("ListEntries(d/) = %q, want %q", names, want)
	}
	byName := map[string]meta.Entry{}
	for _, e := range got {
		byName[e.Name] = e
	}
	if f := byName["f"]; f.File.FID != fid || f.Nlink != 2 || !f.HasAttr || f.Attr.UID != 7 || f.Key != "" {
		t.Errorf("entry f = %+v", f)
	}
	if l := byName["l"]; l.File.FID != fid || l.Key != "d/f" || l.Nlink != 2 || l.Attr.Mode != 0o100640 || l.Attr.UID != 7 {
		t.Errorf("entry l (a link to d/f) = %+v", l)
	}
	if e := byName["imp"]; !e.IsDir || e.HasAttr {
		t.Errorf("entry imp (an implicit directory) = %+v", e)
	}
	if e := byName["sub"]; !e.IsDir || !e.HasAttr {
		t.Errorf("entry sub (an explicit directory) = %+v", e)
	}
	if e := byName["fifo"]; e.IsDir || !e.Attr.IsSpecial() || e.File.FID != 0 {
		t.Errorf("entry fifo = %+v", e)
	}
	for _, e := range got {
		one, err := s.LookupEntry(ctx, dm.ID, "d/", e.Name)
		if err != nil || !reflect.DeepEqual(one, e) {
			t.Errorf("LookupEntry(d/, %s) = %+v, %v\nListEntries gave %+v", e.Name, one, err, e)
		}
	}
	for _, name := range []string{"dead", "nope"} {
		_, err := s.LookupEntry(ctx, dm.ID, "d/", name)
		wantErr(t, err, meta.ErrNotFound, "LookupEntry(d/, "+name+")")
	}
}
