package metatest

import (
	"bytes"
	"slices"
	"testing"
	"time"

	"mogfs/trackerd/meta"
)

func testChecksums(t *testing.T, newDB NewDB) {
	ctx := ctxT(t)
	s := Open(t, newDB(t))
	_, _, err := s.Checksum(ctx, 1)
	wantErr(t, err, meta.ErrNotFound, "Checksum(1)")
	md5 := []byte{0, 1, 2, 0xff, 0, 0x80, 6, 7, 8, 9, 10, 11, 12, 13, 14, 0}
	sha1 := bytes.Repeat([]byte{0}, 20)
	must(t, s.SetChecksum(ctx, 1, 1, md5), "SetChecksum(md5)")
	if ht, sum, err := s.Checksum(ctx, 1); err != nil || ht != 1 || !bytes.Equal(sum, md5) {
		t.Fatalf("Checksum(1) = %d, %x, %v", ht, sum, err)
	}
	must(t, s.SetChecksum(ctx, 1, 2, sha1), "SetChecksum(sha1) replaces")
	if ht, sum, err := s.Checksum(ctx, 1); err != nil || ht != 2 || !bytes.Equal(sum, sha1) {
		t.Fatalf("Checksum(1) = %d, %x, %v", ht, sum, err)
	}
	must(t, s.DeleteChecksum(ctx, 1), "DeleteChecksum")
	must(t, s.DeleteChecksum(ctx, 1), "DeleteChecksum twice")
	_, _, err = s.Checksum(ctx, 1)
	wantErr(t, err, meta.ErrNotFound, "Checksum after delete")
}

func testSettings(t *testing.T, newDB NewDB) {
	ctx := ctxT(t)
	s := Open(t, newDB(t))
	must(t, s.SetSetting(ctx, "memcache_servers", "a:1,b:2"), "SetSetting")
	must(t, s.SetSetting(ctx, "skip_devcount", "1"), "SetSetting")
	must(t, s.SetSetting(ctx, "skip_devcount", "0"), "SetSetting overwrite")
	v, ok, err := s.Setting(ctx, "skip_devcount")
	if err != nil || !ok || v != "0" {
		t.Fatalf("Setting(skip_devcount) = %q, %v, %v", v, ok, err)
	}
	must(t, s.SetSetting(ctx, "memcache_servers", ""), "SetSetting empty deletes")
	if _, ok, err := s.Setting(ctx, "memcache_servers"); err != nil || ok {
		t.Fatalf("Setting after delete: ok %v, %v", ok, err)
	}
	all, err := s.Settings(ctx)
	if err != nil || len(all) != 2 || all["schema_version"] != "17" || all["skip_devcount"] != "0" {
		t.Fatalf("Settings() = %v, %v", all, err)
	}
}

func testTempFiles(t *testing.T, newDB NewDB) {
	ctx := ctxT(t)
	s := Open(t, newDB(t))
	now, _ := s.Now(ctx)
	old, err := s.RegisterTempFile(ctx, meta.TempFile{DomainID: 1, Key: "old", DevIDs: []int{4, 2}, CreateTime: now.Add(-2 * time.Hour)})
	must(t, err, "RegisterTempFile(old)")
	_, err = s.RegisterTempFile(ctx, meta.TempFile{DomainID: 1, Key: "new"})
	must(t, err, "RegisterTempFile(new)")
	many := make([]int, 40) // more devids than tempfile.devids (60 chars) holds
	for i := range many {
		many[i] = 1000 + i
	}
	big, err := s.RegisterTempFile(ctx, meta.TempFile{DomainID: 1, Key: "many", DevIDs: many, CreateTime: now.Add(-2 * time.Hour)})
	must(t, err, "RegisterTempFile(many devids)")
	stale, err := s.StaleTempFiles(ctx, now.Add(-time.Hour), 10)
	if err != nil || len(stale) != 2 || stale[0].FID != old || stale[0].Key != "old" || !slices.Equal(stale[0].DevIDs, []int{4, 2}) {
		t.Fatalf("StaleTempFiles = %+v, %v", stale, err)
	}
	if got := stale[1].DevIDs; stale[1].FID != big || len(got) == 0 || !slices.Equal(got, many[:len(got)]) {
		t.Fatalf("StaleTempFiles many devids = %+v", stale[1])
	}
	if stale, _ := s.StaleTempFiles(ctx, now.Add(-time.Hour), 1); len(stale) != 1 {
		t.Fatalf("StaleTempFiles(limit 1) = %d rows", len(stale))
	}
	must(t, s.DeleteTempFile(ctx, old), "DeleteTempFile")
	must(t, s.DeleteTempFile(ctx, old), "DeleteTempFile twice")
	_, err = s.TempFile(ctx, old)
	wantErr(t, err, meta.ErrNotFound, "TempFile after delete")
}

