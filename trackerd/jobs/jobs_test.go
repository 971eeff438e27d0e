package jobs_test

import (
	"bytes"
	"crypto/md5"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"mogfs/nodeproto"
	"mogfs/trackerd/jobs"
	"mogfs/trackerd/meta"
)

func TestReplicateToTwoHosts(t *testing.T) {
	c := newCluster(t, 1, 1, 1)
	fids := c.files("rep", 5, 1)
	j := c.startJobs("t1", nil)
	c.waitFor(15*time.Second, "2 copies on 2 hosts", func() (bool, string) { return c.replicated(fids, 2) })
	c.waitFor(5*time.Second, "empty replicate queue", func() (bool, string) {
		n := c.queueDepth(meta.QueueReplicate)
		return n == 0, fmt.Sprintf("depth %d", n)
	})
	for fid := range fids {
		f, err := c.st.FileByFID(t.Context(), fid)
		if err != nil || f.DevCount != 2 {
			t.Errorf("fid %d devcount = %d (%v), want 2", fid, f.DevCount, err)
		}
	}
	if got := j.Stats()["replicated"]; got != int64(len(fids)) {
		t.Errorf("Stats()[replicated] = %d, want %d", got, len(fids))
	}
}

func TestReplicateSavesChecksumAndHonoursPolicy(t *testing.T) {
	c := newCluster(t, 1, 1, 1)
	ctx := t.Context()
	cls, err := c.st.CreateClass(ctx, meta.Class{DomainID: c.dmid, Name: "three", MinDevCount: 2, ReplPolicy: "MultipleHosts(3)", HashType: 1})
	if err != nil {
		t.Fatal(err)
	}
	data := bytes.Repeat([]byte("checksummed "), 5000)
	fid := c.upload("sum", cls.ID, data, 2)
	c.startJobs("t1", nil)
	c.waitFor(15*time.Second, "3 copies", func() (bool, string) { return c.replicated(map[int64][]byte{fid: data}, 3) })
	ht, sum, err := c.st.Checksum(ctx, fid)
	want := md5.Sum(data)
	if err != nil || ht != 1 || !bytes.Equal(sum, want[:]) {
		t.Errorf("Checksum(%d) = %d %x %v, want MD5 %x", fid, ht, sum, err, want)
	}
}

func TestReplicateTrimsExtraCopies(t *testing.T) {
	c := newCluster(t, 1, 1, 1)
	ctx := t.Context()
	data := []byte("over-replicated")
	fid := c.upload("extra", 0, data, 1)
	for _, d := range []int{2, 3} {
		c.put(d, fid, data)
		if err := c.st.AddFileOn(ctx, fid, d); err != nil {
			t.Fatal(err)
		}
	}
	c.startJobs("t1", nil)
	c.waitFor(15*time.Second, "trimmed to 2 copies", func() (bool, string) { return c.replicated(map[int64][]byte{fid: data}, 2) })
	// The trimmed copy is gone from disk too.
	left := 0
	for d := 1; d <= 3; d++ {
		if _, err := c.devNode[d].File(nodeproto.FIDPath(d, fid)); err == nil {
			left++
		}
	}
	if left != 2 {
		t.Errorf("%d replicas on disk, want 2", left)
	}
}

func TestDeleteRemovesEveryCopy(t *testing.T) {
	c := newCluster(t, 1, 1)
	fids := c.files("del", 3, 1)
	c.startJobs("t1", nil)
	c.waitFor(15*time.Second, "replication", func() (bool, string) { return c.replicated(fids, 2) })
	for i := range 3 {
		if _, err := c.st.DeleteFile(t.Context(), c.dmid, fmt.Sprintf("del/%d", i)); err != nil {
			t.Fatal(err)
		}
	}
	c.waitFor(15*time.Second, "replicas deleted", func() (bool, string) {
		for fid := range fids {
			if devs := c.devids(fid); len(devs) != 0 {
				return false, fmt.Sprintf("fid %d still on %v", fid, devs)
			}
			for d := 1; d <= 2; d++ {
				if _, err := c.devNode[d].File(nodeproto.FIDPath(d, fid)); !errors.Is(err, os.ErrNotExist) {
					return false, fmt.Sprintf("fid %d still on disk of dev %d", fid, d)
				}
			}
		}
		n := c.queueDepth(meta.QueueDelete)
		return n == 0, fmt.Sprintf("delete queue depth %d", n)
	})
}

