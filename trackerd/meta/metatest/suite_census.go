package metatest

import (
	"reflect"
	"testing"
	"time"

	"mogfs/trackerd/meta"
)

// closeFile stores key in dmid/classid with length bytes on devid.
func closeFile(t *testing.T, s *meta.Store, dmid, classid int, key string, length int64, devid int) int64 {
	t.Helper()
	ctx := ctxT(t)
	fid, err := s.RegisterTempFile(ctx, meta.TempFile{DomainID: dmid, ClassID: classid, Key: key, DevIDs: []int{devid}})
	must(t, err, "RegisterTempFile(%q)", key)
	_, err = s.CloseFile(ctx, meta.CloseArgs{FID: fid, DomainID: dmid, ClassID: classid, Key: key, DevID: devid, Length: length})
	must(t, err, "CloseFile(%q)", key)
	return fid
}

func testCensus(t *testing.T, newDB NewDB) {
	ctx := ctxT(t)
	s := Open(t, newDB(t))
	a := newDomain(t, s, "a")
	b := newDomain(t, s, "b")
	two, err := s.CreateClass(ctx, meta.Class{DomainID: a.ID, Name: "two", MinDevCount: 2})
	must(t, err, "CreateClass")
	f1 := closeFile(t, s, a.ID, 0, "k1", 3<<30, 1) // past 2^32 once doubled: sums must not overflow
	must(t, s.AddFileOn(ctx, f1, 2), "AddFileOn")
	closeFile(t, s, a.ID, two.ID, "k2", 10, 1)
	f3 := closeFile(t, s, a.ID, two.ID, "k3", 20, 2)
	must(t, s.AddFileOn(ctx, f3, 3), "AddFileOn")
	closeFile(t, s, b.ID, 0, "k4", 0, 3)

	got, err := s.FilesByClass(ctx, true)
	want := []meta.ClassFiles{
		{DomainID: a.ID, ClassID: 0, Files: 1, Bytes: 3 << 30, Stored: 6 << 30},
		{DomainID: a.ID, ClassID: two.ID, Files: 2, Bytes: 30, Stored: 50},
		{DomainID: b.ID, ClassID: 0, Files: 1},
	}
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("FilesByClass(sizes) = %+v, %v; want %+v", got, err, want)
	}
	got, err = s.FilesByClass(ctx, false)
	for i := range want {
		want[i].Bytes, want[i].Stored = 0, 0
	}
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("FilesByClass(counts) = %+v, %v; want %+v", got, err, want)
	}
	dc, err := s.FilesByDevCount(ctx)
	wantDC := []meta.DevCountFiles{
		{DomainID: a.ID, ClassID: 0, DevCount: 2, Files: 1},
		{DomainID: a.ID, ClassID: two.ID, DevCount: 1, Files: 1},
		{DomainID: a.ID, ClassID: two.ID, DevCount: 2, Files: 1},
		{DomainID: b.ID, ClassID: 0, DevCount: 1, Files: 1},
	}
	if err != nil || !reflect.DeepEqual(dc, wantDC) {
		t.Errorf("FilesByDevCount = %+v, %v; want %+v", dc, err, wantDC)
	}
	perDev, err := s.FilesByDevice(ctx)
	if want := map[int]int64{1: 2, 2: 2, 3: 2}; err != nil || !reflect.DeepEqual(perDev, want) {
		t.Errorf("FilesByDevice = %v, %v; want %v", perDev, err, want)
	}

	// CloseFile queued every fid for replication with nexttry 0.
	now, err := s.Now(ctx)
	must(t, err, "Now")
	later := now.Add(time.Hour).Unix()
	for _, j := range []meta.Job{
		{Queue: meta.QueueReplicate, FID: 100, NextTry: meta.EndOfTime},
		{Queue: meta.QueueReplicate, FID: 101, NextTry: time.Unix(later, 0)},
		{Queue: meta.QueueReplicate, FID: 102, NextTry: time.Unix(later, 0)},
		{Queue: meta.QueueDelete, FID: 103, NextTry: time.Unix(1, 0)},
		{Queue: meta.QueueFSCK, FID: 104},
		{Queue: meta.QueueFSCK, FID: 105},
		{Queue: meta.QueueRebalance, FID: 106, NextTry: time.Unix(later, 0)},
	} {
		must(t, s.Enqueue(ctx, j), "Enqueue(%+v)", j)
	}
	for _, tc := range []struct {
		q    meta.Queue
		want []meta.NextTryRows
	}{
		{meta.QueueReplicate, []meta.NextTryRows{{NextTry: 0, Rows: 4}, {NextTry: later, Rows: 2}, {NextTry: meta.EndOfTime.Unix(), Rows: 1}}},
		{meta.QueueDelete, []meta.NextTryRows{{NextTry: 1, Rows: 1}}},
		{meta.QueueFSCK, []meta.NextTryRows{{NextTry: 0, Rows: 2}}},
		{meta.QueueRebalance, []meta.NextTryRows{{NextTry: later, Rows: 1}}},
	} {
		if got, err := s.QueueByNextTry(ctx, tc.q); err != nil || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("QueueByNextTry(%d) = %v, %v; want %v", tc.q, got, err, tc.want)
		}
	}
	if got, err := s.QueueByNextTry(ctx, meta.Queue(99)); err == nil {
		t.Errorf("QueueByNextTry(99) = %v, want an error", got)
	}

	// An empty database counts nothing.
	e := Open(t, newDB(t))
	if got, err := e.FilesByClass(ctx, true); err != nil || len(got) != 0 {
		t.Errorf("FilesByClass on an empty database = %v, %v", got, err)
	}
	if got, err := e.FilesByDevice(ctx); err != nil || len(got) != 0 {
		t.Errorf("FilesByDevice on an empty database = %v, %v", got, err)
	}
}

