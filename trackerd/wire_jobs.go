package trackerd

import (
	"context"
	"mogfs/trackerd/jobs"
	"mogfs/trackerd/monitor"
)

// startBackground builds the monitor and the background jobs and runs them
// until Close. The monitor exists (and its snapshot answers queries) even
// before its first round; create_open waits for that round.
func (t *Tracker) startBackground(ctx context.Context) {
	cfg := t.cfg
	t.mon = monitor.New(monitor.Config{
		Store:          t.store,
		Logger:         t.log,
		Interval:       cfg.MonitorInterval,
		WriteTestEvery: cfg.WriteTestInterval,
		StreamPort:     cfg.StreamPort,
		ConnTimeout:    cfg.ConnTimeout,
		MinFreeMB:      cfg.MinFreeMB,
		Signer:         t.sign,
	})
	t.jobs = jobs.New(jobs.Config{
		Store:              t.store,
		Monitor:            t.mon,
		Logger:             t.log,
		ReplicateJobs:      jobCount(cfg.JobMaster, cfg.ReplicateJobs),
		DeleteJobs:         jobCount(cfg.JobMaster, cfg.DeleteJobs),
		FsckJobs:           jobCount(cfg.JobMaster, cfg.FsckJobs),
		Hostname:           cfg.Hostname,
		DefaultMinDevCount: cfg.DefaultMinDevCount,
		NodeTimeout:        cfg.NodeTimeout,
		StreamPort:         cfg.StreamPort,
		LocalNetwork:       cfg.LocalNetwork,
		Lease:              cfg.QueueLease,
		OnError:            t.jobError,
		OnOutcome:          t.jobOutcome,
		Signer:             t.sign,
	})
	// Hosts and devices are known (unobserved) before the first probe.
	if err := t.mon.Refresh(ctx); err != nil {
		t.log.Warn("monitor: initial load failed", "err", err)
	}
	t.bg.Add(2)
	go func() {
		defer t.bg.Done()
		t.mon.Run(ctx)
	}()
	go func() {
		defer t.bg.Done()
		t.jobs.Run(ctx)
	}()
}

// jobCount maps a *_jobs setting to jobs.Config's convention (negative
// disables); job_master=0 disables every queue consumer on this tracker.
func jobCount(master bool, n int) int {
	if !master || n <= 0 {
		return -1
	}
	return n
}
