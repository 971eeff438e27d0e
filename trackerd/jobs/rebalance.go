package jobs

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"slices"
	"time"

	"mogfs/trackerd/meta"
	"mogfs/trackerd/monitor"
)

// A rebalance moves files off source devices onto destination devices as
// MogileFS::Rebalance does. Its policy, state and control live in
// server_settings (rebal_policy, rebal_state, rebal_host, rebal_signal), so
// every tracker on the database sees one run and a run resumes after a
// restart. The injector walks the current source device's fids and queues
// them (file_to_queue type 2) with their destination devices; any
// tracker's rebalance workers take the rows and move each file: copy,
// verify, record, then delete the source copy.
//
// Differences from the original, each deliberate:
//   - The injector runs on whichever tracker holds the database lock
//     "mgfs:rebalance" while rebal_host is set, not only on the tracker
//     named in rebal_host, so a run survives the loss of the tracker that
//     started it.
//   - rebalance_stop stops the run itself (restoring the source device's
//     state) instead of leaving a signal for the injector, so reset and a
//     new policy work at once; rebal_signal=stop is still honoured.
//   - limit_type=global and limit_by=percent work (the original never set
//     the global limit and croaks on percent); a percentage is of the
//     source's used space as its usage file reports it.
//   - A count limit stops at zero (the original's post-decrement let every
//     second fid through once it went negative).

// Defaults of the original's queue_size_for_rebal and queue_rate_for_rebal
// server settings: the most rows waiting, and the most queued per run.
const (
	defRebalQueueMax    = 10000
	defRebalQueueInject = 500
)

// Rebalance holds the rebalance control commands.
type Rebalance struct {
	j *Jobs
}

func (rb *Rebalance) setting(ctx context.Context, key string) (string, error) {
	v, _, err := rb.j.cfg.Store.Setting(ctx, key)
	return v, err
}

func (rb *Rebalance) set(ctx context.Context, kv ...string) error {
	return setSettings(ctx, rb.j.cfg.Store, "rebalance", kv...)
}

func (rb *Rebalance) running(ctx context.Context) (bool, error) {
	h, err := rb.setting(ctx, "rebal_host")
	return h != "", err
}

// SetPolicy validates and stores a policy (rebalance_set_policy) and
// forgets the previous run's state. It fails with ErrNoSetRebal while a
// run is going and ErrBadRebalPolicy for a bad policy.
func (rb *Rebalance) SetPolicy(ctx context.Context, policy string) error {
	if run, err := rb.running(ctx); err != nil {
		return err
	} else if run {
		return ErrNoSetRebal
	}
	if _, err := ParseRebalPolicy(policy); err != nil {
		return err
	}
	return rb.set(ctx, "rebal_policy", policy, "rebal_state", "")
}

// Policy returns the stored policy; ErrNoRebalPolicy when none is set.
func (rb *Rebalance) Policy(ctx context.Context) (RebalPolicy, error) {
	s, err := rb.setting(ctx, "rebal_policy")
	if err != nil {
		return RebalPolicy{}, err
	}
	if s == "" {
		return RebalPolicy{}, ErrNoRebalPolicy
	}
	return ParseRebalPolicy(s)
}

// Test answers which devices the stored policy would move files from and
// to (rebalance_test), as a fresh run would see them now.
func (rb *Rebalance) Test(ctx context.Context) (sdevs, ddevs []int, err error) {
	p, err := rb.Policy(ctx)
	if err != nil {
		return nil, nil, err
	}
	snap := rb.j.cfg.Monitor.Snapshot()
	st := rb.initState(p, snap, 0)
	return st.SourceDevs, p.destDevices(snap, st), nil
}

// initState is Rebalance::init: the source devices, the start time and
// the run's global limit.
func (rb *Rebalance) initState(p RebalPolicy, snap *monitor.Snapshot, now int64) RebalState {
	st := RebalState{SourceDevs: p.sourceDevices(snap), TimeStarted: now}
	if p.LimitType == "global" {
		st.Limit = p.Limit
		if p.LimitBy == "percent" {
			var used float64
			for _, id := range st.SourceDevs {
				used += usedBytes(snap, id)
			}
			st.Limit = used * p.Limit / 100
		}
	}
	return st
}