// testReadOnly opens a database a Store wrote with OpenReadOnly: it reads
// what is there, refuses every write with ErrReadOnly, and changes nothing.
func testReadOnly(t *testing.T, newDB NewDB) {
	ctx := ctxT(t)
	cfg := newDB(t)
	s, err := meta.Open(ctx, cfg) // closed below, before a second reader
	must(t, err, "Open")
	d := newDomain(t, s, "d")
	fid := newFile(t, s, d.ID, "k", 1)

	ro, err := meta.OpenReadOnly(ctx, cfg)
	must(t, err, "OpenReadOnly")
	t.Cleanup(func() { ro.Close() })
	if f, err := ro.FileByFID(ctx, fid); err != nil || f.Key != "k" {
		t.Fatalf("FileByFID(%d) read-only = %+v, %v", fid, f, err)
	}
	if now, err := ro.Now(ctx); err != nil || time.Since(now).Abs() > time.Minute {
		t.Fatalf("Now() read-only = %v, %v", now, err)
	}
	_, err = ro.CreateDomain(ctx, "e")
	wantErr(t, err, meta.ErrReadOnly, "CreateDomain on a read-only store")
	wantErr(t, ro.SetSetting(ctx, "x", "1"), meta.ErrReadOnly, "SetSetting on a read-only store")
	_, err = ro.RegisterTempFile(ctx, meta.TempFile{DomainID: d.ID, Key: "k2"})
	wantErr(t, err, meta.ErrReadOnly, "RegisterTempFile on a read-only store")
	_, _, err = ro.TryLock(ctx, "replicate", time.Minute)
	wantErr(t, err, meta.ErrReadOnly, "TryLock on a read-only store")

	// The writer goes on beside the reader, which sees its commits.
	newFile(t, s, d.ID, "k2", 1)
	if n, err := ro.MaxFID(ctx); err != nil || n <= fid {
		t.Fatalf("MaxFID() read-only after a write = %d, %v; want > %d", n, err, fid)
	}
	if doms, err := ro.Domains(ctx); err != nil || len(doms) != 1 {
		t.Fatalf("Domains() read-only = %v, %v", doms, err)
	}
	// With no tracker left (on SQLite: no -wal or -shm file left either) a
	// reader still opens the database.
	must(t, ro.Close(), "Close read-only")
	must(t, s.Close(), "Close")
	ro, err = meta.OpenReadOnly(ctx, cfg)
	must(t, err, "OpenReadOnly after the writer closed")
	if n, err := ro.MaxFID(ctx); err != nil || n <= fid {
		t.Fatalf("MaxFID() read-only after the writer closed = %d, %v", n, err)
	}

	// A database no tracker has opened is not a MogileFS database.
	empty := newDB(t)
	raw := RawDB(t, empty)
	if _, err := raw.ExecContext(ctx, "CREATE TABLE unrelated (x INT)"); err != nil {
		t.Fatal(err)
	}
	_, err = meta.OpenReadOnly(ctx, empty)
	wantErr(t, err, meta.ErrSchemaVersion, "OpenReadOnly on a database without the schema")
}
