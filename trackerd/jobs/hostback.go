package jobs

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"mogfs/trackerd/monitor"
)

// Replication that fails because a host is out of reach (its copy is the
// only one, or it was the destination) is retried with backoff: 15 s,
// then a minute, then five. When the host returns after a hang or a
// partition, those files would wait out their backoff with one copy. So
// when the monitor sees a host come back, the deferred replicate rows are
// made due at once, as an admin's replicate_now would; rows deferred for
// other reasons get one extra try.
const (
	hostBackPoll = 250 * time.Millisecond // how often the snapshot is looked at (an atomic load)
	hostBackGap  = 30 * time.Second       // at most one replicate_now per gap, for a flapping host
)

// hostBack makes deferred replication due when a host comes back.
type hostBack struct {
	j   *Jobs
	log *slog.Logger
}

// Run watches the monitor's rounds until ctx ends.
func (h *hostBack) Run(ctx context.Context) {
	prev := h.j.cfg.Monitor.Snapshot()
	var last time.Time
	h.j.every(ctx, hostBackPoll, h.log, "replicate now", func(ctx context.Context) error {
		cur := h.j.cfg.Monitor.Snapshot()
		if cur.Round == prev.Round {
			return nil
		}
		back := cameBack(prev, cur)
		prev = cur
		if back == 0 || time.Since(last) < hostBackGap {
			return nil
		}
		last = time.Now()
		n, err := h.j.cfg.Store.ReplicateNow(ctx)
		if err != nil {
			return fmt.Errorf("host %d came back: %w", back, err)
		}
		h.log.Info("a host came back: deferred replication made due", "host", back, "rows", n)
		return nil
	})
}

// cameBack returns a host reachable in cur that was unreachable in prev
// (0 for none). A host prev does not know (new, or before the first
// round) does not count.
func cameBack(prev, cur *monitor.Snapshot) int {
	for id, ok := range cur.HostReachable {
		if was, known := prev.HostReachable[id]; ok && known && !was {
			return id
		}
	}
	return 0
}
