package metatest

import (
	"bytes"
	"fmt"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"mogfs/trackerd/meta"
)

func testCreateClose(t *testing.T, newDB NewDB) {
	ctx := ctxT(t)
	s := Open(t, newDB(t))
	d := newDomain(t, s, "d")
	fid, err := s.RegisterTempFile(ctx, meta.TempFile{DomainID: d.ID, Key: "k", ClassID: 0, DevIDs: []int{3, 1, 5}})
	must(t, err, "RegisterTempFile")
	tf, err := s.TempFile(ctx, fid)
	must(t, err, "TempFile")
	if tf.FID != fid || tf.Key != "k" || !slices.Equal(tf.DevIDs, []int{3, 1, 5}) || time.Since(tf.CreateTime).Abs() > time.Minute {
		t.Fatalf("TempFile(%d) = %+v", fid, tf)
	}
	_, err = s.FileByKey(ctx, d.ID, "k")
	wantErr(t, err, meta.ErrNotFound, "FileByKey before close")
	sum := bytes.Repeat([]byte{0xab}, 16)
	old, err := s.CloseFile(ctx, meta.CloseArgs{FID: fid, DomainID: d.ID, Key: "k", DevID: 3, Length: 1234, HashType: 1, Checksum: sum})
	if err != nil || old != 0 {
		t.Fatalf("CloseFile = %d, %v; want 0, nil", old, err)
	}
	_, err = s.CloseFile(ctx, meta.CloseArgs{FID: fid, DomainID: d.ID, Key: "k", DevID: 3})
	wantErr(t, err, meta.ErrNoTempFile, "CloseFile twice")
	_, err = s.TempFile(ctx, fid)
	wantErr(t, err, meta.ErrNotFound, "TempFile after close")
	f, err := s.FileByKey(ctx, d.ID, "k")
	want := meta.File{FID: fid, DomainID: d.ID, Key: "k", Length: 1234, DevCount: 1}
	if err != nil || f != want {
		t.Fatalf("FileByKey = %+v, %v; want %+v", f, err, want)
	}
	if f2, err := s.FileByFID(ctx, fid); err != nil || f2 != want {
		t.Fatalf("FileByFID = %+v, %v", f2, err)
	}
	if ids, err := s.FileDevIDs(ctx, fid); err != nil || !slices.Equal(ids, []int{3}) {
		t.Fatalf("FileDevIDs = %v, %v; want [3]", ids, err)
	}
	if ht, got, err := s.Checksum(ctx, fid); err != nil || ht != 1 || !bytes.Equal(got, sum) {
		t.Fatalf("Checksum = %d, %x, %v", ht, got, err)
	}
	if j, err := s.QueueJob(ctx, meta.QueueReplicate, fid); err != nil || !j.NextTry.IsZero() {
		t.Fatalf("replicate job after close = %+v, %v; want nexttry 0", j, err)
	}

	// Overwrite: new fid, old fid queued for deletion.
	fid2, err := s.RegisterTempFile(ctx, meta.TempFile{DomainID: d.ID, Key: "k"})
	must(t, err, "RegisterTempFile 2")
	if fid2 <= fid {
		t.Fatalf("second fid %d not above %d", fid2, fid)
	}
	old, err = s.CloseFile(ctx, meta.CloseArgs{FID: fid2, DomainID: d.ID, Key: "k", DevID: 4, Length: 9})
	if err != nil || old != fid {
		t.Fatalf("CloseFile overwrite = %d, %v; want old fid %d", old, err, fid)
	}
	if f, _ := s.FileByKey(ctx, d.ID, "k"); f.FID != fid2 || f.Length != 9 {
		t.Fatalf("FileByKey after overwrite = %+v", f)
	}
	_, err = s.FileByFID(ctx, fid)
	wantErr(t, err, meta.ErrNotFound, "FileByFID(old)")
	if _, err := s.QueueJob(ctx, meta.QueueDelete, fid); err != nil {
		t.Fatalf("old fid not on the delete queue: %v", err)
	}

	// Abandon: tempfile gone, fid queued for deletion with its device.
	fid3, err := s.RegisterTempFile(ctx, meta.TempFile{DomainID: d.ID, Key: "x"})
	must(t, err, "RegisterTempFile 3")
	must(t, s.AbandonTempFile(ctx, fid3, 7), "AbandonTempFile")
	_, err = s.TempFile(ctx, fid3)
	wantErr(t, err, meta.ErrNotFound, "TempFile after abandon")
	if ids, _ := s.FileDevIDs(ctx, fid3); !slices.Equal(ids, []int{7}) {
		t.Fatalf("FileDevIDs(abandoned) = %v, want [7]", ids)
	}
	if _, err := s.QueueJob(ctx, meta.QueueDelete, fid3); err != nil {
		t.Fatalf("abandoned fid not on the delete queue: %v", err)
	}
	// The same key in another domain is independent.
	d2 := newDomain(t, s, "d2")
	fid4 := newFile(t, s, d2.ID, "k", 1)
	if f, _ := s.FileByKey(ctx, d.ID, "k"); f.FID != fid2 {
		t.Fatalf("key in domain 1 changed by domain 2: %+v", f)
	}
	if f, _ := s.FileByKey(ctx, d2.ID, "k"); f.FID != fid4 {
		t.Fatalf("FileByKey(d2, k) = %+v, want fid %d", f, fid4)
	}
	if m, err := s.MaxFID(ctx); err != nil || m != fid4 {
		t.Fatalf("MaxFID = %d, %v; want %d", m, err, fid4)
	}
}

