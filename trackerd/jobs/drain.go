package jobs

import (
	"context"
	"fmt"
	"log/slog"

	"mogfs/trackerd/meta"
)

// drainBatch bounds the fids queued per device per tick.
const drainBatch = 1000

// Drainer empties devices in state drain by queueing their files for
// replication; the replicator does not count drain copies toward the policy,
// so it copies each file elsewhere and then deletes the drain copy.
//
// This departs from MogileFS 2.40+, where drain alone moves nothing and an
// admin runs a rebalance; mogfs makes "drain" mean "empty this device", the
// older (pre-2.40) behaviour operators still expect.
type Drainer struct {
	j   *Jobs
	log *slog.Logger

	cursor map[int]int64 // devid → last fid queued; owned by Run
}

// Run queues a batch of each drain device's fids every ReaperInterval until
// ctx is done.
func (d *Drainer) Run(ctx context.Context) {
	d.cursor = map[int]int64{}
	d.j.every(ctx, d.j.cfg.ReaperInterval, d.log, "drain", d.tick)
}

// tick queues a batch of every drain device's fids. A device a rebalance
// has put in drain (its current or a completed source) is the rebalance's:
// the devices' states are read from the database between two reads of the
// rebalance's state, and the rebalance saves its state before it drains a
// device and undrains it before it saves, so no interleaving makes a
// rebalance source look like a plain drain device.
func (d *Drainer) tick(ctx context.Context) error {
	before, err := d.j.Rebalance.ownedDevices(ctx)
	if err != nil {
		return err
	}
	devs, err := d.j.cfg.Store.Devices(ctx)
	if err != nil {
		return err
	}
	after, err := d.j.Rebalance.ownedDevices(ctx)
	if err != nil {
		return err
	}
	for _, dev := range devs {
		id := dev.ID
		if dev.Status != "drain" || before[id] || after[id] {
			delete(d.cursor, id)
			continue
		}
		if err := d.queue(ctx, id); err != nil {
			return fmt.Errorf("device %d: %w", id, err)
		}
	}
	return nil
}

func (d *Drainer) queue(ctx context.Context, devid int) error {
	st := d.j.cfg.Store
	fids, err := st.FIDsOnDevice(ctx, devid, d.cursor[devid], drainBatch)
	if err != nil {
		return err
	}
	if len(fids) < drainBatch {
		d.cursor[devid] = 0 // wrap: files whose copy failed are queued again
	} else {
		d.cursor[devid] = fids[len(fids)-1]
	}
	for _, fid := range fids {
		// INSERT IGNORE: a row already waiting (maybe with backoff) stays.
		if err := st.Enqueue(ctx, meta.Job{Queue: meta.QueueReplicate, FID: fid, FromDevID: devid}); err != nil {
			return err
		}
	}
	d.j.stats.add("drain_queued", int64(len(fids)))
	return nil
}
