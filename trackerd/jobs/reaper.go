package jobs

import (
	"context"
	"log/slog"
	"time"

	"mogfs/trackerd/meta"
)

// reapBatch is queue_rate_for_reaper's default.
const reapBatch = 1000

// Reaper re-replicates the files of dead devices (Worker/Reaper.pm): for each
// fid on a device that has been dead for ReaperGrace it queues replication
// and then forgets the dead copy, so replication restores the copy count from
// the remaining replicas.
type Reaper struct {
	j   *Jobs
	log *slog.Logger

	firstDead map[int]time.Time // devid → when first seen dead; owned by Run
}

// Run looks for dead devices every ReaperInterval until ctx is done.
func (r *Reaper) Run(ctx context.Context) {
	r.firstDead = map[int]time.Time{}
	r.j.every(ctx, r.j.cfg.ReaperInterval, r.log, "reaper", func(ctx context.Context) error { r.tick(ctx); return nil })
}

func (r *Reaper) tick(ctx context.Context) {
	snap := r.j.cfg.Monitor.Snapshot()
	now := time.Now()
	for id := range r.firstDead {
		if snap.Devices[id].Status != "dead" {
			delete(r.firstDead, id) // resurrected: stop reaping
		}
	}
	for id, d := range snap.Devices {
		if d.Status != "dead" {
			continue
		}
		first, seen := r.firstDead[id]
		if !seen {
			r.firstDead[id] = now
			continue
		}
		if now.Sub(first) < r.j.cfg.ReaperGrace {
			continue
		}
		if err := r.reap(ctx, id); err != nil && ctx.Err() == nil {
			r.log.Warn("reap", "devid", id, "err", err)
			r.j.reportErr("reaper", 0, id, err)
		}
	}
}

// reap moves one batch of the device's fids to the replicate queue. The
// queue row is written before the file_on row goes, so a crash in between
// loses nothing.
func (r *Reaper) reap(ctx context.Context, devid int) error {
	st := r.j.cfg.Store
	release, ok, err := st.TryLock(ctx, "mgfs:reaper", time.Minute)
	if err != nil || !ok {
		return err
	}
	defer release()
	fids, err := st.FIDsOnDevice(ctx, devid, 0, reapBatch)
	if err != nil {
		return err
	}
	for _, fid := range fids {
		if err := st.Enqueue(ctx, meta.Job{Queue: meta.QueueReplicate, FID: fid}); err != nil {
			return err
		}
		if err := st.RemoveFileOn(ctx, fid, devid); err != nil {
			return err
		}
		r.j.stats.add("reaped", 1)
	}
	if len(fids) > 0 {
		r.log.Info("reaped", "devid", devid, "fids", len(fids))
	}
	return nil
}