func testExplicitFID(t *testing.T, newDB NewDB) {
	ctx := ctxT(t)
	cfg := newDB(t)
	s := Open(t, cfg)
	d := newDomain(t, s, "d")
	f1 := newFile(t, s, d.ID, "a", 1)
	s.Close()
	s = Open(t, cfg) // MAX(file.fid) at open is now f1
	_, err := s.RegisterTempFile(ctx, meta.TempFile{FID: f1, DomainID: d.ID, Key: "b"})
	wantErr(t, err, meta.ErrFIDInUse, "explicit fid in file")
	got, err := s.RegisterTempFile(ctx, meta.TempFile{FID: f1 + 100, DomainID: d.ID, Key: "b"})
	if err != nil || got != f1+100 {
		t.Fatalf("explicit fid %d = %d, %v", f1+100, got, err)
	}
	_, err = s.RegisterTempFile(ctx, meta.TempFile{FID: f1 + 100, DomainID: d.ID, Key: "c"})
	wantErr(t, err, meta.ErrFIDInUse, "explicit fid in tempfile")
	// Auto fids continue above the explicit one.
	auto, err := s.RegisterTempFile(ctx, meta.TempFile{DomainID: d.ID, Key: "d"})
	if err != nil || auto <= f1+100 {
		t.Fatalf("auto fid after explicit = %d, %v; want > %d", auto, err, f1+100)
	}
}

func testFIDNeverReused(t *testing.T, newDB NewDB) {
	ctx := ctxT(t)
	cfg := newDB(t)
	s := Open(t, cfg)
	d := newDomain(t, s, "d")
	var last int64
	for i := range 5 {
		last = newFile(t, s, d.ID, fmt.Sprint("k", i), 1)
	}
	// Empty tempfile, delete everything, drain the delete queue: nothing
	// left that remembers the fids but the counters.
	for i := range 5 {
		_, err := s.DeleteFile(ctx, d.ID, fmt.Sprint("k", i))
		must(t, err, "DeleteFile")
	}
	s.Close()
	s = Open(t, cfg)
	fid, err := s.RegisterTempFile(ctx, meta.TempFile{DomainID: d.ID, Key: "new"})
	if err != nil || fid <= last {
		t.Fatalf("fid after delete+reopen = %d, %v; want > %d", fid, err, last)
	}
	// Keep one file with the highest fid, then simulate a counter reset
	// (an InnoDB restart with an empty tempfile used to do this): the next
	// fid must still be above MAX(file.fid).
	_, err = s.CloseFile(ctx, meta.CloseArgs{FID: fid, DomainID: d.ID, Key: "new", DevID: 1})
	must(t, err, "CloseFile")
	resetCounter(t, s)
	s.Close()
	s = Open(t, cfg)
	fid2, err := s.RegisterTempFile(ctx, meta.TempFile{DomainID: d.ID, Key: "newer"})
	if err != nil || fid2 <= fid {
		t.Fatalf("fid after counter reset = %d, %v; want > %d", fid2, err, fid)
	}
}

