package jobs

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"mogfs/nodeproto"
	"mogfs/trackerd/meta"
)

// Deleter processes file_to_delete2 rows (Worker/Delete.pm::process_deletes2)
// and abandons stale tempfiles (process_tempfiles).
type Deleter struct {
	j   *Jobs
	log *slog.Logger
}

// Process deletes every replica of one fid, forgetting each one the node
// confirmed gone, and finishes the row when none is left; otherwise it
// reschedules the row with the original's delays.
func (d *Deleter) Process(ctx context.Context, job meta.Job) {
	st := d.j.cfg.Store
	retry := func(after time.Duration) { d.j.retry(ctx, d.log, job, time.Now().Add(after)) }
	release, ok := d.j.lockRow(ctx, d.log, job)
	if !ok {
		return
	}
	defer release()

	if err := st.DeleteChecksum(ctx, job.FID); err != nil && !errors.Is(err, meta.ErrNotFound) {
		d.log.Warn("delete checksum", "fid", job.FID, "err", err)
	}
	if err := st.DeleteTempFile(ctx, job.FID); err != nil && !errors.Is(err, meta.ErrNotFound) {
		d.log.Warn("delete tempfile", "fid", job.FID, "err", err)
	}
	devids, err := st.FileDevIDs(ctx, job.FID)
	if err != nil {
		d.log.Warn("file_on", "fid", job.FID, "err", err)
		retry(backoff(job.FailCount))
		return
	}
	snap := d.j.cfg.Monitor.Snapshot()
	fc := time.Duration(job.FailCount)
	var delay time.Duration // smallest reschedule among devices left
	later := func(dl time.Duration) {
		if delay == 0 || dl < delay {
			delay = dl
		}
	}
	for _, devid := range devids {
		dev, known := snap.Devices[devid]
		switch {
		case !known || dev.Status == "dead":
			// Devices are never deleted, so an unknown devid is as gone as
			// a dead one (the original skips it, leaving the row forever).
			if err := st.RemoveFileOn(ctx, job.FID, devid); err != nil {
				d.log.Warn("remove file_on", "fid", job.FID, "devid", devid, "err", err)
				later(backoff(job.FailCount))
			}
			continue
		case !snap.IsWriteable(devid) && snap.CanDeleteFrom(devid):
			later(60 * (10 + fc) * time.Second)
			continue
		case !snap.CanDeleteFrom(devid):
			later(3600 * (1 + fc) * time.Second)
			continue
		}
		status, err := d.j.nodes.Do(ctx, "DELETE", "http://"+snap.HostPort(devid)+nodeproto.FIDPath(devid, job.FID))
		if err != nil || (status/100 != 2 && status != 404) {
			d.log.Info("delete failed", "fid", job.FID, "devid", devid, "status", status, "err", err)
			if err == nil {
				err = fmt.Errorf("DELETE: status %d", status)
			}
			d.j.reportErr("delete", job.FID, devid, err)
			d.j.stats.add("delete_failed", 1)
			later(1800 * (1 + fc) * time.Second)
			continue
		}
		if err := st.RemoveFileOn(ctx, job.FID, devid); err != nil {
			d.log.Warn("remove file_on", "fid", job.FID, "devid", devid, "err", err)
			later(backoff(job.FailCount))
			continue
		}
		d.j.stats.add("deleted_replicas", 1)
	}
	if ctx.Err() != nil {
		return
	}
	if delay > 0 {
		retry(delay)
		return
	}
	if err := st.Finish(ctx, meta.QueueDelete, job.FID); err != nil {
		d.log.Warn("finish", "fid", job.FID, "err", err)
		return
	}
	d.j.stats.add("deleted", 1)
}

// RunTempfiles sweeps stale tempfiles every TempfileSweep until ctx is done.
func (d *Deleter) RunTempfiles(ctx context.Context) {
	t := time.NewTicker(d.j.cfg.TempfileSweep)
	defer t.Stop()
	for {
		if err := d.sweepTempfiles(ctx); err != nil && ctx.Err() == nil {
			d.log.Warn("tempfile sweep", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// sweepTempfiles moves the legacy delete queue onto file_to_delete2
// (Store.AdoptLegacyDeletes) and abandons uploads older than
// TempfileTooOld, one tracker at a time (lock mgfs:tempfiles): a tempfile whose fid never became a file gets
// file_on rows for every device it was offered and goes on the delete queue
// (a DELETE of a file never written returns 404, which counts as success).
func (d *Deleter) sweepTempfiles(ctx context.Context) error {
	st := d.j.cfg.Store
	release, ok, err := st.TryLock(ctx, "mgfs:tempfiles", 5*time.Minute)
	if err != nil || !ok {
		return err
	}
	defer release()
	// The legacy queue of MogileFS 1.x joins file_to_delete2 here, under
	// the same lock: the sweep runs at start and every TempfileSweep.
	n, err := st.AdoptLegacyDeletes(ctx, time.Now())
	if n > 0 {
		d.log.Info("legacy delete queue adopted", "fids", n)
		d.j.stats.add("legacy_deletes_adopted", n)
	}
	if err != nil {
		return err
	}
	for {
		stale, err := st.StaleTempFiles(ctx, time.Now().Add(-d.j.cfg.TempfileTooOld), 1000)
		if err != nil || len(stale) == 0 {
			return err
		}
		for _, t := range stale {
			if _, err := st.FileByFID(ctx, t.FID); err == nil {
				if err := st.DeleteTempFile(ctx, t.FID); err != nil {
					return err
				}
				continue
			} else if !errors.Is(err, meta.ErrNotFound) {
				return err
			}
			for _, devid := range t.DevIDs {
				if err := st.AddFileOn(ctx, t.FID, devid); err != nil {
					return err
				}
			}
			if err := st.Enqueue(ctx, meta.Job{Queue: meta.QueueDelete, FID: t.FID}); err != nil {
				return err
			}
			if err := st.DeleteTempFile(ctx, t.FID); err != nil {
				return err
			}
			d.j.stats.add("tempfiles_reaped", 1)
		}
		if len(stale) < 1000 {
			return nil
		}
	}
}
