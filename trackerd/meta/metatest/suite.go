package metatest

import (
	"context"
	"errors"
	"testing"
	"time"

	"mogfs/trackerd/meta"
)

// Run runs the conformance suite: every Store method against a real
// database made by newDB, including reopen, concurrency and paging cases.
func Run(t *testing.T, newDB NewDB) {
	cases := []struct {
		name string
		fn   func(t *testing.T, newDB NewDB)
	}{
		{"Schema", testSchema},
		{"Domains", testDomains},
		{"Classes", testClasses},
		{"Hosts", testHosts},
		{"Devices", testDevices},
		{"CreateClose", testCreateClose},
		{"ExplicitFID", testExplicitFID},
		{"FIDNeverReused", testFIDNeverReused},
		{"DeleteRename", testDeleteRename},
		{"Keys", testKeys},
		{"ListKeysPaging", testListKeysPaging},
		{"ListFIDs", testListFIDs},
		{"FileOn", testFileOn},
		{"Checksums", testChecksums},
		{"Settings", testSettings},
		{"Queues", testQueues},
		{"LegacyDeletes", testLegacyDeletes},
		{"ConcurrentClaim", testConcurrentClaim},
		{"ConcurrentWriters", testConcurrentWriters},
		{"ConcurrentIDs", testConcurrentIDs},
		{"TryLock", testTryLock},
		{"TempFiles", testTempFiles},
		{"FsckLog", testFsckLog},
		{"Attrs", testAttrs},
		{"FastPaths", testFastPaths},
		{"ListDir", testListDir},
		{"ListDirScale", testListDirScale},
		{"ListDirRandom", testListDirRandom},
		{"AttrIno", testAttrIno},
		{"Links", testLinks},
		{"Entries", testEntries},
		{"Census", testCensus},
		{"ReadOnly", testReadOnly},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel() // each case has its own database
			c.fn(t, newDB)
		})
	}
}

// ctxT is a per-test context with a deadline so a hang fails the test.
func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

func wantErr(t *testing.T, err, want error, what string) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("%s = %v, want %v", what, err, want)
	}
}

// newFile creates key in dmid through create_open/create_close on devid and
// returns its fid.
func newFile(t *testing.T, s *meta.Store, dmid int, key string, devid int) int64 {
	t.Helper()
	ctx := ctxT(t)
	fid, err := s.RegisterTempFile(ctx, meta.TempFile{DomainID: dmid, Key: key, DevIDs: []int{devid}})
	must(t, err, "RegisterTempFile(%q)", key)
	_, err = s.CloseFile(ctx, meta.CloseArgs{FID: fid, DomainID: dmid, Key: key, DevID: devid, Length: 10})
	must(t, err, "CloseFile(%d, %q)", fid, key)
	return fid
}

func newDomain(t *testing.T, s *meta.Store, name string) meta.Domain {
	t.Helper()
	d, err := s.CreateDomain(ctxT(t), name)
	must(t, err, "CreateDomain(%q)", name)
	return d
}

func testSchema(t *testing.T, newDB NewDB) {
	ctx := ctxT(t)
	cfg := newDB(t)
	s := Open(t, cfg)
	v, ok, err := s.Setting(ctx, "schema_version")
	if err != nil || !ok || v != "17" {
		t.Fatalf("Setting(schema_version) = %q, %v, %v; want 17", v, ok, err)
	}
	d := newDomain(t, s, "d")
	newFile(t, s, d.ID, "k", 1)
	s.Close()

	// Opening again (tables exist) is a no-op that keeps the data.
	s2 := Open(t, cfg)
	if _, err := s2.FileByKey(ctx, d.ID, "k"); err != nil {
		t.Fatalf("FileByKey after reopen: %v", err)
	}
	s3 := Open(t, cfg) // two stores on one database at once
	if doms, err := s3.Domains(ctx); err != nil || len(doms) != 1 {
		t.Fatalf("Domains() on a second store = %v, %v", doms, err)
	}
	if s2.Dialect() != "sqlite" && s2.Dialect() != "mysql" {
		t.Fatalf("Dialect() = %q", s2.Dialect())
	}
	now, err := s2.Now(ctx)
	if err != nil || time.Since(now).Abs() > time.Minute {
		t.Fatalf("Now() = %v, %v; want about %v", now, err, time.Now())
	}

	// A newer or unknown version is refused.
	for _, v := range []string{"18", "banana"} {
		must(t, s2.SetSetting(ctx, "schema_version", v), "SetSetting")
		_, err := meta.Open(ctx, cfg)
		wantErr(t, err, meta.ErrSchemaVersion, "Open with schema_version "+v)
	}
	// An older one is upgraded and recorded as 17.
	must(t, s2.SetSetting(ctx, "schema_version", "15"), "SetSetting")
	s4 := Open(t, cfg)
	if v, _, _ := s4.Setting(ctx, "schema_version"); v != "17" {
		t.Fatalf("schema_version after upgrade = %q, want 17", v)
	}
}