// resetCounter puts the tempfile auto-increment back to 1.
func resetCounter(t *testing.T, s *meta.Store) {
	ctx := ctxT(t)
	var err error
	if s.Dialect() == "sqlite" {
		_, err = s.DB().ExecContext(ctx, "DELETE FROM sqlite_sequence WHERE name = 'tempfile'")
	} else {
		_, err = s.DB().ExecContext(ctx, "ALTER TABLE tempfile AUTO_INCREMENT = 1")
	}
	must(t, err, "reset counter")
}

func testDeleteRename(t *testing.T, newDB NewDB) {
	ctx := ctxT(t)
	s := Open(t, newDB(t))
	d := newDomain(t, s, "d")
	fa := newFile(t, s, d.ID, "a", 1)
	newFile(t, s, d.ID, "b", 1)
	wantErr(t, s.RenameFile(ctx, d.ID, "a", "b"), meta.ErrExists, "RenameFile onto existing")
	wantErr(t, s.RenameFile(ctx, d.ID, "zz", "c"), meta.ErrNotFound, "RenameFile missing")
	must(t, s.RenameFile(ctx, d.ID, "a", "c"), "RenameFile(a, c)")
	if f, err := s.FileByKey(ctx, d.ID, "c"); err != nil || f.FID != fa {
		t.Fatalf("FileByKey(c) = %+v, %v; want fid %d", f, err, fa)
	}
	_, err := s.FileByKey(ctx, d.ID, "a")
	wantErr(t, err, meta.ErrNotFound, "FileByKey(a) after rename")
	must(t, s.SetAttr(ctx, meta.Attr{DomainID: d.ID, Path: "c", Mode: 0o100644}), "SetAttr")
	got, err := s.DeleteFile(ctx, d.ID, "c")
	if err != nil || got != fa {
		t.Fatalf("DeleteFile(c) = %d, %v; want %d", got, err, fa)
	}
	_, err = s.DeleteFile(ctx, d.ID, "c")
	wantErr(t, err, meta.ErrNotFound, "DeleteFile twice")
	_, err = s.GetAttr(ctx, d.ID, "c")
	wantErr(t, err, meta.ErrNotFound, "GetAttr of deleted key")
	j, err := s.QueueJob(ctx, meta.QueueDelete, fa)
	if err != nil || time.Since(j.NextTry).Abs() > time.Minute {
		t.Fatalf("delete job = %+v, %v; want due now", j, err)
	}
	if ids, _ := s.FileDevIDs(ctx, fa); !slices.Equal(ids, []int{1}) {
		t.Fatalf("file_on of deleted fid = %v; the delete worker needs [1]", ids)
	}
}

// oddKeys are keys that break naive escaping, LIKE patterns or collations.
var oddKeys = []string{
	"with space", "trailing space ", " leading", "a/b/c", "/abs", "100%", "100%x", "a_b", "a_", "aXb",
	"amp&er", "eq=al", "back\\slash", "back\\\\x", "emoji 😀", "emoji 😁", "ÅÄÖ", "åäö", "Case", "case",
	"CASE", "¿que", "¿", "tab\tkey", "semi;colon", "quote'd", "dq\"x", strings.Repeat("k", 1024),
	strings.Repeat("é", 512),
}

func testKeys(t *testing.T, newDB NewDB) {
	ctx := ctxT(t)
	s := Open(t, newDB(t))
	d := newDomain(t, s, "d")
	fids := map[string]int64{}
	for _, k := range oddKeys {
		fids[k] = newFile(t, s, d.ID, k, 1)
	}
	for _, k := range oddKeys {
		f, err := s.FileByKey(ctx, d.ID, k)
		if err != nil || f.Key != k || f.FID != fids[k] {
			t.Fatalf("FileByKey(%q) = %+v, %v; want fid %d", k, f, err, fids[k])
		}
	}
	sorted := slices.Clone(oddKeys)
	sort.Strings(sorted) // byte order
	all, err := s.ListKeys(ctx, d.ID, "", "", 1000)
	if err != nil || !slices.Equal(all, sorted) {
		t.Fatalf("ListKeys(all) =\n%q\nwant byte order\n%q (err %v)", all, sorted, err)
	}
	// Every prefix of every key selects exactly the keys with that prefix.
	prefixes := map[string]bool{"100%": true, "a_": true, "back\\": true, "¿": true, "\xc2": true, "emoji \xf0\x9f\x98": true}
	for _, k := range oddKeys {
		for _, n := range []int{1, 2, len(k) / 2, len(k)} {
			prefixes[k[:n]] = true
		}
	}
	for p := range prefixes {
		var want []string
		for _, k := range sorted {
			if strings.HasPrefix(k, p) {
				want = append(want, k)
			}
		}
		got, err := s.ListKeys(ctx, d.ID, p, "", 1000)
		if err != nil || !slices.Equal(got, want) {
			t.Fatalf("ListKeys(prefix %q) = %q, %v; want %q", p, got, err, want)
		}
	}
	_, err = s.RegisterTempFile(ctx, meta.TempFile{DomainID: d.ID, Key: strings.Repeat("x", 1024)})
	must(t, err, "RegisterTempFile with a 1024-byte key")
}

