package trackerd

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"mogfs/metrics"
	"mogfs/protocol"
	"mogfs/trackerd/meta"
	"mogfs/trackerd/status"
)

// scrapeTimeout bounds the queries a /metrics scrape makes for the queue
// gauges, so a stuck database cannot hold scrapes forever.
const scrapeTimeout = 3 * time.Second

// observer is the tracker's metrics and status-page state. With
// metrics_listen empty it still exists (the job error log feeds the status
// data even without a listener) but m is nil, so ObserveRequest and
// JobOutcome do nothing.
type observer struct {
	m      *metrics.Tracker     // nil when metrics are off
	reg    *prometheus.Registry // nil when metrics are off
	errLog *status.ErrorLog
	ln     net.Listener // metrics listener; nil when off

	mu       sync.Mutex // guards lagFID and lagSince
	lagFID   int64      // fid last seen at the head of the due replicate rows with nexttry 0
	lagSince time.Time  // when lagFID was first seen there
}

// startMetrics opens the metrics listener (when configured) and builds the
// registry; serving starts in startMetricsServer once the monitor exists.
func (t *Tracker) startMetrics(ctx context.Context) error {
	t.obs = &observer{errLog: status.NewErrorLog(0)}
	if t.cfg.MetricsListen == "" {
		return nil
	}
	ln, err := metrics.Listen(t.cfg.MetricsListen)
	if err != nil {
		return fmt.Errorf("trackerd: metrics listen %s: %w", t.cfg.MetricsListen, err)
	}
	reg := metrics.NewRegistry()
	t.obs.reg, t.obs.ln = reg, ln
	t.obs.m = metrics.NewTracker(reg)
	reg.MustRegister(metrics.NewTrackerCollector(func() metrics.TrackerSnapshot { return t.metricsSnapshot(ctx) }))
	return nil
}

// serveMetrics serves /metrics and the status page until Close.
func (t *Tracker) serveMetrics(ctx context.Context) {
	if t.obs.ln == nil {
		return
	}
	src := &status.StoreSource{
		Store: t.store, Monitor: t.mon.Snapshot, Errors: t.obs.errLog,
		Version: Version, Started: t.start, DefaultMinDevCount: t.cfg.DefaultMinDevCount,
	}
	page := status.Handler(src)
	t.bg.Add(1)
	go func() {
		defer t.bg.Done()
		if err := metrics.ServeListener(ctx, t.obs.ln, t.obs.reg, map[string]http.Handler{"/": page}, t.log); err != nil {
			t.log.Error("metrics server failed", "err", err)
		}
	}()
}

// MetricsAddr returns the address /metrics and the status page are served
// on ("127.0.0.1:41235"), or "" when metrics_listen is empty.
func (t *Tracker) MetricsAddr() string {
	if t.obs == nil || t.obs.ln == nil {
		return ""
	}
	return t.obs.ln.Addr().String()
}

// observeRequest records one request in the metrics. cmd must be a command
// of the table (or "unknown_command"), so label values stay a fixed set.
func (t *Tracker) observeRequest(cmd string, err error, d time.Duration) {
	if t.obs.m == nil {
		return
	}
	code := ""
	if err != nil {
		code = "failure"
		if pe, ok := errors.AsType[*protocol.Error](err); ok {
			code = pe.Code
		}
	}
	t.obs.m.ObserveRequest(cmd, code, d)
}

// jobError is jobs.Config.OnError: it keeps the failure for the status page.
func (t *Tracker) jobError(job string, fid int64, devid int, err error) {
	t.obs.errLog.Add(status.JobError{Job: job, FID: fid, DevID: devid, Message: err.Error()})
}

// jobOutcome is jobs.Config.OnOutcome: it maps the jobs' counter names
// (jobs.Stats) onto mogfs_tracker_jobs_total{job,outcome}.
func (t *Tracker) jobOutcome(name string, n int64) {
	if t.obs.m == nil || n <= 0 {
		return
	}
	job, outcome := outcomeLabels(name)
	t.obs.m.Jobs.WithLabelValues(job, outcome).Add(float64(n))
}

// outcomeLabels maps a jobs counter name to (job, outcome) label values.
// Every name the jobs use is listed, and fsck event codes are a fixed set
// (EV_* of the original), so the label values stay bounded.
func outcomeLabels(name string) (job, outcome string) {
	switch name {
	case "replicated":
		return "replicate", "ok"
	case "replicate_failed":
		return "replicate", "failed"
	case "replicate_trimmed":
		return "replicate", "trimmed"
	case "drained":
		return "drain", "ok"
	case "drain_queued":
		return "drain", "queued"
	case "deleted":
		return "delete", "ok"
	case "deleted_replicas":
		return "delete", "replica_deleted"
	case "delete_failed":
		return "delete", "failed"
	case "tempfiles_reaped":
		return "tempfile", "reaped"
	case "reaped":
		return "reaper", "ok"
	case "fsck_checked":
		return "fsck", "checked"
	}
	if ev, ok := strings.CutPrefix(name, "fsck_"); ok && len(ev) >= 4 && len(ev) <= 5 &&
		strings.Trim(ev, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") == "" {
		return "fsck", strings.ToLower(ev)
	}
	return "other", "other"
}

// metricsSnapshot is the scrape-time state for metrics.NewTrackerCollector.
func (t *Tracker) metricsSnapshot(ctx context.Context) metrics.TrackerSnapshot {
	ctx, cancel := context.WithTimeout(ctx, scrapeTimeout)
	defer cancel()
	s := metrics.TrackerSnapshot{Queues: map[string]int64{}, Files: -1}
	for q, name := range map[meta.Queue]string{meta.QueueReplicate: "replicate", meta.QueueDelete: "delete",
		meta.QueueFSCK: "fsck", meta.QueueRebalance: "rebalance"} {
		if n, err := t.store.QueueDepth(ctx, q); err == nil {
			s.Queues[name] = n
		}
	}
	s.ReplicationLag = t.replicationLag(ctx)
	snap := t.mon.Snapshot()
	for id, d := range snap.Devices {
		ds := metrics.DeviceSample{
			DevID: id, Host: snap.Hosts[d.HostID].Name,
			HaveUsage: d.HaveUsage, MBTotal: d.MBTotal, MBUsed: d.MBUsed,
			ObservedWriteable: snap.IsWriteable(id),
		}
		ds.Utilization, ds.HaveUtilization = metrics.ParseUtilization(snap.Dev[id].Utilization)
		s.Devices = append(s.Devices, ds)
	}
	return s
}

// replicationLag is the age of the oldest due replicate row. A row with a
// real nexttry has been due since then; a nexttry-0 row (fresh upload) has
// no recorded age, so its age is how long it has been the head of the queue
// as seen by this tracker's scrapes: a lower bound that grows while
// replication is stuck and drops to ~0 while it keeps up.
func (t *Tracker) replicationLag(ctx context.Context) time.Duration {
	j, now, ok, err := t.store.OldestDue(ctx, meta.QueueReplicate)
	if err != nil || !ok {
		return 0
	}
	if !j.NextTry.IsZero() {
		return max(now.Sub(j.NextTry), 0)
	}
	o := t.obs
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.lagFID != j.FID {
		o.lagFID, o.lagSince = j.FID, time.Now()
	}
	return time.Since(o.lagSince)
}
