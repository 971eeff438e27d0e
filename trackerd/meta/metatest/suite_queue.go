package metatest

import (
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"mogfs/trackerd/meta"
)

func testQueues(t *testing.T, newDB NewDB) {
	ctx := ctxT(t)
	s := Open(t, newDB(t))
	now, err := s.Now(ctx)
	must(t, err, "Now")
	later := now.Add(time.Hour)
	for _, j := range []meta.Job{
		{Queue: meta.QueueReplicate, FID: 1},
		{Queue: meta.QueueReplicate, FID: 2, NextTry: later, FromDevID: 4},
		{Queue: meta.QueueReplicate, FID: 3, NextTry: meta.EndOfTime},
		{Queue: meta.QueueDelete, FID: 1, NextTry: now.Add(-time.Second)},
		{Queue: meta.QueueFSCK, FID: 1},
		{Queue: meta.QueueRebalance, FID: 1, FromDevID: 9, Arg: "3,4"},
	} {
		must(t, s.Enqueue(ctx, j), "Enqueue(%+v)", j)
	}
	// INSERT IGNORE: an existing row is kept as it is.
	must(t, s.Enqueue(ctx, meta.Job{Queue: meta.QueueReplicate, FID: 2, FromDevID: 7}), "Enqueue again")
	j, err := s.QueueJob(ctx, meta.QueueReplicate, 2)
	if err != nil || j.FromDevID != 4 || !j.NextTry.Equal(later) {
		t.Fatalf("QueueJob(replicate, 2) = %+v, %v; want the first row kept", j, err)
	}
	j, err = s.QueueJob(ctx, meta.QueueRebalance, 1)
	if err != nil || j.FromDevID != 9 || j.Arg != "3,4" || j.Queue != meta.QueueRebalance {
		t.Fatalf("QueueJob(rebalance, 1) = %+v, %v", j, err)
	}
	_, err = s.QueueJob(ctx, meta.QueueFSCK, 2)
	wantErr(t, err, meta.ErrNotFound, "QueueJob(fsck, 2)")
	depth := func(q meta.Queue, want int64) {
		t.Helper()
		if n, err := s.QueueDepth(ctx, q); err != nil || n != want {
			t.Fatalf("QueueDepth(%d) = %d, %v; want %d", q, n, err, want)
		}
	}
	depth(meta.QueueReplicate, 3)
	depth(meta.QueueDelete, 1)
	depth(meta.QueueFSCK, 1)
	depth(meta.QueueRebalance, 1)

	// Only due rows are claimed, and a claimed row is leased.
	jobs, err := s.Claim(ctx, meta.QueueReplicate, 10, time.Hour)
	if err != nil || len(jobs) != 1 || jobs[0].FID != 1 {
		t.Fatalf("Claim(replicate) = %+v, %v; want fid 1 only", jobs, err)
	}
	if again, _ := s.Claim(ctx, meta.QueueReplicate, 10, time.Hour); len(again) != 0 {
		t.Fatalf("Claim again = %+v, want nothing (leased)", again)
	}
	if j, _ := s.QueueJob(ctx, meta.QueueReplicate, 1); j.NextTry.Before(now.Add(59 * time.Minute)) {
		t.Fatalf("claimed row nexttry = %v, want about now+1h", j.NextTry)
	}
	// Renew extends the lease only while the row holds the lease it had.
	if jobs[0].LeaseEnd.Before(now.Add(59 * time.Minute)) {
		t.Fatalf("claimed LeaseEnd = %v, want about now+1h", jobs[0].LeaseEnd)
	}
	end, ok, err := s.Renew(ctx, meta.QueueReplicate, 1, jobs[0].LeaseEnd, 2*time.Hour)
	if err != nil || !ok || end.Before(now.Add(119*time.Minute)) {
		t.Fatalf("Renew = %v, %v, %v; want about now+2h", end, ok, err)
	}
	if j, _ := s.QueueJob(ctx, meta.QueueReplicate, 1); !j.NextTry.Equal(end) {
		t.Fatalf("renewed row nexttry = %v, want %v", j.NextTry, end)
	}
	if _, ok, err := s.Renew(ctx, meta.QueueReplicate, 1, jobs[0].LeaseEnd, time.Hour); err != nil || ok {
		t.Fatalf("Renew with a stale lease end = %v, %v; want not ours", ok, err)
	}
	if _, ok, err := s.Renew(ctx, meta.QueueDelete, 1, end, time.Hour); err != nil || ok {
		t.Fatalf("Renew of another queue's row = %v, %v; want not ours", ok, err)
	}
	// Fsck and rebalance rows share file_to_queue but not claims.
	if jobs, _ := s.Claim(ctx, meta.QueueFSCK, 10, time.Minute); len(jobs) != 1 || jobs[0].Queue != meta.QueueFSCK {
		t.Fatalf("Claim(fsck) = %+v", jobs)
	}
	if jobs, _ := s.Claim(ctx, meta.QueueRebalance, 10, time.Minute); len(jobs) != 1 || jobs[0].Arg != "3,4" {
		t.Fatalf("Claim(rebalance) = %+v", jobs)
	}
	// Retry makes the row due at `at` and counts the failure; the lease is
	// then gone.
	must(t, s.Retry(ctx, meta.QueueReplicate, 1, now.Add(-time.Second)), "Retry")
	if _, ok, err := s.Renew(ctx, meta.QueueReplicate, 1, end, time.Hour); err != nil || ok {
		t.Fatalf("Renew after Retry = %v, %v; want not ours", ok, err)
	}
	jobs, err = s.Claim(ctx, meta.QueueReplicate, 10, time.Second)
	if err != nil || len(jobs) != 1 || jobs[0].FailCount != 1 {
		t.Fatalf("Claim after Retry = %+v, %v; want fid 1 with failcount 1", jobs, err)
	}
	wantErr(t, s.Retry(ctx, meta.QueueDelete, 99, now), meta.ErrNotFound, "Retry(missing)")
	// A short lease expires and the row comes due again.
	time.Sleep(2100 * time.Millisecond)
	if jobs, _ := s.Claim(ctx, meta.QueueReplicate, 10, time.Second); len(jobs) != 1 {
		t.Fatalf("Claim after lease end = %+v, want the row back", jobs)
	}
	must(t, s.Finish(ctx, meta.QueueReplicate, 1), "Finish")
	must(t, s.Finish(ctx, meta.QueueReplicate, 1), "Finish twice")
	depth(meta.QueueReplicate, 2)
	must(t, s.Finish(ctx, meta.QueueFSCK, 1), "Finish(fsck)")
	depth(meta.QueueRebalance, 1)
	n, err := s.ReplicateNow(ctx)
	if err != nil || n != 2 {
		t.Fatalf("ReplicateNow = %d, %v; want 2", n, err)
	}
	jobs, _ = s.Claim(ctx, meta.QueueReplicate, 1, time.Minute)
	if len(jobs) != 1 {
		t.Fatalf("Claim(limit 1) = %+v", jobs)
	}
	if jobs, err := s.Claim(ctx, meta.QueueDelete, 10, time.Minute); err != nil || len(jobs) != 1 {
		t.Fatalf("Claim(delete) = %+v, %v", jobs, err)
	}
}

