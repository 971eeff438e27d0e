package dbstats

import (
	"context"

	"mogfs/trackerd/meta"
)

// queueStatus names a row's nexttry as the original mogstats does: values
// below 1000 are states (0 a new row, called fresh: "newfile" in the
// replication queue, "new" elsewhere; 1 "redo"; others "unknown"),
// EndOfTime waits for an admin ("manual"), and a time is "overdue" before
// the database's now and "deferred" from then on.
func queueStatus(nexttry, now int64, fresh string) string {
	switch {
	case nexttry == 0:
		return fresh
	case nexttry == 1:
		return "redo"
	case nexttry < 1000:
		return "unknown"
	case nexttry == meta.EndOfTime.Unix():
		return "manual"
	case nexttry < now:
		return "overdue"
	}
	return "deferred"
}

// queueByStatus counts q's rows by queueStatus.
func (c *collector) queueByStatus(ctx context.Context, q meta.Queue, fresh string) (map[string]int64, error) {
	now, err := c.st.Now(ctx)
	if err != nil {
		return nil, err
	}
	rows, err := c.st.QueueByNextTry(ctx, q)
	if err != nil {
		return nil, err
	}
	out := map[string]int64{}
	for _, r := range rows {
		out[queueStatus(r.NextTry, now.Unix(), fresh)] += r.Rows
	}
	return out, nil
}

func (c *collector) replicationQueue(ctx context.Context, r *report) error {
	var err error
	r.replQ, err = c.queueByStatus(ctx, meta.QueueReplicate, "newfile")
	return err
}

func (c *collector) deleteQueue(ctx context.Context, r *report) error {
	var err error
	r.delQ, err = c.queueByStatus(ctx, meta.QueueDelete, "new")
	return err
}

// generalQueues counts file_to_queue, whose queue names are the original's
// constants. (The original compares the row's type, not its nexttry, with
// now, so every row there that is not new, redo or manual shows as
// overdue; this compares nexttry, as its other two queues do.) Rows of a
// type other than 1 and 2, which MogileFS never writes, are not counted;
// the original would list them as UNKNOWN_QUEUE.
func (c *collector) generalQueues(ctx context.Context, r *report) error {
	r.general = map[string]map[string]int64{}
	for _, q := range []struct {
		q    meta.Queue
		name string
	}{{meta.QueueFSCK, "FSCK_QUEUE"}, {meta.QueueRebalance, "REBAL_QUEUE"}} {
		m, err := c.queueByStatus(ctx, q.q, "new")
		if err != nil {
			return err
		}
		if len(m) > 0 {
			r.general[q.name] = m
		}
	}
	return nil
}