func usedBytes(snap *monitor.Snapshot, devid int) float64 {
	return float64(snap.Devices[devid].MBUsed) * (1 << 20)
}

// Start begins or resumes the run (rebalance_start) on this tracker: it
// fails with ErrRebalAlready or ErrFsckRunning, keeps a stopped run's state
// and returns the state string.
func (rb *Rebalance) Start(ctx context.Context) (string, error) {
	if run, err := rb.running(ctx); err != nil {
		return "", err
	} else if run {
		return "", ErrRebalAlready
	}
	if h, err := rb.setting(ctx, "fsck_host"); err != nil {
		return "", err
	} else if h != "" {
		return "", ErrFsckRunning
	}
	state, err := rb.setting(ctx, "rebal_state")
	if err != nil {
		return "", err
	}
	if state == "" {
		p, err := rb.Policy(ctx)
		if err != nil {
			return "", err
		}
		state = rb.initState(p, rb.j.cfg.Monitor.Snapshot(), rb.now(ctx)).String()
	}
	return state, rb.set(ctx, "rebal_state", state, "rebal_signal", "", "rebal_host", rb.j.cfg.Hostname)
}

// Stop ends the run (rebalance_stop): the source device goes back to alive
// (unless leave_in_drain_mode), the stop time is recorded and rebal_host
// cleared. Rows already queued are still moved. ErrRebalNotStarted when no
// run is going.
func (rb *Rebalance) Stop(ctx context.Context) error {
	if run, err := rb.running(ctx); err != nil {
		return err
	} else if !run {
		return ErrRebalNotStarted
	}
	if err := rb.set(ctx, "rebal_signal", "stop"); err != nil {
		return err
	}
	// The injector may be in a run; it gives the lock up within moments.
	for range 50 {
		release, ok, err := rb.j.cfg.Store.TryLock(ctx, rebalLock, time.Minute)
		if err != nil {
			return err
		}
		if ok {
			defer release()
			return rb.stopLocked(ctx)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
	return nil // the injector sees rebal_signal
}

// stopLocked carries out a stop under the rebalance lock.
func (rb *Rebalance) stopLocked(ctx context.Context) error {
	if run, err := rb.running(ctx); err != nil || !run {
		return err
	}
	st, p, err := rb.load(ctx)
	if err != nil {
		return err
	}
	if st.SdevCurrent != 0 && !p.LeaveInDrainMode {
		if err := rb.undrain(ctx, st.SdevCurrent); err != nil {
			return err
		}
	}
	st.TimeStopped = rb.now(ctx)
	return rb.set(ctx, "rebal_state", st.String(), "rebal_signal", "", "rebal_host", "")
}

// Reset forgets the run's state (rebalance_reset); ErrRebalRunning while it
// runs.
func (rb *Rebalance) Reset(ctx context.Context) error {
	if run, err := rb.running(ctx); err != nil {
		return err
	} else if run {
		return ErrRebalRunning
	}
	return rb.set(ctx, "rebal_state", "")
}

// Status returns the state string (rebalance_status); ErrNoRebalState
// before any run.
func (rb *Rebalance) Status(ctx context.Context) (string, error) {
	s, err := rb.setting(ctx, "rebal_state")
	if err == nil && s == "" {
		err = ErrNoRebalState
	}
	return s, err
}

func (rb *Rebalance) now(ctx context.Context) int64 { return dbNow(ctx, rb.j.cfg.Store) }

// load reads the stored policy and state; a run started without a state
// (rebal_host set by hand or by another tracker version) starts afresh.
func (rb *Rebalance) load(ctx context.Context) (RebalState, RebalPolicy, error) {
	p, err := rb.Policy(ctx)
	if err != nil {
		return RebalState{}, p, err
	}
	s, err := rb.setting(ctx, "rebal_state")
	if err != nil {
		return RebalState{}, p, err
	}
	if s == "" {
		return rb.initState(p, rb.j.cfg.Monitor.Snapshot(), rb.now(ctx)), p, nil
	}
	st, err := ParseRebalState(s)
	return st, p, err
}

// undrain returns a source device to alive, if it is still in drain.
func (rb *Rebalance) undrain(ctx context.Context, devid int) error {
	if rb.j.cfg.Monitor.Snapshot().Devices[devid].Status != "drain" {
		return nil
	}
	return rb.setDeviceState(ctx, devid, "alive")
}

func (rb *Rebalance) setDeviceState(ctx context.Context, devid int, state string) error {
	if err := rb.j.cfg.Store.SetDeviceState(ctx, devid, state); err != nil && !errors.Is(err, meta.ErrNotFound) {
		return err
	}
	return rb.j.cfg.Monitor.Refresh(ctx)
}

// ownedDevices are the devices a running rebalance has put in drain: its
// current source and, while the run goes on, its completed ones (which stay
// in drain with leave_in_drain_mode). The drainer leaves them alone.
func (rb *Rebalance) ownedDevices(ctx context.Context) (map[int]bool, error) {
	if run, err := rb.running(ctx); err != nil || !run {
		return nil, err
	}
	s, err := rb.setting(ctx, "rebal_state")
	if err != nil {
		return nil, err
	}
	st, _ := ParseRebalState(s)
	owned := map[int]bool{st.SdevCurrent: st.SdevCurrent != 0}
	for _, id := range st.CompletedDevs {
		owned[id] = true
	}
	return owned, nil
}

const rebalLock = "mgfs:rebalance"

// RunInjector queues work for a running rebalance every Poll until ctx is
// done (JobMaster's _inject_rebalance_queues).
func (rb *Rebalance) RunInjector(ctx context.Context) {
	log := rb.j.log.With("component", "rebalance")
	rb.j.every(ctx, rb.j.cfg.Poll, log, "rebalance", func(ctx context.Context) error { return rb.inject(ctx, log) })
}

// inject is one injector run under the rebalance lock.
func (rb *Rebalance) inject(ctx context.Context, log *slog.Logger) error {
	if run, err := rb.running(ctx); err != nil || !run {
		return err
	}
	release, ok, err := rb.j.cfg.Store.TryLock(ctx, rebalLock, time.Minute)
	if err != nil || !ok {
		return err
	}
	defer release()
	if run, err := rb.running(ctx); err != nil || !run {
		return err // stopped while we waited
	}
	if sig, err := rb.setting(ctx, "rebal_signal"); err != nil {
		return err
	} else if sig == "stop" {
		return rb.stopLocked(ctx)
	}
	st, p, err := rb.load(ctx)
	if err != nil {
		return err
	}
	depth, err := rb.j.cfg.Store.QueueDepth(ctx, meta.QueueRebalance)
	if err != nil || depth >= settingInt(ctx, rb.j.cfg.Store, "queue_size_for_rebal", defRebalQueueMax) {
		return err
	}
	jobs, more, err := rb.next(ctx, &st, p, int(settingInt(ctx, rb.j.cfg.Store, "queue_rate_for_rebal", defRebalQueueInject)))
	if err != nil {
		return err
	}
	if !more {
		st.TimeFinished = rb.now(ctx)
		log.Info("rebalance finished", "fids_queued", st.FIDsQueued, "bytes_queued", st.BytesQueued)
		return rb.set(ctx, "rebal_state", st.String(), "rebal_host", "")
	}
	for _, job := range jobs {
		if err := rb.j.cfg.Store.Enqueue(ctx, job); err != nil {
			return err
		}
	}
	rb.j.stats.add("rebalance_queued", int64(len(jobs)))
	return rb.set(ctx, "rebal_state", st.String())
}

// next is next_fids_to_rebalance: up to limit rows for the current source
// device, or a new source device; more is false when no source is left.
func (rb *Rebalance) next(ctx context.Context, st *RebalState, p RebalPolicy, limit int) (jobs []meta.Job, more bool, err error) {
	snap := rb.j.cfg.Monitor.Snapshot()
	if st.SdevCurrent == 0 {
		if len(st.SourceDevs) == 0 {
			return nil, false, nil
		}
		st.SdevCurrent, st.SourceDevs = st.SourceDevs[0], st.SourceDevs[1:]
		st.SdevLastFID = 0
		st.SdevLimitNone = p.LimitType != "device" || p.LimitBy == "none"
		st.SdevLimit = p.Limit
		if p.LimitBy == "percent" {
			st.SdevLimit = usedBytes(snap, st.SdevCurrent) * p.Limit / 100
		}
	}
	sdev := st.SdevCurrent
	// The source takes no new files while we work on it (drain); a device
	// an admin took out of service meanwhile is left as it is. The state
	// naming it is saved first (see Drainer.tick).
	if snap.Devices[sdev].Status == "alive" {
		if err := rb.set(ctx, "rebal_state", st.String()); err != nil {
			return nil, true, err
		}
		if err := rb.setDeviceState(ctx, sdev, "drain"); err != nil {
			return nil, true, err
		}
		snap = rb.j.cfg.Monitor.Snapshot()
	}
	ddevs := p.destDevices(snap, *st)
	if len(ddevs) == 0 {
		return nil, true, errors.New("jobs: rebalance cannot find suitable destination devices")
	}
	var fids []int64
	if p.FIDAge == "new" {
		fids, err = rb.j.cfg.Store.FIDsOnDeviceNewest(ctx, sdev, st.SdevLastFID, limit)
	} else {
		fids, err = rb.j.cfg.Store.FIDsOnDevice(ctx, sdev, st.SdevLastFID, limit)
	}
	if err != nil {
		return nil, true, err
	}
	if len(fids) == 0 || !checkLimits(st, p, -1) {
		return nil, true, rb.finishSource(ctx, st, p)
	}
	st.SdevLastFID = fids[len(fids)-1]
	for _, fid := range fids {
		f, err := rb.j.cfg.Store.FileByFID(ctx, fid)
		if errors.Is(err, meta.ErrNotFound) {
			continue // being deleted
		}
		if err != nil {
			return nil, true, err
		}
		if !checkLimits(st, p, f.Length) {
			continue
		}
		dests := slices.Clone(ddevs)
		rand.Shuffle(len(dests), func(i, k int) { dests[i], dests[k] = dests[k], dests[i] })
		if p.UseDestDevs > 0 && p.UseDestDevs < len(dests) {
			dests = dests[:p.UseDestDevs]
		}
		st.FIDsQueued++
		st.BytesQueued += f.Length
		jobs = append(jobs, meta.Job{Queue: meta.QueueRebalance, FID: fid, FromDevID: sdev, Arg: joinIDs(dests)})
	}
	st.TimeLatestRun = rb.now(ctx)
	if len(jobs) == 0 {
		st.EmptyRuns++
		st.TimeLatestEmptyRun = st.TimeLatestRun
	}
	return jobs, true, nil
}

// finishSource is _finish_source_device: the device is done and goes back
// to alive unless the policy leaves it in drain.
func (rb *Rebalance) finishSource(ctx context.Context, st *RebalState, p RebalPolicy) error {
	sdev := st.SdevCurrent
	if !p.LeaveInDrainMode {
		if err := rb.undrain(ctx, sdev); err != nil {
			return err
		}
	}
	st.CompletedDevs = append(st.CompletedDevs, sdev)
	st.SdevCurrent, st.SdevLastFID, st.SdevLimit, st.SdevLimitNone = 0, 0, 0, false
	return nil
}

// checkLimits is _check_limits: with length < 0 it asks whether the limit
// has room left at all, otherwise it takes one file of that length from it.
func checkLimits(st *RebalState, p RebalPolicy, length int64) bool {
	if p.LimitBy == "none" {
		return true
	}
	left := &st.SdevLimit
	if p.LimitType == "global" {
		left = &st.Limit
	}
	if p.LimitBy == "count" {
		if *left < 1 {
			return false
		}
		if length >= 0 {
			*left--
		}
		return true
	}
	if length < 0 {
		return *left >= 1024 // the original gives up with less than 1 KiB left
	}
	if float64(length) > *left {
		return false
	}
	*left -= float64(length)
	return true
}

// Rebalancer moves the files of rebalance rows (Replicate.pm's
// rebalance_devfid).
type Rebalancer struct {
	j   *Jobs
	log *slog.Logger
}

// Process moves one row's file off its source device; the row is finished
// when the copy is gone from the source (or there is nothing to move) and
// retried with backoff otherwise.
func (m *Rebalancer) Process(ctx context.Context, job meta.Job) {
	st := m.j.cfg.Store
	release, ok := m.j.lockRow(ctx, m.log, job)
	if !ok {
		return
	}
	defer release()
	err := m.move(ctx, job)
	if ctx.Err() != nil {
		return // the lease brings the row back
	}
	if err != nil {
		m.log.Warn("rebalance move", "fid", job.FID, "devid", job.FromDevID, "failcount", job.FailCount, "err", err)
		m.j.reportErr("rebalance", job.FID, job.FromDevID, err)
		m.j.stats.add("rebalance_failed", 1)
		m.j.retry(ctx, m.log, job, time.Now().Add(backoff(job.FailCount)))
		return
	}
	if err := st.Finish(ctx, meta.QueueRebalance, job.FID); err != nil {
		m.log.Warn("finish", "fid", job.FID, "err", err)
	}
}

// move copies the file until its class's policy is met without the source
// copy, choosing destinations among the row's devices, then deletes the
// source copy once another copy is confirmed by HEAD.
func (m *Rebalancer) move(ctx context.Context, job meta.Job) error {
	st := m.j.cfg.Store
	sdev := job.FromDevID
	f, err := st.FileByFID(ctx, job.FID)
	if errors.Is(err, meta.ErrNotFound) {
		return nil // deleted meanwhile
	}
	if err != nil {
		return err
	}
	devids, err := st.FileDevIDs(ctx, f.FID)
	if err != nil {
		return err
	}
	if !slices.Contains(devids, sdev) {
		return nil // moved already (another tracker, an earlier try)
	}
	cls, err := m.j.class(ctx, f.DomainID, f.ClassID)
	if err != nil {
		return err
	}
	pol, err := ParsePolicy(cls.ReplPolicy)
	if err != nil {
		return err
	}
	sumType, sum, err := st.Checksum(ctx, f.FID)
	if err != nil && !errors.Is(err, meta.ErrNotFound) {
		return err
	}
	targets, _ := idList(job.Arg)
	snap := m.j.cfg.Monitor.Snapshot()
	// Copies on drain devices count here: the source is in drain while the
	// run works on it, and any other drain copy is the drainer's to move.
	pl := placement{snap: snap, skip: map[int]bool{sdev: true}, min: cls.MinDevCount, drainCounts: true}
	for id := range snap.Devices {
		if len(targets) > 0 && !slices.Contains(targets, id) {
			pl.skip[id] = true
		}
	}
	for _, d := range devids {
		if d != sdev && pl.counts(d) {
			pl.on = append(pl.on, d)
		}
	}
	rng := rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64()))
	if !reachable(pol, pl, rng) {
		// Copies to these devices alone cannot place the file as its class
		// wants once the source copy goes (say both targets share the host of
		// its other copy): leave it where it is rather than copy in vain. (Not
		// to the replicator either: it would move the file off the drained
		// source to any device, past the policy's destinations and limits.)
		m.log.Info("rebalance skips a file its destinations cannot place", "fid", f.FID, "devid", sdev, "targets", targets, "copies", pl.on)
		m.j.stats.add("rebalance_skipped", 1)
		return nil
	}
	rs := &replicaSet{f: f, cls: cls, sumType: sumType, sum: sum, devids: devids, badSrc: map[int]bool{}}
	for {
		v, ideal, desperate := pol.evaluate(pl, rng)
		if v == allGood || v == tooGood {
			break
		}
		if v == noAnswer {
			return fmt.Errorf("no suitable destination devices available among %v (copies counted on %v)", targets, pl.on)
		}
		dst := append(ideal, desperate...)[0]
		copied, err := m.j.copyTo(ctx, snap, m.log, "", rs, sdev, dst, pl.skip) // the copy being moved first
		if err != nil {
			return err
		}
		if copied {
			m.j.stats.add("rebalance_copied", 1)
			pl.on = append(pl.on, dst)
		}
	}
	if !m.j.removeCopy(ctx, snap, m.log, f, sdev, pl.on) {
		return fmt.Errorf("could not delete the copy on dev%d", sdev)
	}
	m.j.stats.add("rebalanced", 1)
	return nil
}

// reachable reports whether copying to the destinations pl allows can make
// pol happy, trying its suggestions in turn as the copy loop would.
func reachable(pol Policy, pl placement, rng *rand.Rand) bool {
	pl.on = slices.Clone(pl.on)
	for range len(pl.snap.Devices) + 1 {
		v, ideal, desperate := pol.evaluate(pl, rng)
		switch v {
		case allGood, tooGood:
			return true
		case noAnswer:
			return false
		}
		pl.on = append(pl.on, append(ideal, desperate...)[0])
	}
	return false
}
