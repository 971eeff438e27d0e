package jobs

import (
	"cmp"
	"context"
	"errors"
	"log/slog"
	"math/rand/v2"
	"slices"
	"time"

	"mogfs/nodeproto"
	"mogfs/trackerd/meta"
	"mogfs/trackerd/monitor"
)

// Replicator processes file_to_replicate rows: it copies a file until its
// class's policy is satisfied (copies on drain devices do not count), then
// removes extra copies (over-replication) and copies on drain devices.
type Replicator struct {
	j   *Jobs
	log *slog.Logger
}

// Process handles one claimed row: finish it when the file is happy or gone,
// otherwise reschedule it with backoff (never spinning).
func (r *Replicator) Process(ctx context.Context, job meta.Job) {
	st := r.j.cfg.Store
	release, ok := r.j.lockRow(ctx, r.log, job)
	if !ok {
		return
	}
	defer release()

	done, err := r.replicate(ctx, job)
	if ctx.Err() != nil {
		return // the lease brings the row back
	}
	switch {
	case err != nil && errors.Is(err, errNoCopies):
		r.log.Warn("no copy of fid anywhere; giving up until replicate_now", "fid", job.FID)
		r.j.reportErr("replicate", job.FID, 0, err)
		r.j.stats.add("replicate_failed", 1)
		r.j.retry(ctx, r.log, job, endOfTime)
	case err != nil:
		r.log.Warn("replicate", "fid", job.FID, "failcount", job.FailCount, "err", err)
		r.j.reportErr("replicate", job.FID, 0, err)
		r.j.stats.add("replicate_failed", 1)
		r.j.retry(ctx, r.log, job, time.Now().Add(backoff(job.FailCount)))
	case !done:
		r.j.retry(ctx, r.log, job, time.Now().Add(backoff(job.FailCount)))
	default:
		if err := st.Finish(ctx, meta.QueueReplicate, job.FID); err != nil {
			r.log.Warn("finish", "fid", job.FID, "err", err)
		}
	}
}

// errNoCopies means the file has no recorded copy at all: nothing to copy
// from, so the row waits for ENDOFTIME (an admin's replicate_now).
var errNoCopies = errors.New("jobs: no copies")

// replicate does the work for one fid under its lock. done reports that the
// policy is satisfied and the row can be finished; false with a nil error
// means "try again later" (no destination or source right now).
func (r *Replicator) replicate(ctx context.Context, job meta.Job) (done bool, err error) {
	st := r.j.cfg.Store
	f, err := st.FileByFID(ctx, job.FID)
	if errors.Is(err, meta.ErrNotFound) {
		return true, nil // deleted meanwhile: nothing to replicate
	}
	if err != nil {
		return false, err
	}
	cls, err := r.j.class(ctx, f.DomainID, f.ClassID)
	if err != nil {
		return false, err
	}
	pol, err := ParsePolicy(cls.ReplPolicy)
	if err != nil {
		return false, err
	}
	devids, err := st.FileDevIDs(ctx, f.FID)
	if err != nil {
		return false, err
	}
	if len(devids) == 0 {
		return false, errNoCopies
	}
	sumType, sum, err := st.Checksum(ctx, f.FID)
	if err != nil && !errors.Is(err, meta.ErrNotFound) {
		return false, err
	}

	snap := r.j.cfg.Monitor.Snapshot()
	rng := rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64()))
	pl := placement{snap: snap, skip: map[int]bool{}, min: cls.MinDevCount}
	for _, d := range devids {
		if pl.counts(d) {
			pl.on = append(pl.on, d)
		}
	}
	rs := &replicaSet{f: f, cls: cls, sumType: sumType, sum: sum, devids: devids, badSrc: map[int]bool{}}
	for {
		v, ideal, desperate := pol.evaluate(pl, rng)
		if v == allGood || v == tooGood {
			if v == tooGood {
				pl.on = r.trim(ctx, snap, pol, pl, f, rng)
			}
			return r.dropDrainCopies(ctx, snap, f, rs.devids, pl.on), nil
		}
		if v == noAnswer {
			r.log.Debug("no destination for fid now", "fid", f.FID, "copies", len(pl.on), "policy", pol)
			return false, nil
		}
		// ZoneLocal: among equals, a copy in the tracker's own zone first.
		local := r.j.localZone(snap)
		dst := append(snap.ZoneFirst(ideal, local), snap.ZoneFirst(desperate, local)...)[0]
		copied, err := r.j.copyTo(ctx, snap, r.log, "replicate", rs, job.FromDevID, dst, pl.skip)
		if errors.Is(err, errNoSource) {
			r.log.Debug("no readable source for fid", "fid", f.FID)
			return false, nil
		}
		if err != nil {
			return false, err
		}
		if copied {
			r.j.stats.add("replicated", 1)
			pl.on = append(pl.on, dst)
		}
	}
}

