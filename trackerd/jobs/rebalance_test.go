package jobs_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"mogfs/trackerd/jobs"
	"mogfs/trackerd/meta"
)

func TestParseRebalPolicy(t *testing.T) {
	p, err := jobs.ParseRebalPolicy("from_hosts=1,2 from_devices=3 from_percent_used=80 to_percent_free=30.5 " +
		"not_to_devices=7 limit_type=global limit_by=size limit=2g use_dest_devs=2 leave_in_drain_mode=1 fid_age=new from_all_devs=0")
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(p.FromHosts, p.FromDevices, p.NotToDevices) != "[1 2] [3] [7]" || p.FromPercentUsed != 80 ||
		p.ToPercentFree != 30.5 || p.LimitType != "global" || p.Limit != 2<<30 || p.UseDestDevs != 2 ||
		!p.LeaveInDrainMode || p.FIDAge != "new" {
		t.Errorf("ParseRebalPolicy = %+v", p)
	}
	for in, want := range map[string]float64{"limit_by=count limit=5000": 5000, "limit_by=percent limit=10%": 10,
		"limit_by=percent limit=25": 25, "limit_by=size limit=100": 100, "limit_by=size limit=3K": 3072} {
		p, err := jobs.ParseRebalPolicy(in)
		if err != nil || p.Limit != want {
			t.Errorf("ParseRebalPolicy(%q).Limit = %v, %v; want %v", in, p.Limit, err, want)
		}
	}
	for in, msg := range map[string]string{
		"bogus_key=1":                    "Invalid setting bogus_key",
		"from_devices=1,x":               `from_devices=1,x: "x" is not an id`,
		"limit_by=count":                 "limit= with limit_by=count",
		"limit_by=size limit=12q":        "not a size",
		"limit_by=percent limit=150":     "not a percentage",
		"limit_type=everywhere":          "not one of device, global",
		"use_dest_devs=0":                "use_dest_devs=0",
		"from_percent_used=-3":           "non-negative",
		"limit_by=count limit=5 fid_age": "not one of old, new",
	} {
		_, err := jobs.ParseRebalPolicy(in)
		if !errors.Is(err, jobs.ErrBadRebalPolicy) || !strings.Contains(err.Error(), msg) {
			t.Errorf("ParseRebalPolicy(%q) = %v, want ErrBadRebalPolicy with %q", in, err, msg)
		}
	}
}

func TestRebalStateRoundTrip(t *testing.T) {
	in := "completed_devs=1,4 source_devs=5 sdev_current=2 sdev_lastfid=99 sdev_limit=none limit=0 fids_queued=7 " +
		"bytes_queued=700 time_started=1 time_finished=0 time_stopped=0 time_latest_run=3 time_latest_empty_run=0 empty_runs=0"
	st, err := jobs.ParseRebalState(in)
	if err != nil || st.String() != in {
		t.Fatalf("ParseRebalState(%q).String() = %q, %v", in, st.String(), err)
	}
	// The original drops sdev_* keys when a device is done and writes keys
	// in hash order; both load.
	st, err = jobs.ParseRebalState("source_devs=3 completed_devs= fids_queued=4 unknown=1")
	if err != nil || fmt.Sprint(st.SourceDevs, st.CompletedDevs, st.FIDsQueued, st.SdevCurrent) != "[3] [] 4 0" {
		t.Errorf("ParseRebalState(original order) = %+v, %v", st, err)
	}
}

