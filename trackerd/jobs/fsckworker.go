package jobs

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"math/rand/v2"
	"strconv"
	"time"

	"mogfs/nodeproto"
	"mogfs/trackerd/meta"
	"mogfs/trackerd/monitor"
)

// fsck event codes (Worker/Fsck.pm).
const (
	evNoPaths   = "NOPA"
	evPolicy    = "POVI"
	evMissing   = "MISS"
	evBadLength = "BLEN"
	evGone      = "GONE"
	evSearch    = "SRCH"
	evFound     = "FOND"
	evRepl      = "REPL"
	evBadCount  = "BCNT"
	evBadSum    = "BSUM"
	evNoSum     = "NSUM"
	evMultiSum  = "MSUM"
	evBadAlgo   = "BALG"
)

// fsckInjector is fsck's part of the job master: on the tracker named in
// fsck_host it queues fids in batches (queue_rate_for_fsck, 1000) while the
// fsck queue is short (queue_size_for_fsck, 20000), and ends the run when
// none are left.
type fsckInjector struct {
	j   *Jobs
	log *slog.Logger
}

// Run injects until ctx is done.
func (fi *fsckInjector) Run(ctx context.Context) {
	fi.j.every(ctx, fi.j.cfg.Poll, fi.log, "fsck", fi.inject)
}

func (fi *fsckInjector) inject(ctx context.Context) error {
	st := fi.j.cfg.Store
	f := fi.j.Fsck
	host, err := f.setting(ctx, "fsck_host")
	if err != nil || host == "" || host != fi.j.cfg.Hostname {
		return err
	}
	size := settingInt(ctx, st, "queue_size_for_fsck", 20000)
	rate := settingInt(ctx, st, "queue_rate_for_fsck", 1000)
	depth, err := st.QueueDepth(ctx, meta.QueueFSCK)
	if err != nil || depth >= size {
		return err
	}
	highest, err := f.intSetting(ctx, "fsck_highest_fid_checked")
	if err != nil {
		return err
	}
	end, err := f.intSetting(ctx, "fsck_fid_at_end")
	if err != nil {
		return err
	}
	files, err := st.ListFIDs(ctx, highest, int(rate))
	if err != nil {
		return err
	}
	last := highest
	for _, file := range files {
		if file.FID > end {
			break
		}
		if err := st.Enqueue(ctx, meta.Job{Queue: meta.QueueFSCK, FID: file.FID}); err != nil {
			return err
		}
		last = file.FID
	}
	if last == highest {
		fi.log.Info("fsck: every fid queued; run complete", "end_fid", end)
		return f.Stop(ctx)
	}
	return f.set(ctx, "fsck_highest_fid_checked", strconv.FormatInt(last, 10))
}