func testFsckLog(t *testing.T, newDB NewDB) {
	ctx := ctxT(t)
	s := Open(t, newDB(t))
	if n, err := s.MaxFsckLogID(ctx); err != nil || n != 0 {
		t.Fatalf("MaxFsckLogID(empty) = %d, %v", n, err)
	}
	at := time.Unix(1700000000, 0)
	must(t, s.AddFsckLog(ctx, meta.FsckLogEntry{UTime: at, FID: 5, EvCode: "MISS", DevID: 3}), "AddFsckLog")
	must(t, s.AddFsckLog(ctx, meta.FsckLogEntry{EvCode: "NOPA"}), "AddFsckLog(no fid)")
	must(t, s.AddFsckLog(ctx, meta.FsckLogEntry{FID: 6, EvCode: "REPL"}), "AddFsckLog")
	all, err := s.FsckLog(ctx, 0, 10)
	if err != nil || len(all) != 3 {
		t.Fatalf("FsckLog = %+v, %v", all, err)
	}
	if e := all[0]; !e.UTime.Equal(at) || e.FID != 5 || e.EvCode != "MISS" || e.DevID != 3 {
		t.Fatalf("FsckLog[0] = %+v", e)
	}
	if e := all[1]; e.FID != 0 || e.DevID != 0 || time.Since(e.UTime).Abs() > time.Minute {
		t.Fatalf("FsckLog[1] = %+v", e)
	}
	if page, _ := s.FsckLog(ctx, all[0].LogID, 1); len(page) != 1 || page[0].LogID != all[1].LogID {
		t.Fatalf("FsckLog(after first, 1) = %+v", page)
	}
	if n, _ := s.MaxFsckLogID(ctx); n != all[2].LogID {
		t.Fatalf("MaxFsckLogID = %d, want %d", n, all[2].LogID)
	}
	must(t, s.ClearFsckLog(ctx), "ClearFsckLog")
	if all, _ := s.FsckLog(ctx, 0, 10); len(all) != 0 {
		t.Fatalf("FsckLog after clear = %+v", all)
	}
}

func testAttrs(t *testing.T, newDB NewDB) {
	ctx := ctxT(t)
	s := Open(t, newDB(t))
	_, err := s.GetAttr(ctx, 1, "a")
	wantErr(t, err, meta.ErrNotFound, "GetAttr(missing)")
	ts := time.Unix(1700000000, 123456789)
	file := meta.Attr{DomainID: 1, Path: "dir/f", Mode: 0o100640, UID: 1000, GID: 100, MTime: ts, CTime: ts, ATime: ts}
	link := meta.Attr{DomainID: 1, Path: "dir/l", Mode: 0o120777, Target: "../x y/😀"}
	for _, a := range []meta.Attr{
		file, link,
		{DomainID: 1, Path: "dir", IsDir: true, Mode: 0o40755},
		{DomainID: 1, Path: "dir/sub", IsDir: true, Mode: 0o40700},
		{DomainID: 1, Path: "dir/sub/deep", IsDir: true, Mode: 0o40700},
		{DomainID: 1, Path: "dirx", IsDir: true, Mode: 0o40755},
		{DomainID: 2, Path: "dir/sub", IsDir: true, Mode: 0o40755},
	} {
		must(t, s.SetAttr(ctx, a), "SetAttr(%q)", a.Path)
	}
	got, err := s.GetAttr(ctx, 1, "dir/f")
	if err != nil || !got.MTime.Equal(ts) || got.Mode != file.Mode || got.UID != 1000 || got.GID != 100 || got.IsDir {
		t.Fatalf("GetAttr(dir/f) = %+v, %v; want %+v", got, err, file)
	}
	if got, _ := s.GetAttr(ctx, 1, "dir/l"); got.Target != link.Target || !got.MTime.IsZero() {
		t.Fatalf("GetAttr(dir/l) = %+v", got)
	}
	file.Mode = 0o100600
	must(t, s.SetAttr(ctx, file), "SetAttr upsert")
	if got, _ := s.GetAttr(ctx, 1, "dir/f"); got.Mode != 0o100600 {
		t.Fatalf("Mode after upsert = %o", got.Mode)
	}
	// Explicit directories are listed (dir/sub), the ones below them are
	// not direct children (dir/sub/deep), nor are a file's attributes.
	ents, _, _, err := s.ListDir(ctx, 1, "dir/", "", 10)
	if err != nil || len(ents) != 1 || ents[0].Pos() != "sub/" {
		t.Fatalf("ListDir(dir/) = %+v, %v", ents, err)
	}
	must(t, s.SetAttr(ctx, meta.Attr{DomainID: 1, Path: "new/sub", Mode: 1}), "SetAttr(stale destination)")
	must(t, renameAttrs(ctx, s, 1, "dir", "new"), "RenameAttrs")
	for _, p := range []string{"dir", "dir/f", "dir/sub/deep"} {
		_, err := s.GetAttr(ctx, 1, p)
		wantErr(t, err, meta.ErrNotFound, "GetAttr("+p+") after rename")
	}
	for p, mode := range map[string]uint32{"new": 0o40755, "new/f": 0o100600, "new/l": 0o120777, "new/sub": 0o40700, "new/sub/deep": 0o40700} {
		if got, err := s.GetAttr(ctx, 1, p); err != nil || got.Mode != mode {
			t.Fatalf("GetAttr(%q) after rename = %+v, %v; want mode %o", p, got, err, mode)
		}
	}
	if got, err := s.GetAttr(ctx, 1, "dirx"); err != nil || got.Path != "dirx" {
		t.Fatalf("dirx moved by renaming dir: %+v, %v", got, err)
	}
	if got, err := s.GetAttr(ctx, 2, "dir/sub"); err != nil || !got.IsDir {
		t.Fatalf("other domain's attr moved: %+v, %v", got, err)
	}
	must(t, s.DeleteAttr(ctx, 1, "new/f"), "DeleteAttr")
	must(t, s.DeleteAttr(ctx, 1, "new/f"), "DeleteAttr twice")
	_, err = s.GetAttr(ctx, 1, "new/f")
	wantErr(t, err, meta.ErrNotFound, "GetAttr after DeleteAttr")
}