func TestStaleTempfileDeleted(t *testing.T) {
	c := newCluster(t, 1, 1)
	ctx := t.Context()
	fid, err := c.st.RegisterTempFile(ctx, meta.TempFile{DomainID: c.dmid, Key: "abandoned", DevIDs: []int{1, 2}})
	if err != nil {
		t.Fatal(err)
	}
	c.put(1, fid, []byte("never closed"))
	c.startJobs("t1", func(cfg *jobs.Config) { cfg.TempfileTooOld = time.Second })
	c.waitFor(15*time.Second, "abandoned upload removed", func() (bool, string) {
		if _, err := c.st.TempFile(ctx, fid); !errors.Is(err, meta.ErrNotFound) {
			return false, fmt.Sprintf("tempfile row: %v", err)
		}
		if _, err := c.devNode[1].File(nodeproto.FIDPath(1, fid)); !errors.Is(err, os.ErrNotExist) {
			return false, "bytes still on dev1"
		}
		if devs := c.devids(fid); len(devs) != 0 {
			return false, fmt.Sprintf("file_on %v", devs)
		}
		n := c.queueDepth(meta.QueueDelete)
		return n == 0, fmt.Sprintf("delete queue depth %d", n)
	})
}

func TestReaperRestoresCopies(t *testing.T) {
	c := newCluster(t, 1, 1, 1)
	fids := c.files("reap", 4, 1)
	c.startJobs("t1", nil)
	c.waitFor(15*time.Second, "replication", func() (bool, string) { return c.replicated(fids, 2) })
	if err := c.st.SetDeviceState(t.Context(), 1, "dead"); err != nil {
		t.Fatal(err)
	}
	c.devNode[1].Stop()
	if err := c.mon.Refresh(t.Context()); err != nil {
		t.Fatal(err)
	}
	c.waitFor(20*time.Second, "copies restored off the dead device", func() (bool, string) { return c.replicated(fids, 2, 1) })
}

func TestDrainEmptiesDevice(t *testing.T) {
	c := newCluster(t, 1, 1, 1)
	fids := c.files("drain", 4, 1)
	c.startJobs("t1", nil)
	c.waitFor(15*time.Second, "replication", func() (bool, string) { return c.replicated(fids, 2) })
	if err := c.st.SetDeviceState(t.Context(), 1, "drain"); err != nil {
		t.Fatal(err)
	}
	if err := c.mon.Refresh(t.Context()); err != nil {
		t.Fatal(err)
	}
	c.waitFor(20*time.Second, "drain device emptied", func() (bool, string) {
		n, err := c.st.CountFileOn(t.Context(), 1)
		if err != nil || n != 0 {
			return false, fmt.Sprintf("CountFileOn(1) = %d, %v", n, err)
		}
		for fid := range fids {
			if _, err := c.devNode[1].File(nodeproto.FIDPath(1, fid)); !errors.Is(err, os.ErrNotExist) {
				return false, fmt.Sprintf("fid %d still on the drain disk", fid)
			}
		}
		return c.replicated(fids, 2, 1)
	})
}