func settingInt(ctx context.Context, st Store, key string, def int64) int64 {
	v, ok, err := st.Setting(ctx, key)
	if err != nil || !ok {
		return def
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n <= 0 {
		return def
	}
	return n
}

// fsckWorker checks one fid per fsck queue row (Worker/Fsck.pm).
type fsckWorker struct {
	j   *Jobs
	log *slog.Logger
}

// errUnreachable means a replica could not be checked right now; the row
// stays queued and is tried again later.
var errUnreachable = errors.New("jobs: replica unreachable")

// Process checks a fid: a cheap pass (policy, devcount, HEAD of every
// replica) and, when anything looks wrong, the repairing pass under the
// per-fid lock.
func (w *fsckWorker) Process(ctx context.Context, job meta.Job) {
	st := w.j.cfg.Store
	err := w.check(ctx, job.FID)
	if ctx.Err() != nil {
		return
	}
	if err != nil {
		w.log.Info("fsck: retry later", "fid", job.FID, "err", err)
		w.j.reportErr("fsck", job.FID, 0, err)
		if err := st.Retry(ctx, meta.QueueFSCK, job.FID, time.Now().Add(backoff(job.FailCount))); err != nil {
			w.log.Warn("retry", "fid", job.FID, "err", err)
		}
		return
	}
	if err := st.Finish(ctx, meta.QueueFSCK, job.FID); err != nil {
		w.log.Warn("finish", "fid", job.FID, "err", err)
	}
	w.j.stats.add("fsck_checked", 1)
}

func (w *fsckWorker) event(ctx context.Context, fid int64, code string, devid int) {
	w.j.stats.add("fsck_"+code, 1)
	if err := w.j.cfg.Store.AddFsckLog(ctx, meta.FsckLogEntry{UTime: time.Now(), FID: fid, EvCode: code, DevID: devid}); err != nil {
		w.log.Warn("fsck log", "fid", fid, "evcode", code, "err", err)
	}
}

// fsckFile is what one check knows about the fid.
type fsckFile struct {
	f      meta.File
	cls    meta.Class
	pol    Policy
	devids []int
	algo   int // digest to verify (0: none)
	snap   *monitor.Snapshot
}

func (w *fsckWorker) check(ctx context.Context, fid int64) error {
	st := w.j.cfg.Store
	f, err := st.FileByFID(ctx, fid)
	if errors.Is(err, meta.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	cls, err := w.j.class(ctx, f.DomainID, f.ClassID)
	if err != nil {
		return err
	}
	pol, err := ParsePolicy(cls.ReplPolicy)
	if err != nil {
		return err
	}
	devids, err := st.FileDevIDs(ctx, fid)
	if err != nil {
		return err
	}
	mode, _, err := st.Setting(ctx, "fsck_checksum")
	if err != nil {
		return err
	}
	ff := fsckFile{f: f, cls: cls, pol: pol, devids: devids, snap: w.j.cfg.Monitor.Snapshot()}
	switch mode {
	case "off":
	case "MD5":
		ff.algo = nodeproto.HashMD5
	case "SHA-1":
		ff.algo = nodeproto.HashSHA1
	default:
		ff.algo = cls.HashType
	}
	policyOnly := settingInt(ctx, st, "fsck_opt_policy_only", 0) != 0

	slow := false
	if len(devids) == 0 {
		w.event(ctx, fid, evNoPaths, 0)
		slow = true
	} else {
		if !w.policyMet(ff, devids) {
			w.event(ctx, fid, evPolicy, 0)
			slow = true
		}
		if f.DevCount != len(devids) {
			w.event(ctx, fid, evBadCount, 0)
			if settingInt(ctx, st, "skip_devcount", 0) == 0 {
				// AddFileOn of an existing copy recounts devcount.
				if err := st.AddFileOn(ctx, fid, devids[0]); err != nil {
					return err
				}
			}
		}
		if cls.HashType != 0 {
			if _, _, err := st.Checksum(ctx, fid); errors.Is(err, meta.ErrNotFound) {
				slow = true
			} else if err != nil {
				return err
			}
		}
		if !slow && policyOnly {
			return nil
		}
		if mode == "MD5" || mode == "SHA-1" {
			slow = true
		}
		for _, d := range devids {
			if slow {
				break
			}
			if !ff.snap.ShouldHaveFiles(d) {
				slow = true
				break
			}
			size, err := w.j.head(ctx, "http://"+ff.snap.GetHostPort(d)+nodeproto.FIDPath(d, fid))
			switch {
			case errors.Is(err, nodeproto.ErrMissing) || (err == nil && size != f.Length):
				slow = true
			case err != nil:
				return errors.Join(errUnreachable, err)
			}
		}
	}
	if !slow {
		return nil
	}
	release, ok, err := w.j.fidLock(ctx, fid)
	if err != nil {
		return err
	}
	if !ok {
		return errors.New("jobs: fid locked by another worker")
	}
	defer release()
	return w.fix(ctx, ff)
}

// policyMet is the original's devids_meet_policy: happy and not too happy.
func (w *fsckWorker) policyMet(ff fsckFile, devids []int) bool {
	pl := placement{snap: ff.snap, min: ff.cls.MinDevCount, drainCounts: true}
	for _, d := range devids {
		if pl.counts(d) {
			pl.on = append(pl.on, d)
		}
	}
	v, _, _ := ff.pol.evaluate(pl, rand.New(rand.NewPCG(1, 2)))
	return v == allGood
}

// fix is the slow path: check every replica, search for lost ones, forget bad
// ones, reconcile checksums, and queue replication if the policy is unmet.
func (w *fsckWorker) fix(ctx context.Context, ff fsckFile) error {
	st := w.j.cfg.Store
	fid, snap := ff.f.FID, ff.snap
	var good, bad []int
	unchecked := 0
	sums := map[int][]byte{}
	for _, d := range ff.devids {
		if !snap.ShouldHaveFiles(d) {
			bad = append(bad, d)
			continue
		}
		if !snap.CanReadFrom(d) {
			unchecked++ // down: assume the copy is still there
			continue
		}
		url := "http://" + snap.GetHostPort(d) + nodeproto.FIDPath(d, fid)
		size, err := w.j.head(ctx, url)
		switch {
		case errors.Is(err, nodeproto.ErrMissing):
			w.event(ctx, fid, evMissing, d)
			bad = append(bad, d)
			continue
		case err != nil:
			return errors.Join(errUnreachable, err)
		case size != ff.f.Length:
			w.event(ctx, fid, evBadLength, d)
			bad = append(bad, d)
			continue
		}
		if ff.algo != 0 {
			h := snap.Hosts[snap.Devices[d].HostID]
			sum, err := w.j.nodes.Digest(ctx, h.IP, url, nodeproto.FIDPath(d, fid), ff.algo, ff.f.Length, true)
			if errors.Is(err, nodeproto.ErrMissing) {
				w.event(ctx, fid, evMissing, d)
				bad = append(bad, d)
				continue
			}
			if err != nil {
				return errors.Join(errUnreachable, err)
			}
			sums[d] = sum
		}
		good = append(good, d)
	}
	if len(good) == 0 && unchecked == 0 {
		w.event(ctx, fid, evSearch, 0)
		for id := range snap.Devices {
			if !snap.ShouldReadFrom(id) || containsInt(ff.devids, id) {
				continue
			}
			size, err := w.j.head(ctx, "http://"+snap.GetHostPort(id)+nodeproto.FIDPath(id, fid))
			if err == nil && size == ff.f.Length {
				w.event(ctx, fid, evFound, id)
				if err := st.AddFileOn(ctx, fid, id); err != nil {
					return err
				}
				good = append(good, id)
			}
		}
		if len(good) == 0 {
			w.event(ctx, fid, evGone, 0)
		}
	}

	if ff.algo != 0 && len(sums) > 0 {
		bad = append(bad, w.reconcileSums(ctx, ff, sums, &good)...)
	}
	for _, d := range bad {
		if err := st.RemoveFileOn(ctx, fid, d); err != nil {
			return err
		}
	}
	if len(good) > 0 && !w.policyMet(ff, good) {
		pl := placement{snap: snap, min: ff.cls.MinDevCount, on: good, drainCounts: true}
		if v, _, _ := ff.pol.evaluate(pl, rand.New(rand.NewPCG(1, 2))); v != tooGood {
			w.event(ctx, fid, evRepl, 0)
			if err := st.Enqueue(ctx, meta.Job{Queue: meta.QueueReplicate, FID: fid}); err != nil {
				return err
			}
		}
	}
	return nil
}

// reconcileSums compares the replicas' digests with each other and with the
// stored checksum; it returns the devices whose copy is wrong and removes
// them from good.
func (w *fsckWorker) reconcileSums(ctx context.Context, ff fsckFile, sums map[int][]byte, good *[]int) (wrong []int) {
	st := w.j.cfg.Store
	fid := ff.f.FID
	storedType, stored, err := st.Checksum(ctx, fid)
	haveRow := err == nil
	agree := true
	var first []byte
	for _, d := range *good {
		if first == nil {
			first = sums[d]
		} else if !bytes.Equal(first, sums[d]) {
			agree = false
		}
	}
	switch {
	case agree && !haveRow:
		if ff.cls.HashType == ff.algo {
			w.event(ctx, fid, evNoSum, 0)
			if err := st.SetChecksum(ctx, fid, ff.algo, first); err != nil {
				w.log.Warn("store checksum", "fid", fid, "err", err)
			}
		}
	case haveRow && storedType != ff.algo:
		w.event(ctx, fid, evBadAlgo, 0)
	case agree && !bytes.Equal(first, stored):
		w.event(ctx, fid, evBadSum, 0)
	case !agree && haveRow:
		var keep []int
		for _, d := range *good {
			if bytes.Equal(sums[d], stored) {
				keep = append(keep, d)
			} else {
				w.event(ctx, fid, evBadSum, d)
				wrong = append(wrong, d)
			}
		}
		if len(keep) == 0 { // nothing matches the row: keep them all
			return nil
		}
		*good = keep
	case !agree:
		w.event(ctx, fid, evMultiSum, 0)
	}
	return wrong
}

func containsInt(s []int, v int) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}