// TestRebalanceMovesFiles: 40 two-copy files sit on dev1 and dev2 while
// dev3 and dev4 are readonly; a rebalance limited to 20 files moves exactly
// 20 off dev1 onto dev3 and dev4 in small injector runs. Every file keeps
// two good copies on two hosts, dev1 returns to alive, and the drainer
// leaves the rebalance's drain device alone.
func TestRebalanceMovesFiles(t *testing.T) {
	c := newCluster(t, 1, 1, 1, 1)
	ctx := t.Context()
	for _, d := range []int{3, 4} {
		if err := c.st.SetDeviceState(ctx, d, "readonly"); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.mon.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	fids := c.files("reb", 40, 1)
	j := c.startJobs("t1", nil)
	c.waitFor(20*time.Second, "replication onto dev2", func() (bool, string) { return c.replicated(fids, 2) })
	for _, d := range []int{3, 4} {
		if err := c.st.SetDeviceState(ctx, d, "alive"); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.mon.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	c.waitWriteable(3, 4)
	if err := c.st.SetSetting(ctx, "queue_rate_for_rebal", "6"); err != nil {
		t.Fatal(err)
	}
	rb := j.Rebalance
	if err := rb.SetPolicy(ctx, "from_devices=1 to_devices=3,4 limit_by=count limit=20"); err != nil {
		t.Fatal(err)
	}
	if s, d, err := rb.Test(ctx); err != nil || fmt.Sprint(s, d) != "[1] [3 4]" {
		t.Fatalf("Test() = %v %v, %v; want [1] [3 4]", s, d, err)
	}
	if _, err := rb.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := rb.Start(ctx); !errors.Is(err, jobs.ErrRebalAlready) {
		t.Errorf("second Start() = %v, want ErrRebalAlready", err)
	}
	if err := rb.SetPolicy(ctx, "from_devices=2"); !errors.Is(err, jobs.ErrNoSetRebal) {
		t.Errorf("SetPolicy while running = %v, want ErrNoSetRebal", err)
	}
	count := func(devid int) int64 {
		n, err := c.st.CountFileOn(ctx, devid)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	c.waitFor(30*time.Second, "rebalance finished and moved", func() (bool, string) {
		h, _, _ := c.st.Setting(ctx, "rebal_host")
		n1, n3, n4 := count(1), count(3), count(4)
		return h == "" && n1 == 20 && n3+n4 == 20 && c.queueDepth(meta.QueueRebalance) == 0,
			fmt.Sprintf("rebal_host %q, dev1 %d, dev3 %d, dev4 %d", h, n1, n3, n4)
	})
	if ok, msg := c.replicated(fids, 2); !ok {
		t.Fatal(msg)
	}
	if count(3) == 0 || count(4) == 0 {
		t.Errorf("destinations dev3 %d, dev4 %d: want both used", count(3), count(4))
	}
	state, err := rb.Status(ctx)
	st, perr := jobs.ParseRebalState(state)
	if err != nil || perr != nil || fmt.Sprint(st.CompletedDevs) != "[1]" || st.FIDsQueued != 20 ||
		st.TimeFinished == 0 || st.SdevCurrent != 0 {
		t.Errorf("Status() = %q, %v, %v", state, err, perr)
	}
	if err := c.mon.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	if s := c.mon.Snapshot().Devices[1].Status; s != "alive" {
		t.Errorf("dev1 status after the run = %q, want alive", s)
	}
	if got := j.Stats()["rebalanced"]; got != 20 {
		t.Errorf("Stats()[rebalanced] = %d, want 20", got)
	}
	if err := rb.Stop(ctx); !errors.Is(err, jobs.ErrRebalNotStarted) {
		t.Errorf("Stop() after the run = %v, want ErrRebalNotStarted", err)
	}
}

// TestRebalanceStopAndResume: a stopped run gives the source device back,
// and Start resumes from the saved state, not from the beginning.
func TestRebalanceStopAndResume(t *testing.T) {
	c := newCluster(t, 1, 1, 1)
	ctx := t.Context()
	if err := c.st.SetDeviceState(ctx, 3, "readonly"); err != nil {
		t.Fatal(err)
	}
	if err := c.mon.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	fids := c.files("stop", 30, 1)
	j := c.startJobs("t1", func(cfg *jobs.Config) { cfg.Poll = 300 * time.Millisecond })
	c.waitFor(20*time.Second, "replication onto dev2", func() (bool, string) { return c.replicated(fids, 2) })
	if err := c.st.SetDeviceState(ctx, 3, "alive"); err != nil {
		t.Fatal(err)
	}
	if err := c.mon.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	c.waitWriteable(3)
	if err := c.st.SetSetting(ctx, "queue_rate_for_rebal", "5"); err != nil {
		t.Fatal(err)
	}
	rb := j.Rebalance
	if err := rb.SetPolicy(ctx, "from_devices=1 to_devices=3 limit_by=count limit=15"); err != nil {
		t.Fatal(err)
	}
	if _, err := rb.Start(ctx); err != nil {
		t.Fatal(err)
	}
	c.waitFor(20*time.Second, "a first batch queued", func() (bool, string) {
		s, _ := rb.Status(ctx)
		st, _ := jobs.ParseRebalState(s)
		return st.FIDsQueued > 0 && st.SdevCurrent == 1, s
	})
	if err := rb.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	if err := rb.Reset(ctx); err != nil {
		t.Fatalf("Reset() after Stop() = %v", err) // at once: Stop does not wait for an injector
	}
	if _, err := rb.Status(ctx); !errors.Is(err, jobs.ErrNoRebalState) {
		t.Errorf("Status() after Reset() = %v, want ErrNoRebalState", err)
	}
	if s := c.mon.Snapshot().Devices[1].Status; s != "alive" {
		t.Errorf("dev1 after Stop() = %q, want alive", s)
	}
	// Rows queued before the stop are still moved.
	c.waitFor(20*time.Second, "the queued rows moved", func() (bool, string) {
		n := c.queueDepth(meta.QueueRebalance)
		return n == 0, fmt.Sprintf("depth %d", n)
	})
	base, err := c.st.CountFileOn(ctx, 3)
	if err != nil || base == 0 {
		t.Fatalf("dev3 after the stopped run holds %d (%v), want the first batch", base, err)
	}
	// A fresh run, stopped and resumed: the total stays at the limit.
	if _, err := rb.Start(ctx); err != nil {
		t.Fatal(err)
	}
	c.waitFor(20*time.Second, "a first batch queued", func() (bool, string) {
		s, _ := rb.Status(ctx)
		st, _ := jobs.ParseRebalState(s)
		return st.FIDsQueued > 0, s
	})
	if err := rb.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	stopped, _ := rb.Status(ctx)
	st, _ := jobs.ParseRebalState(stopped)
	if st.TimeStopped == 0 || st.SdevCurrent != 1 {
		t.Errorf("state after Stop() = %q", stopped)
	}
	resumed, err := rb.Start(ctx)
	if err != nil || resumed != stopped {
		t.Errorf("Start() after Stop() = %q, %v; want the stopped state %q", resumed, err, stopped)
	}
	c.waitFor(30*time.Second, "15 files moved", func() (bool, string) {
		h, _, _ := c.st.Setting(ctx, "rebal_host")
		n3, _ := c.st.CountFileOn(ctx, 3)
		return h == "" && n3 == base+15 && c.queueDepth(meta.QueueRebalance) == 0,
			fmt.Sprintf("rebal_host %q, dev3 %d, want %d", h, n3, base+15)
	})
	if ok, msg := c.replicated(fids, 2); !ok {
		t.Fatal(msg)
	}
}

// waitWriteable waits until the monitor lets the devices take new files.
func (c *cluster) waitWriteable(devids ...int) {
	c.t.Helper()
	c.waitFor(10*time.Second, "writeable devices", func() (bool, string) {
		snap := c.mon.Snapshot()
		for _, d := range devids {
			if !snap.ShouldGetNewFiles(d) {
				return false, fmt.Sprintf("dev%d %+v", d, snap.Dev[d])
			}
		}
		return true, ""
	})
}

// TestRebalanceKeepsHostsApart: two-copy files on dev1 (node1) and dev2
// (node2). Moving them to dev3 alone would put both copies on node2, so
// the rebalance leaves them (no copy made); with dev4 (node3) allowed as
// well they move there.
func TestRebalanceKeepsHostsApart(t *testing.T) {
	c := newCluster(t, 1, 2, 1) // dev1 on node1, dev2 and dev3 on node2, dev4 on node3
	ctx := t.Context()
	for _, d := range []int{3, 4} {
		if err := c.st.SetDeviceState(ctx, d, "readonly"); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.mon.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	fids := c.files("apart", 6, 1)
	j := c.startJobs("t1", nil)
	c.waitFor(20*time.Second, "copies on dev1 and dev2", func() (bool, string) { return c.replicated(fids, 2) })
	for _, d := range []int{3, 4} {
		if err := c.st.SetDeviceState(ctx, d, "alive"); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.mon.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	c.waitWriteable(3, 4)
	on := func(want string) func() (bool, string) {
		return func() (bool, string) {
			h, _, _ := c.st.Setting(ctx, "rebal_host")
			if h != "" || c.queueDepth(meta.QueueRebalance) != 0 {
				return false, "running"
			}
			for fid := range fids {
				if got := fmt.Sprint(c.devids(fid)); got != want {
					return false, fmt.Sprintf("fid %d on %s, want %s", fid, got, want)
				}
			}
			return true, ""
		}
	}
	rb := j.Rebalance
	for _, step := range []struct{ policy, want string }{
		{"from_devices=1 to_devices=3", "[1 2]"},
		{"from_devices=1 to_devices=3,4", "[2 4]"},
	} {
		if err := rb.SetPolicy(ctx, step.policy); err != nil {
			t.Fatal(err)
		}
		if _, err := rb.Start(ctx); err != nil {
			t.Fatal(err)
		}
		c.waitFor(30*time.Second, step.policy, on(step.want))
		if ok, msg := c.replicated(fids, 2); !ok {
			t.Fatalf("%s: %s", step.policy, msg)
		}
	}
	if s := j.Stats(); s["rebalance_skipped"] != 6 || s["rebalanced"] != 6 || s["rebalance_copied"] != 6 {
		t.Errorf("Stats() = skipped %d, rebalanced %d, copied %d; want 6 each", s["rebalance_skipped"], s["rebalanced"], s["rebalance_copied"])
	}
}