func TestFsckRepairsMissingCopy(t *testing.T) {
	c := newCluster(t, 1, 1, 1)
	fids := c.files("fsck", 3, 1)
	j := c.startJobs("t1", nil)
	c.waitFor(15*time.Second, "replication", func() (bool, string) { return c.replicated(fids, 2) })
	// Lose one replica behind the tracker's back.
	var victim int64
	var vdev int
	for fid := range fids {
		victim, vdev = fid, c.devids(fid)[0]
		break
	}
	if err := os.Remove(filepath.Join(c.devNode[vdev].Docroot, nodeproto.FIDPath(vdev, victim))); err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	if err := j.Fsck.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if err := j.Fsck.Start(ctx); !errors.Is(err, jobs.ErrFsckRunning) {
		t.Errorf("second Start = %v, want ErrFsckRunning", err)
	}
	c.waitFor(20*time.Second, "fsck done and the copy restored", func() (bool, string) {
		st, err := j.Fsck.Status(ctx)
		if err != nil {
			return false, err.Error()
		}
		if st["running"] != "0" || st["num_MISS"] != "1" {
			return false, fmt.Sprintf("status %v", st)
		}
		return c.replicated(fids, 2)
	})
	log, err := j.Fsck.GetLog(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	codes := map[string]int{}
	for _, e := range log {
		codes[e.EvCode]++
		if e.EvCode == "MISS" && (e.FID != victim || e.DevID != vdev) {
			t.Errorf("MISS logged for fid %d dev %d, want fid %d dev %d", e.FID, e.DevID, victim, vdev)
		}
	}
	if codes["MISS"] != 1 || codes["REPL"] != 1 {
		t.Errorf("fsck log codes = %v, want one MISS and one REPL", codes)
	}
	st, err := j.Fsck.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st["max_fid_checked"] == "0" || st["end_fid"] == "0" {
		t.Errorf("Status = %v", st)
	}
	if err := j.Fsck.ClearLog(ctx); err != nil {
		t.Fatal(err)
	}
	if log, _ := j.Fsck.GetLog(ctx, 0); len(log) != 0 {
		t.Errorf("GetLog after ClearLog = %d rows", len(log))
	}
}

func TestTwoRunnersNeverCopyTwice(t *testing.T) {
	c := newCluster(t, 1, 1, 1)
	fids := c.files("two", 20, 1)
	a := c.startJobs("t1", func(cfg *jobs.Config) { cfg.ReplicateJobs = 3 })
	b := c.startJobs("t2", func(cfg *jobs.Config) { cfg.ReplicateJobs = 3 })
	c.waitFor(30*time.Second, "every file with 2 copies", func() (bool, string) { return c.replicated(fids, 2) })
	c.waitFor(5*time.Second, "empty replicate queue", func() (bool, string) {
		n := c.queueDepth(meta.QueueReplicate)
		return n == 0, fmt.Sprintf("depth %d", n)
	})
	ra, rb := a.Stats()["replicated"], b.Stats()["replicated"]
	if ra+rb != int64(len(fids)) {
		t.Errorf("copies made = %d + %d, want %d (one per file)", ra, rb, len(fids))
	}
	if tr := a.Stats()["replicate_trimmed"] + b.Stats()["replicate_trimmed"]; tr != 0 {
		t.Errorf("%d copies trimmed: some fid was copied twice", tr)
	}
}

// TestLegacyDeleteQueueDrained: a database from MogileFS 1.x can hold
// deletes in file_to_delete and file_to_delete_later (the file rows
// already gone, the file_on rows left for the delete worker). They are
// carried out like file_to_delete2's; a _later row not due yet waits.
func TestLegacyDeleteQueueDrained(t *testing.T) {
	c := newCluster(t, 1, 1)
	ctx := t.Context()
	fids := c.files("old", 4, 1)
	c.startJobs("t1", nil)
	c.waitFor(15*time.Second, "replication", func() (bool, string) { return c.replicated(fids, 2) })
	var order []int64
	for fid := range fids {
		order = append(order, fid)
	}
	slices.Sort(order)
	db := c.st.DB()
	exec := func(q string, args ...any) {
		t.Helper()
		if _, err := db.ExecContext(ctx, q, args...); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	for _, fid := range order {
		exec("DELETE FROM file WHERE fid = ?", fid) // an old tracker's delete
	}
	exec("INSERT INTO file_to_delete (fid) VALUES (?), (?)", order[0], order[1])
	exec("INSERT INTO file_to_delete_later (fid, delafter) VALUES (?, ?), (?, ?)",
		order[2], time.Now().Add(-time.Minute).Unix(), order[3], time.Now().Add(time.Hour).Unix())
	gone := func(fid int64) bool {
		for d := 1; d <= 2; d++ {
			if _, err := c.devNode[d].File(nodeproto.FIDPath(d, fid)); !errors.Is(err, os.ErrNotExist) {
				return false
			}
		}
		return len(c.devids(fid)) == 0
	}
	c.waitFor(15*time.Second, "legacy deletes carried out", func() (bool, string) {
		for _, fid := range order[:3] {
			if !gone(fid) {
				return false, fmt.Sprintf("fid %d still on %v", fid, c.devids(fid))
			}
		}
		var legacy int
		db.QueryRowContext(ctx, "SELECT COUNT(*) FROM file_to_delete").Scan(&legacy)
		return legacy == 0, fmt.Sprintf("%d rows left in file_to_delete", legacy)
	})
	if gone(order[3]) {
		t.Error("a file_to_delete_later row not due yet was carried out")
	}
	var later int
	if err := db.QueryRowContext(ctx, "SELECT COUNT(*) FROM file_to_delete_later").Scan(&later); err != nil || later != 1 {
		t.Errorf("file_to_delete_later holds %d rows (%v), want the one not due", later, err)
	}
}