func testDomains(t *testing.T, newDB NewDB) {
	ctx := ctxT(t)
	s := Open(t, newDB(t))
	a := newDomain(t, s, "alpha")
	b := newDomain(t, s, "beta")
	if a.ID != 1 || b.ID != 2 {
		t.Fatalf("dmids = %d, %d; want 1, 2 (MAX+1)", a.ID, b.ID)
	}
	_, err := s.CreateDomain(ctx, "alpha")
	wantErr(t, err, meta.ErrExists, "CreateDomain(alpha) again")
	doms, err := s.Domains(ctx)
	if err != nil || len(doms) != 2 || doms[0] != a || doms[1] != b {
		t.Fatalf("Domains() = %v, %v", doms, err)
	}
	wantErr(t, s.DeleteDomain(ctx, "nope"), meta.ErrNotFound, "DeleteDomain(nope)")

	_, err = s.CreateClass(ctx, meta.Class{DomainID: a.ID, Name: "c", MinDevCount: 2})
	must(t, err, "CreateClass")
	wantErr(t, s.DeleteDomain(ctx, "alpha"), meta.ErrDomainHasClasses, "DeleteDomain(alpha) with class")
	must(t, s.DeleteClass(ctx, a.ID, "c"), "DeleteClass")
	// The default class row does not block deletion and goes with it.
	must(t, s.UpdateClass(ctx, meta.Class{DomainID: a.ID, Name: "default", MinDevCount: 3}), "UpdateClass(default)")
	newFile(t, s, a.ID, "k", 1)
	wantErr(t, s.DeleteDomain(ctx, "alpha"), meta.ErrDomainHasFiles, "DeleteDomain(alpha) with file")
	_, err = s.DeleteFile(ctx, a.ID, "k")
	must(t, err, "DeleteFile")
	must(t, s.SetAttr(ctx, meta.Attr{DomainID: a.ID, Path: "dir", IsDir: true}), "SetAttr")
	must(t, s.DeleteDomain(ctx, "alpha"), "DeleteDomain(alpha)")
	classes, err := s.Classes(ctx)
	if err != nil || len(classes) != 0 {
		t.Fatalf("Classes() after DeleteDomain = %v, %v; want none", classes, err)
	}
	_, err = s.GetAttr(ctx, a.ID, "dir")
	wantErr(t, err, meta.ErrNotFound, "GetAttr after DeleteDomain")
	doms, _ = s.Domains(ctx)
	if len(doms) != 1 || doms[0].Name != "beta" {
		t.Fatalf("Domains() = %v, want [beta]", doms)
	}
}

func testClasses(t *testing.T, newDB NewDB) {
	ctx := ctxT(t)
	s := Open(t, newDB(t))
	d := newDomain(t, s, "d")
	_, err := s.CreateClass(ctx, meta.Class{DomainID: 99, Name: "x", MinDevCount: 1})
	wantErr(t, err, meta.ErrNotFound, "CreateClass in unknown domain")
	c1, err := s.CreateClass(ctx, meta.Class{DomainID: d.ID, Name: "one", MinDevCount: 1})
	must(t, err, "CreateClass(one)")
	c2, err := s.CreateClass(ctx, meta.Class{DomainID: d.ID, Name: "two", MinDevCount: 3,
		ReplPolicy: "MultipleDevices()", HashType: 1})
	must(t, err, "CreateClass(two)")
	if c1.ID != 1 || c2.ID != 2 {
		t.Fatalf("classids = %d, %d; want 1, 2", c1.ID, c2.ID)
	}
	_, err = s.CreateClass(ctx, meta.Class{DomainID: d.ID, Name: "one", MinDevCount: 1})
	wantErr(t, err, meta.ErrExists, "CreateClass(one) again")
	def, err := s.CreateClass(ctx, meta.Class{DomainID: d.ID, Name: "default", MinDevCount: 4})
	must(t, err, "CreateClass(default)")
	if def.ID != 0 {
		t.Fatalf("default classid = %d, want 0", def.ID)
	}
	wantErr(t, s.UpdateClass(ctx, meta.Class{DomainID: d.ID, Name: "nope", MinDevCount: 1}), meta.ErrNotFound, "UpdateClass(nope)")
	must(t, s.UpdateClass(ctx, meta.Class{DomainID: d.ID, Name: "two", MinDevCount: 5, ReplPolicy: "", HashType: 0}), "UpdateClass(two)")
	// Writing the same values again still finds the row (matched, not changed).
	must(t, s.UpdateClass(ctx, meta.Class{DomainID: d.ID, Name: "two", MinDevCount: 5}), "UpdateClass(two) unchanged")
	classes, err := s.Classes(ctx)
	must(t, err, "Classes")
	want := []meta.Class{
		{DomainID: d.ID, ID: 0, Name: "default", MinDevCount: 4},
		{DomainID: d.ID, ID: 1, Name: "one", MinDevCount: 1},
		{DomainID: d.ID, ID: 2, Name: "two", MinDevCount: 5},
	}
	if len(classes) != len(want) {
		t.Fatalf("Classes() = %v, want %v", classes, want)
	}
	for i := range want {
		if classes[i] != want[i] {
			t.Fatalf("Classes()[%d] = %+v, want %+v", i, classes[i], want[i])
		}
	}
	fid := newFile(t, s, d.ID, "k", 1)
	must(t, s.SetFileClass(ctx, fid, c1.ID), "SetFileClass")
	wantErr(t, s.DeleteClass(ctx, d.ID, "one"), meta.ErrClassHasFiles, "DeleteClass(one) with files")
	wantErr(t, s.DeleteClass(ctx, d.ID, "nope"), meta.ErrNotFound, "DeleteClass(nope)")
	must(t, s.DeleteClass(ctx, d.ID, "two"), "DeleteClass(two)")
	if n, err := s.CountFiles(ctx, d.ID, c1.ID); err != nil || n != 1 {
		t.Fatalf("CountFiles(class one) = %d, %v; want 1", n, err)
	}
	if n, err := s.CountFiles(ctx, d.ID, -1); err != nil || n != 1 {
		t.Fatalf("CountFiles(domain) = %d, %v; want 1", n, err)
	}
	// A new class after a deletion takes MAX+1 again.
	c3, err := s.CreateClass(ctx, meta.Class{DomainID: d.ID, Name: "three", MinDevCount: 1})
	if err != nil || c3.ID != 2 {
		t.Fatalf("CreateClass(three) = %+v, %v; want classid 2", c3, err)
	}
}
