package metatest

import (
	"slices"
	"testing"
	"time"

	"mogfs/trackerd/meta"
)

// testFastPaths covers the batch and single-query reads of the hot paths:
// FileAndDevIDs (get_paths), ListDir and GetAttrs (mogfs_list), CloseFile
// with attributes (create_close attr_*), and OldestDue (replication lag).
func testFastPaths(t *testing.T, newDB NewDB) {
	s := Open(t, newDB(t))
	ctx := ctxT(t)
	d := newDomain(t, s, "fast")

	fid := newFile(t, s, d.ID, "a/1", 2)
	must(t, s.AddFileOn(ctx, fid, 1), "AddFileOn")
	f, ids, err := s.FileAndDevIDs(ctx, d.ID, "a/1")
	must(t, err, "FileAndDevIDs")
	if f.FID != fid || f.Length != 10 || f.Key != "a/1" || !slices.Equal(ids, []int{1, 2}) {
		t.Errorf("FileAndDevIDs(a/1) = %+v, %v, want fid %d length 10 devids [1 2]", f, ids, fid)
	}
	must(t, s.RemoveFileOn(ctx, fid, 1), "RemoveFileOn")
	must(t, s.RemoveFileOn(ctx, fid, 2), "RemoveFileOn")
	if f, ids, err := s.FileAndDevIDs(ctx, d.ID, "a/1"); err != nil || f.FID != fid || len(ids) != 0 {
		t.Errorf("FileAndDevIDs without copies = %+v, %v, %v; want the file and no devids", f, ids, err)
	}
	_, _, err = s.FileAndDevIDs(ctx, d.ID, "nope")
	wantErr(t, err, meta.ErrNotFound, "FileAndDevIDs(nope)")

	// CloseFile with attributes writes the attr row in the same commit.
	mt := time.Unix(1700000000, 123456789)
	tf, err := s.RegisterTempFile(ctx, meta.TempFile{DomainID: d.ID, Key: "a/2", DevIDs: []int{1}})
	must(t, err, "RegisterTempFile")
	_, err = s.CloseFile(ctx, meta.CloseArgs{FID: tf, DomainID: d.ID, Key: "a/2", DevID: 1, Length: 3,
		Attr: &meta.Attr{Mode: 0o100600, UID: 7, GID: 8, MTime: mt}})
	must(t, err, "CloseFile with Attr")
	a, err := s.GetAttr(ctx, d.ID, "a/2")
	must(t, err, "GetAttr(a/2)")
	if a.Mode != 0o100600 || a.UID != 7 || a.GID != 8 || !a.MTime.Equal(mt) || a.IsDir {
		t.Errorf("attr after CloseFile = %+v", a)
	}
	newFile(t, s, d.ID, "a/3", 1)
	newFile(t, s, d.ID, "b/1", 1)

	// mogfs_list reads a page's files through ListDir's walk.
	ents, _, _, err := s.ListDir(ctx, d.ID, "a/", "1", 10)
	must(t, err, "ListDir")
	var keys []string
	for _, e := range ents {
		keys = append(keys, e.File.Key)
	}
	if !slices.Equal(keys, []string{"a/2", "a/3"}) || ents[0].File.Length != 3 || ents[0].File.FID != tf {
		t.Errorf("ListDir(a/, after 1) = %+v", ents)
	}

	must(t, s.SetAttr(ctx, meta.Attr{DomainID: d.ID, Path: "a", IsDir: true, Mode: 0o40755}), "SetAttr(a)")
	paths := []string{"a", "a/1", "a/2", "zz"}
	for i := range 600 { // more than one batch
		paths = append(paths, "none/"+time.Duration(i).String())
	}
	got, err := s.GetAttrs(ctx, d.ID, paths)
	must(t, err, "GetAttrs")
	if len(got) != 2 || !got["a"].IsDir || got["a/2"].UID != 7 {
		t.Errorf("GetAttrs = %v, want a and a/2", got)
	}

	// OldestDue: the created files are due (nexttry 0); a claimed row is not.
	j, _, ok, err := s.OldestDue(ctx, meta.QueueReplicate)
	must(t, err, "OldestDue")
	if !ok || j.FID != fid {
		t.Errorf("OldestDue = %+v, %v, want fid %d", j, ok, fid)
	}
	claimed, err := s.Claim(ctx, meta.QueueReplicate, 100, time.Hour)
	must(t, err, "Claim")
	if len(claimed) != 4 {
		t.Fatalf("Claim = %d rows, want 4", len(claimed))
	}
	if _, _, ok, err := s.OldestDue(ctx, meta.QueueReplicate); err != nil || ok {
		t.Errorf("OldestDue with every row claimed = %v, %v, want none", ok, err)
	}
	past := time.Now().Add(-time.Minute)
	must(t, s.Retry(ctx, meta.QueueReplicate, tf, past), "Retry")
	j, now, ok, err := s.OldestDue(ctx, meta.QueueReplicate)
	must(t, err, "OldestDue")
	if !ok || j.FID != tf || now.Sub(j.NextTry) < 50*time.Second {
		t.Errorf("OldestDue = %+v (now %v), %v, want fid %d due a minute ago", j, now, ok, tf)
	}
}