// localZone is the network zone of local_network, "" when it is not set or
// lies in no zone.
func (j *Jobs) localZone(snap *monitor.Snapshot) string {
	if !j.cfg.LocalNetwork.IsValid() {
		return ""
	}
	z, _ := snap.Zones.Lookup(j.cfg.LocalNetwork.Addr())
	return z
}

// pickSource returns a readable device holding the file, preferring the row's
// fromdevid, then the device with the most free space (least busy guess).
func (j *Jobs) pickSource(snap *monitor.Snapshot, devids []int, bad map[int]bool, prefer int) (int, bool) {
	var ok []int
	for _, d := range devids {
		if !bad[d] && snap.ShouldReadFrom(d) {
			if d == prefer {
				return d, true
			}
			ok = append(ok, d)
		}
	}
	if len(ok) == 0 {
		return 0, false
	}
	return ok[rand.IntN(len(ok))], true
}

// trim removes copies while the policy says TOO_GOOD and a copy can go
// without making it unhappy; it returns the copies that remain counted.
func (r *Replicator) trim(ctx context.Context, snap *monitor.Snapshot, pol Policy, pl placement, f meta.File, rng *rand.Rand) []int {
	on := slices.Clone(pl.on)
	for range len(on) {
		perHost := map[int]int{}
		for _, d := range on {
			perHost[snap.Devices[d].HostID]++
		}
		cands := slices.Clone(on)
		// Prefer copies sharing a host, then the fullest device.
		slices.SortFunc(cands, func(a, b int) int {
			ha, hb := perHost[snap.Devices[a].HostID], perHost[snap.Devices[b].HostID]
			return cmp.Or(cmp.Compare(hb, ha), cmp.Compare(snap.PercentFree(a), snap.PercentFree(b)))
		})
		removed := false
		for _, victim := range cands {
			if !snap.CanDeleteFrom(victim) {
				continue
			}
			rest := slices.DeleteFunc(slices.Clone(on), func(d int) bool { return d == victim })
			trial := pl
			trial.on = rest
			if v, _, _ := pol.evaluate(trial, rng); v != allGood && v != tooGood {
				continue
			}
			if !r.j.removeCopy(ctx, snap, r.log, f, victim, rest) {
				continue
			}
			r.j.stats.add("replicate_trimmed", 1)
			on = rest
			removed = true
			break
		}
		if !removed {
			break
		}
		trial := pl
		trial.on = on
		if v, _, _ := pol.evaluate(trial, rng); v != tooGood {
			break
		}
	}
	return on
}

// dropDrainCopies deletes the file's copies on drain devices once the counted
// copies satisfy the policy. It reports whether the file needs nothing more.
func (r *Replicator) dropDrainCopies(ctx context.Context, snap *monitor.Snapshot, f meta.File, devids, good []int) bool {
	done := true
	for _, d := range devids {
		if snap.Devices[d].Status != "drain" {
			continue
		}
		if !snap.CanDeleteFrom(d) || !r.j.removeCopy(ctx, snap, r.log, f, d, good) {
			done = false
			continue
		}
		r.j.stats.add("drained", 1)
	}
	return done
}

// removeCopy deletes the replica on victim after confirming (HEAD, size) that
// one of the others is good, then forgets it.
func (j *Jobs) removeCopy(ctx context.Context, snap *monitor.Snapshot, log *slog.Logger, f meta.File, victim int, others []int) bool {
	confirmed := false
	for _, d := range others {
		if d == victim || !snap.ShouldReadFrom(d) {
			continue
		}
		size, err := j.head(ctx, "http://"+snap.GetHostPort(d)+nodeproto.FIDPath(d, f.FID))
		if err == nil && size == f.Length {
			confirmed = true
			break
		}
	}
	if !confirmed {
		return false
	}
	status, err := j.nodes.Do(ctx, "DELETE", "http://"+snap.HostPort(victim)+nodeproto.FIDPath(victim, f.FID))
	if err != nil || (status/100 != 2 && status != 404) {
		log.Info("delete extra copy failed", "fid", f.FID, "devid", victim, "status", status, "err", err)
		return false
	}
	if err := j.cfg.Store.RemoveFileOn(ctx, f.FID, victim); err != nil {
		log.Warn("remove file_on", "fid", f.FID, "devid", victim, "err", err)
		return false
	}
	log.Debug("removed extra copy", "fid", f.FID, "devid", victim)
	return true
}