func testConcurrentClaim(t *testing.T, newDB NewDB) {
	ctx := ctxT(t)
	cfg := newDB(t)
	stores := []*meta.Store{Open(t, cfg), Open(t, cfg)} // two trackers
	const rows = 500
	for i := range rows {
		must(t, stores[0].Enqueue(ctx, meta.Job{Queue: meta.QueueDelete, FID: int64(i + 1)}), "Enqueue")
	}
	var mu sync.Mutex // guards claimed
	claimed := map[int64]int{}
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for g := range 4 {
		wg.Go(func() {
			s := stores[g%2]
			for {
				jobs, err := s.Claim(ctx, meta.QueueDelete, 7, time.Hour)
				if err != nil {
					errs <- err
					return
				}
				if len(jobs) == 0 {
					return
				}
				mu.Lock()
				for _, j := range jobs {
					claimed[j.FID]++
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("Claim: %v", err)
	}
	if len(claimed) != rows {
		t.Fatalf("claimed %d distinct rows, want %d", len(claimed), rows)
	}
	for fid, n := range claimed {
		if n != 1 {
			t.Fatalf("fid %d claimed %d times", fid, n)
		}
	}
}

func testConcurrentWriters(t *testing.T, newDB NewDB) {
	ctx := ctxT(t)
	cfg := newDB(t)
	stores := []*meta.Store{Open(t, cfg), Open(t, cfg)}
	d := newDomain(t, stores[0], "d")
	const writers, each = 8, 25
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	var mu sync.Mutex // guards fids
	fids := map[int64]bool{}
	for w := range writers {
		wg.Go(func() {
			s := stores[w%2]
			for i := range each {
				key := fmt.Sprintf("w%d/%d", w, i)
				fid, err := s.RegisterTempFile(ctx, meta.TempFile{DomainID: d.ID, Key: key, DevIDs: []int{1}})
				if err == nil {
					_, err = s.CloseFile(ctx, meta.CloseArgs{FID: fid, DomainID: d.ID, Key: key, DevID: 1})
				}
				if err == nil {
					// Everyone also overwrites one shared key and bumps
					// one device's replica map.
					var f2 int64
					f2, err = s.RegisterTempFile(ctx, meta.TempFile{DomainID: d.ID, Key: "shared"})
					if err == nil {
						_, err = s.CloseFile(ctx, meta.CloseArgs{FID: f2, DomainID: d.ID, Key: "shared", DevID: 2})
					}
					if err == nil {
						err = s.AddFileOn(ctx, fid, 3)
					}
				}
				if err != nil {
					errs <- fmt.Errorf("writer %d key %s: %w", w, key, err)
					return
				}
				mu.Lock()
				if fids[fid] {
					errs <- fmt.Errorf("fid %d allocated twice", fid)
				}
				fids[fid] = true
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	s := stores[0]
	if n, _ := s.CountFiles(ctx, d.ID, -1); n != writers*each+1 {
		t.Fatalf("CountFiles = %d, want %d (lost update?)", n, writers*each+1)
	}
	if n, _ := s.CountFileOn(ctx, 3); n != writers*each {
		t.Fatalf("CountFileOn(3) = %d, want %d", n, writers*each)
	}
	// Every overwritten "shared" fid is on the delete queue: none leaked.
	if n, _ := s.QueueDepth(ctx, meta.QueueDelete); n != writers*each-1 {
		t.Fatalf("delete queue depth = %d, want %d", n, writers*each-1)
	}
}

func testTryLock(t *testing.T, newDB NewDB) {
	ctx := ctxT(t)
	cfg := newDB(t)
	a, b := Open(t, cfg), Open(t, cfg)
	relA, ok, err := a.TryLock(ctx, "mgfs:fid:1:replicate", time.Minute)
	if err != nil || !ok {
		t.Fatalf("TryLock(a) = %v, %v", ok, err)
	}
	for _, s := range []*meta.Store{a, b} {
		if _, ok, err := s.TryLock(ctx, "mgfs:fid:1:replicate", time.Minute); err != nil || ok {
			t.Fatalf("TryLock while held = %v, %v; want false", ok, err)
		}
	}
	relOther, ok, err := b.TryLock(ctx, "mgfs:fid:2:replicate", time.Minute)
	if err != nil || !ok {
		t.Fatalf("TryLock(other name) = %v, %v", ok, err)
	}
	relOther()
	relA()
	relB, ok, err := b.TryLock(ctx, "mgfs:fid:1:replicate", time.Minute)
	if err != nil || !ok {
		t.Fatalf("TryLock after release = %v, %v", ok, err)
	}
	relB()
	long := fmt.Sprintf("mogfs:%0100d", 7)
	relL, ok, err := a.TryLock(ctx, long, time.Minute)
	if err != nil || !ok {
		t.Fatalf("TryLock(100-char name) = %v, %v", ok, err)
	}
	if _, ok, _ := b.TryLock(ctx, long, time.Minute); ok {
		t.Fatal("TryLock(100-char name) twice succeeded")
	}
	relL()

	// Many goroutines racing for one lock: at most one holder at a time.
	var mu sync.Mutex // guards holders, max
	holders, maxHolders, wins := 0, 0, 0
	var wg sync.WaitGroup
	for g := range 6 {
		wg.Go(func() {
			s := []*meta.Store{a, b}[g%2]
			for range 10 {
				rel, ok, err := s.TryLock(ctx, "race", time.Minute)
				if err != nil {
					t.Errorf("TryLock: %v", err)
					return
				}
				if !ok {
					continue
				}
				mu.Lock()
				holders++
				wins++
				maxHolders = max(maxHolders, holders)
				mu.Unlock()
				time.Sleep(time.Millisecond)
				mu.Lock()
				holders--
				mu.Unlock()
				rel()
			}
		})
	}
	wg.Wait()
	if maxHolders != 1 || wins == 0 {
		t.Fatalf("lock race: max holders %d, wins %d; want 1 and > 0", maxHolders, wins)
	}
}

func testFileOn(t *testing.T, newDB NewDB) {
	ctx := ctxT(t)
	s := Open(t, newDB(t))
	d := newDomain(t, s, "d")
	var onDev []int64
	for i := range 9 {
		fid := newFile(t, s, d.ID, fmt.Sprint("k", i), 1)
		if i%2 == 0 {
			must(t, s.AddFileOn(ctx, fid, 2), "AddFileOn")
			onDev = append(onDev, fid)
		}
	}
	fid := onDev[0]
	must(t, s.AddFileOn(ctx, fid, 2), "AddFileOn twice")
	must(t, s.AddFileOn(ctx, fid, 5), "AddFileOn(5)")
	if f, _ := s.FileByFID(ctx, fid); f.DevCount != 3 {
		t.Fatalf("devcount = %d, want 3", f.DevCount)
	}
	if ids, _ := s.FileDevIDs(ctx, fid); !slices.Equal(ids, []int{1, 2, 5}) {
		t.Fatalf("FileDevIDs = %v", ids)
	}
	must(t, s.RemoveFileOn(ctx, fid, 1), "RemoveFileOn")
	must(t, s.RemoveFileOn(ctx, fid, 1), "RemoveFileOn twice")
	if f, _ := s.FileByFID(ctx, fid); f.DevCount != 2 {
		t.Fatalf("devcount after remove = %d, want 2", f.DevCount)
	}
	// A fid being deleted has file_on rows but no file row.
	must(t, s.AddFileOn(ctx, 999999, 2), "AddFileOn without file row")
	want := append(slices.Clone(onDev), 999999)
	var got []int64
	after := int64(0)
	for {
		page, err := s.FIDsOnDevice(ctx, 2, after, 2)
		must(t, err, "FIDsOnDevice")
		if len(page) == 0 {
			break
		}
		got = append(got, page...)
		after = page[len(page)-1]
	}
	if !slices.Equal(got, want) {
		t.Fatalf("FIDsOnDevice paged = %v, want %v", got, want)
	}
	var newest []int64
	for before := int64(0); ; {
		page, err := s.FIDsOnDeviceNewest(ctx, 2, before, 2)
		must(t, err, "FIDsOnDeviceNewest")
		if len(page) == 0 {
			break
		}
		newest = append(newest, page...)
		before = page[len(page)-1]
	}
	if slices.Reverse(want); !slices.Equal(newest, want) {
		t.Fatalf("FIDsOnDeviceNewest paged = %v, want %v", newest, want)
	}
	slices.Reverse(want)
	if n, err := s.CountFileOn(ctx, 2); err != nil || n != int64(len(want)) {
		t.Fatalf("CountFileOn(2) = %d, %v; want %d", n, err, len(want))
	}
	if n, _ := s.CountFileOn(ctx, 77); n != 0 {
		t.Fatalf("CountFileOn(77) = %d", n)
	}
}

// testConcurrentIDs: MAX+1 ids (dmid, classid, hostid) taken by racing
// trackers are distinct and no racer gets a spurious ErrExists.
func testConcurrentIDs(t *testing.T, newDB NewDB) {
	ctx := ctxT(t)
	cfg := newDB(t)
	stores := []*meta.Store{Open(t, cfg), Open(t, cfg)}
	base := newDomain(t, stores[0], "base")
	var wg sync.WaitGroup
	errs := make(chan error, 3*8*3)
	for g := range 8 {
		wg.Go(func() {
			s := stores[g%2]
			for i := range 3 {
				n := fmt.Sprintf("g%d-%d", g, i)
				if _, err := s.CreateDomain(ctx, n); err != nil {
					errs <- fmt.Errorf("CreateDomain(%s): %w", n, err)
				}
				if _, err := s.CreateClass(ctx, meta.Class{DomainID: base.ID, Name: n, MinDevCount: 1}); err != nil {
					errs <- fmt.Errorf("CreateClass(%s): %w", n, err)
				}
				if _, err := s.CreateHost(ctx, meta.Host{Name: n, IP: fmt.Sprintf("10.1.%d.%d", g, i)}); err != nil {
					errs <- fmt.Errorf("CreateHost(%s): %w", n, err)
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	doms, _ := stores[0].Domains(ctx)
	classes, _ := stores[0].Classes(ctx)
	hosts, _ := stores[0].Hosts(ctx)
	if len(doms) != 25 || len(classes) != 24 || len(hosts) != 24 {
		t.Fatalf("got %d domains, %d classes, %d hosts; want 25, 24, 24", len(doms), len(classes), len(hosts))
	}
}

// testLegacyDeletes: the delete queue of MogileFS 1.x moves onto
// file_to_delete2 in batches (past one batch here), once; a
// file_to_delete_later row not yet due stays, and a fid already queued is
// not queued twice.
func testLegacyDeletes(t *testing.T, newDB NewDB) {
	s := Open(t, newDB(t))
	ctx := ctxT(t)
	db := s.DB()
	now := time.Now()
	tx, err := db.BeginTx(ctx, nil)
	must(t, err, "begin")
	for fid := 1; fid <= 1500; fid++ {
		_, err := tx.ExecContext(ctx, "INSERT INTO file_to_delete (fid) VALUES (?)", fid)
		must(t, err, "insert file_to_delete")
	}
	_, err = tx.ExecContext(ctx, "INSERT INTO file_to_delete_later (fid, delafter) VALUES (?, ?), (?, ?)",
		2001, now.Add(-time.Minute).Unix(), 2002, now.Add(time.Hour).Unix())
	must(t, err, "insert file_to_delete_later")
	must(t, tx.Commit(), "commit")
	must(t, s.Enqueue(ctx, meta.Job{Queue: meta.QueueDelete, FID: 7}), "Enqueue(7)")

	n, err := s.AdoptLegacyDeletes(ctx, now)
	must(t, err, "AdoptLegacyDeletes")
	if n != 1501 {
		t.Fatalf("AdoptLegacyDeletes moved %d, want 1501", n)
	}
	if d, err := s.QueueDepth(ctx, meta.QueueDelete); err != nil || d != 1501 {
		t.Fatalf("delete queue depth %d, %v; want 1501", d, err)
	}
	if n, err := s.AdoptLegacyDeletes(ctx, now); err != nil || n != 0 {
		t.Fatalf("second AdoptLegacyDeletes = %d, %v; want 0", n, err)
	}
	var legacy, later int
	must(t, db.QueryRowContext(ctx, "SELECT COUNT(*) FROM file_to_delete").Scan(&legacy), "count")
	must(t, db.QueryRowContext(ctx, "SELECT COUNT(*) FROM file_to_delete_later").Scan(&later), "count")
	if legacy != 0 || later != 1 {
		t.Fatalf("left %d in file_to_delete and %d in file_to_delete_later, want 0 and 1", legacy, later)
	}
	jobs, err := s.Claim(ctx, meta.QueueDelete, 10, time.Minute)
	must(t, err, "Claim")
	if len(jobs) != 10 {
		t.Fatalf("claimed %d adopted deletes, want 10 due now", len(jobs))
	}
}