func testListKeysPaging(t *testing.T, newDB NewDB) {
	ctx := ctxT(t)
	s := Open(t, newDB(t))
	d := newDomain(t, s, "d")
	other := newDomain(t, s, "other")
	var keys []string
	for i := range 25 {
		k := fmt.Sprintf("dir/%02d", i)
		keys = append(keys, k)
		newFile(t, s, d.ID, k, 1)
	}
	newFile(t, s, d.ID, "dir", 1)
	newFile(t, s, d.ID, "dis", 1)
	newFile(t, s, other.ID, "dir/00x", 1)
	cases := []struct {
		name          string
		prefix, after string
		limit         int
		want          []string
	}{
		{"first page", "dir/", "", 10, keys[:10]},
		{"middle page", "dir/", keys[9], 10, keys[10:20]},
		{"last short page", "dir/", keys[19], 10, keys[20:]},
		{"after last", "dir/", keys[24], 10, nil},
		{"after beyond prefix", "dir/", "zzz", 10, nil},
		{"after before prefix", "dir/", "a", 2, keys[:2]},
		{"after not a key", "dir/", "dir/05x", 2, keys[6:8]},
		{"limit 1", "dir/", keys[3], 1, keys[4:5]},
		{"limit 0", "dir/", "", 0, nil},
		{"prefix without slash", "dir", "", 3, []string{"dir", keys[0], keys[1]}},
		{"no match", "nope", "", 10, nil},
		{"empty prefix", "", "dir/24", 10, []string{"dis"}},
		{"exact key as prefix", "dis", "", 10, []string{"dis"}},
		{"after equals prefix", "dir", "dir", 1, keys[:1]},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := s.ListKeys(ctx, d.ID, c.prefix, c.after, c.limit)
			if err != nil || !slices.Equal(got, c.want) {
				t.Fatalf("ListKeys(%q, %q, %d) = %q, %v; want %q", c.prefix, c.after, c.limit, got, err, c.want)
			}
		})
	}
	// Paging through everything visits each key once.
	var seen []string
	after := ""
	for {
		page, err := s.ListKeys(ctx, d.ID, "", after, 4)
		must(t, err, "ListKeys page")
		if len(page) == 0 {
			break
		}
		seen = append(seen, page...)
		after = page[len(page)-1]
	}
	if len(seen) != 27 || !slices.IsSorted(seen) {
		t.Fatalf("paged %d keys %q, want 27 sorted", len(seen), seen)
	}
}

func testListFIDs(t *testing.T, newDB NewDB) {
	ctx := ctxT(t)
	s := Open(t, newDB(t))
	d := newDomain(t, s, "d")
	var fids []int64
	for i := range 12 {
		fids = append(fids, newFile(t, s, d.ID, fmt.Sprint("k", i), 1))
	}
	var got []int64
	from := int64(0)
	for {
		page, err := s.ListFIDs(ctx, from, 5)
		must(t, err, "ListFIDs(%d)", from)
		if len(page) == 0 {
			break
		}
		if len(page) > 5 {
			t.Fatalf("ListFIDs returned %d > limit 5", len(page))
		}
		for _, f := range page {
			got = append(got, f.FID)
		}
		from = page[len(page)-1].FID
	}
	if !slices.Equal(got, fids) {
		t.Fatalf("paged fids = %v, want %v", got, fids)
	}
	if page, _ := s.ListFIDs(ctx, fids[11], 5); len(page) != 0 {
		t.Fatalf("ListFIDs(after max) = %v", page)
	}
	if page, _ := s.ListFIDs(ctx, fids[5]-1, 1); len(page) != 1 || page[0].FID != fids[5] || page[0].Key != "k5" {
		t.Fatalf("ListFIDs(%d, 1) = %+v", fids[5]-1, page)
	}
}
