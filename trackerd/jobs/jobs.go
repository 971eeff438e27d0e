package jobs

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"math/rand/v2"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"mogfs/nodeproto"
	"mogfs/trackerd/meta"
	"mogfs/trackerd/monitor"
)

// lease is how long a claimed queue row stays invisible to other trackers
// unless renewed; the original leases for 1000 s and never renews, so a
// crashed tracker's rows waited that long.
const lease = 60 * time.Second

// endOfTime is the original's ENDOFTIME nexttry: never retried by itself.
var endOfTime = time.Unix(2147483647, 0)

// Config configures the background jobs. Zero fields take the original's
// defaults.
type Config struct {
	Store   Store
	Monitor *monitor.Monitor
	Logger  *slog.Logger // default: discard

	// Worker counts (replicate_jobs, delete_jobs, fsck_jobs); 0 means 1,
	// negative disables that kind of worker.
	ReplicateJobs, DeleteJobs, FsckJobs int
	// Poll is how often an idle job master looks for due rows (1 s).
	Poll time.Duration
	// Hostname identifies this tracker in fsck_host.
	Hostname string
	// DefaultMinDevCount is the mindevcount of classes without a row
	// (default_mindevcount, 2).
	DefaultMinDevCount int

	// HTTPClient talks to storage nodes; default dials with NodeTimeout.
	HTTPClient *http.Client
	// Signer signs every request to a node (copies, deletes, HEADs, digest
	// GETs) for nodes that require signed URLs; nil signs nothing.
	Signer *nodeproto.Signer
	// NodeTimeout bounds HEAD, DELETE and MKCOL requests (node_timeout, 2 s).
	NodeTimeout time.Duration
	// StreamPort is the storage nodes' side channel (7501), used for
	// digests; -1 always hashes over HTTP GET.
	StreamPort int
	// LocalNetwork is local_network, the tracker's own network: when it
	// lies in a network zone, the replicator tries destinations in that
	// zone first (the ZoneLocal plugin's replicate_order_final_choices).
	// The policies still decide which devices are destinations at all.
	LocalNetwork netip.Prefix
	// TempfileTooOld is the age after which a tempfile row is abandoned
	// (1 h, T_TEMPFILE_TOO_OLD).
	TempfileTooOld time.Duration
	// TempfileSweep is how often stale tempfiles are looked for (60 s).
	TempfileSweep time.Duration
	// ReaperInterval is how often the reaper and drainer look for work (5 s).
	ReaperInterval time.Duration
	// ReaperGrace is how long a device must stay dead before it is reaped (16 s).
	ReaperGrace time.Duration
	// Lease is how long a claimed queue row stays invisible to other
	// trackers (60 s); it is renewed while the row is worked on, and a
	// crashed tracker's rows come due again after it.
	Lease time.Duration

	// OnError, when set, hears about each failure of a background job (job
	// is "replicate", "delete", "fsck", "reaper", "drain", ...; fid and
	// devid are 0 when the failure concerns none), e.g. for the status
	// page. It is called from the workers and must not block.
	OnError func(job string, fid int64, devid int, err error)
	// OnOutcome, when set, hears about each counted outcome, by the names
	// Stats uses ("replicated", "delete_failed", "fsck_<EVCODE>", ...). It
	// must not block.
	OnOutcome func(name string, n int64)
}

func (c Config) withDefaults() Config {
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	for _, n := range []*int{&c.ReplicateJobs, &c.DeleteJobs, &c.FsckJobs} {
		if *n == 0 {
			*n = 1
		}
	}
	if c.Poll <= 0 {
		c.Poll = time.Second
	}
	if c.DefaultMinDevCount <= 0 {
		c.DefaultMinDevCount = 2
	}
	if c.NodeTimeout <= 0 {
		c.NodeTimeout = 2 * time.Second
	}
	if c.StreamPort == 0 {
		c.StreamPort = 7501
	}
	if c.TempfileTooOld <= 0 {
		c.TempfileTooOld = time.Hour
	}
	if c.TempfileSweep <= 0 {
		c.TempfileSweep = time.Minute
	}
	if c.ReaperInterval <= 0 {
		c.ReaperInterval = 5 * time.Second
	}
	if c.ReaperGrace <= 0 {
		c.ReaperGrace = 16 * time.Second
	}
	if c.Lease <= 0 {
		c.Lease = lease
	}
	if c.HTTPClient == nil {
		d := &net.Dialer{Timeout: c.NodeTimeout, KeepAlive: 30 * time.Second}
		c.HTTPClient = &http.Client{Transport: &http.Transport{
			DialContext:         d.DialContext,
			MaxIdleConnsPerHost: 8,
			IdleConnTimeout:     30 * time.Second,
			DisableCompression:  true,
		}}
	}
	return c
}

// Jobs is the set of background workers of one tracker.
type Jobs struct {
	cfg   Config
	log   *slog.Logger
	nodes *nodeproto.Client

	// Fsck holds the fsck control commands (fsck_start, fsck_stop, ...).
	Fsck *Fsck
	// Rebalance holds the rebalance control commands (rebalance_start, ...).
	Rebalance *Rebalance

	stats counters

	// The worker pools of the queues, by job name ("replicate", "delete",
	// "fsck"), present for the queues this tracker runs; !want resizes
	// them at run time.
	pools map[string]*pool
}

// pool is the worker count of one queue's job.
type pool struct {
	desired, running atomic.Int64
	changed          chan struct{} // wakes the queue's master after a Want
}

// MaxWorkers caps a pool, as the original caps !want.
const MaxWorkers = 500

// Want sets how many workers job runs, at most MaxWorkers. ok is false
// when job is not a queue this tracker runs.
func (j *Jobs) Want(job string, n int) (ok bool) {
	p := j.pools[job]
	if p == nil {
		return false
	}
	p.desired.Store(int64(min(max(n, 0), MaxWorkers)))
	select {
	case p.changed <- struct{}{}:
	default:
	}
	return true
}

// Workers returns how many workers job runs and should run; ok is false
// when it is not a queue this tracker runs.
func (j *Jobs) Workers(job string) (running, desired int, ok bool) {
	p := j.pools[job]
	if p == nil {
		return 0, 0, false
	}
	return int(p.running.Load()), int(p.desired.Load()), true
}

// New builds the jobs; nothing runs until Run.
func New(cfg Config) *Jobs {
	cfg = cfg.withDefaults()
	j := &Jobs{cfg: cfg, log: cfg.Logger.With("component", "jobs")}
	j.stats.hook = cfg.OnOutcome
	j.nodes = &nodeproto.Client{HTTP: cfg.Signer.Client(cfg.HTTPClient), Timeout: cfg.NodeTimeout, StreamPort: cfg.StreamPort}
	j.Fsck = &Fsck{store: cfg.Store, hostname: cfg.Hostname}
	j.Rebalance = &Rebalance{j: j}
	j.pools = map[string]*pool{}
	// Rebalance rows are moved by as many workers as replicate rows, as the
	// original's replicate workers take both.
	for q, n := range map[meta.Queue]int{meta.QueueReplicate: cfg.ReplicateJobs, meta.QueueDelete: cfg.DeleteJobs,
		meta.QueueFSCK: cfg.FsckJobs, meta.QueueRebalance: cfg.ReplicateJobs} {
		if n > 0 {
			p := &pool{changed: make(chan struct{}, 1)}
			p.desired.Store(int64(min(n, MaxWorkers)))
			j.pools[queueNames[q]] = p
		}
	}
	return j
}

// Run builds Jobs from cfg and runs them until ctx is done.
func Run(ctx context.Context, cfg Config) error { return New(cfg).Run(ctx) }

// Run starts every worker and blocks until ctx is done and they have stopped.
func (j *Jobs) Run(ctx context.Context) error {
	// Until the monitor's first round every device is unobserved: a job
	// would find no destination and back off for minutes (a restarted
	// tracker's rows), so wait for it.
	if j.cfg.Monitor.Snapshot().Round == 0 {
		if err := j.cfg.Monitor.WaitRound(ctx); err != nil {
			return err
		}
	}
	var wg sync.WaitGroup
	start := func(f func(context.Context)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			f(ctx)
		}()
	}
	rep := &Replicator{j: j, log: j.log.With("component", "replicate")}
	del := &Deleter{j: j, log: j.log.With("component", "delete")}
	fw := &fsckWorker{j: j, log: j.log.With("component", "fsck")}
	if j.cfg.ReplicateJobs > 0 {
		start(func(ctx context.Context) { j.runQueue(ctx, meta.QueueReplicate, rep.Process) })
		start((&Reaper{j: j, log: j.log.With("component", "reaper")}).Run)
		start((&Drainer{j: j, log: j.log.With("component", "drain")}).Run)
		reb := &Rebalancer{j: j, log: j.log.With("component", "rebalance")}
		start(func(ctx context.Context) { j.runQueue(ctx, meta.QueueRebalance, reb.Process) })
		start(j.Rebalance.RunInjector)
		start((&hostBack{j: j, log: j.log.With("component", "replicate")}).Run)
	}
	if j.cfg.DeleteJobs > 0 {
		start(func(ctx context.Context) { j.runQueue(ctx, meta.QueueDelete, del.Process) })
		start(del.RunTempfiles)
	}
	if j.cfg.FsckJobs > 0 {
		start(func(ctx context.Context) { j.runQueue(ctx, meta.QueueFSCK, fw.Process) })
		start((&fsckInjector{j: j, log: j.log.With("component", "fsck")}).Run)
	}
	wg.Wait()
	return ctx.Err()
}

// counters are the outcomes Stats reports; the map is guarded by mu.
type counters struct {
	mu   sync.Mutex
	m    map[string]int64
	hook func(name string, n int64) // Config.OnOutcome; set before Run, read-only after
}

func (c *counters) add(name string, n int64) {
	c.mu.Lock()
	if c.m == nil {
		c.m = map[string]int64{}
	}
	c.m[name] += n
	c.mu.Unlock()
	if c.hook != nil {
		c.hook(name, n)
	}
}

// reportErr passes a job failure to Config.OnError.
func (j *Jobs) reportErr(job string, fid int64, devid int, err error) {
	if j.cfg.OnError != nil && err != nil {
		j.cfg.OnError(job, fid, devid, err)
	}
}

func (c *counters) set(name string, n int64) {
	c.mu.Lock()
	if c.m == nil {
		c.m = map[string]int64{}
	}
	c.m[name] = n
	c.mu.Unlock()
}

// Stats returns a copy of the counters: outcomes since start (replicated,
// replicate_failed, replicate_trimmed, drained, deleted (fids),
// deleted_replicas, delete_failed, tempfiles_reaped, legacy_deletes_adopted, reaped, drain_queued,
// fsck_checked, fsck_<EVCODE>, rebalance_queued, rebalance_copied, rebalanced, rebalance_failed)
// and the last observed queue depths (queue_replicate, queue_delete, queue_fsck, queue_rebalance). Counters never touched are
// absent.
func (j *Jobs) Stats() map[string]int64 {
	j.stats.mu.Lock()
	defer j.stats.mu.Unlock()
	return maps.Clone(j.stats.m)
}

var queueNames = map[meta.Queue]string{
	meta.QueueReplicate: "replicate",
	meta.QueueDelete:    "delete",
	meta.QueueFSCK:      "fsck",
	meta.QueueRebalance: "rebalance",
}

// runQueue is the job master of one queue: it claims due rows (leasing them
// for Lease, renewed while they run) while workers are free, hands them to
// the pool's workers, and starts or retires workers when the pool's desired
// count changes.
func (j *Jobs) runQueue(ctx context.Context, q meta.Queue, handle func(context.Context, meta.Job)) {
	log := j.log.With("queue", queueNames[q])
	p := j.pools[queueNames[q]]
	leases := &leaseSet{end: map[int64]time.Time{}}
	work := make(chan meta.Job)
	freed := make(chan struct{}, MaxWorkers)
	retire := make(chan struct{}, MaxWorkers) // one token stops one idle worker
	var inflight atomic.Int64
	var wg sync.WaitGroup
	wg.Go(func() { j.renewLeases(ctx, log, q, leases) })
	worker := func() {
		defer wg.Done()
		defer p.running.Add(-1)
		for {
			select {
			case <-retire:
				return
			case job, ok := <-work:
				if !ok {
					return
				}
				j.safely(ctx, log, job, handle)
				leases.drop(job.FID)
				inflight.Add(-1)
				select {
				case freed <- struct{}{}:
				default:
				}
			}
		}
	}
	staffed := 0 // workers started minus retire tokens sent
	resize := func() {
		for d := int(p.desired.Load()); staffed != d; {
			if staffed < d {
				wg.Add(1)
				p.running.Add(1)
				go worker()
				staffed++
			} else {
				retire <- struct{}{}
				staffed--
			}
		}
	}
	defer wg.Wait()
	defer close(work)
	poll := time.NewTimer(0)
	defer poll.Stop()
	for {
		resize()
		select {
		case <-ctx.Done():
			return
		case <-poll.C:
		case <-freed:
		case <-p.changed:
			continue
		}
		if depth, err := j.cfg.Store.QueueDepth(ctx, q); err == nil {
			j.stats.set("queue_"+queueNames[q], depth)
		}
		want := 2*staffed - int(inflight.Load())
		got := 0
		if want > 0 {
			jobs, err := j.cfg.Store.Claim(ctx, q, want, j.cfg.Lease)
			if err != nil && ctx.Err() == nil {
				log.Warn("claim", "err", err)
				j.reportErr(queueNames[q], 0, 0, err)
			}
			got = len(jobs)
			for _, job := range jobs {
				inflight.Add(1)
				leases.add(job.FID, job.LeaseEnd)
				for sent := false; !sent; {
					select {
					case work <- job:
						sent = true
					case <-p.changed: // a Want while every worker is busy, or none is left
						resize()
					case <-ctx.Done():
						return
					}
				}
			}
		}
		// Work found: look again at once (bounded by free workers);
		// otherwise sleep for Poll.
		if got > 0 {
			poll.Reset(0)
		} else {
			poll.Reset(j.cfg.Poll)
		}
	}
}

// leaseSet is the lease end of every row this queue's workers hold.
type leaseSet struct {
	mu  sync.Mutex // guards end
	end map[int64]time.Time
}

func (l *leaseSet) add(fid int64, end time.Time) {
	l.mu.Lock()
	l.end[fid] = end
	l.mu.Unlock()
}

func (l *leaseSet) drop(fid int64) {
	l.mu.Lock()
	delete(l.end, fid)
	l.mu.Unlock()
}

// renewLeases extends the leases of running rows every third of a lease, so
// a short lease (a crashed tracker's rows soon come due elsewhere) does not
// let another tracker take a row that is still being worked on. A row its
// worker finished or rescheduled meanwhile is left as it is (Store.Renew
// compares the lease end).
func (j *Jobs) renewLeases(ctx context.Context, log *slog.Logger, q meta.Queue, l *leaseSet) {
	j.every(ctx, max(j.cfg.Lease/3, time.Second), log, "renew lease", func(ctx context.Context) error {
		l.mu.Lock()
		held := maps.Clone(l.end)
		l.mu.Unlock()
		for fid, end := range held {
			next, ok, err := j.cfg.Store.Renew(ctx, q, fid, end, j.cfg.Lease)
			if err != nil {
				return err // the next round tries again, well within the lease
			}
			l.mu.Lock()
			if cur, running := l.end[fid]; running && cur.Equal(end) {
				if ok {
					l.end[fid] = next
				} else {
					delete(l.end, fid) // not ours any more
				}
			}
			l.mu.Unlock()
			if ok {
				j.stats.add("leases_renewed", 1)
			}
		}
		return nil
	})
}

// every runs f each interval until ctx is done; its errors are logged and
// reported as job's.
func (j *Jobs) every(ctx context.Context, interval time.Duration, log *slog.Logger, job string, f func(context.Context) error) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if err := f(ctx); err != nil && ctx.Err() == nil {
			log.Warn(job, "err", err)
			j.reportErr(job, 0, 0, err)
		}
	}
}

// safely runs one job, turning a panic into a log line; the row then comes
// due again when its lease expires.
func (j *Jobs) safely(ctx context.Context, log *slog.Logger, job meta.Job, handle func(context.Context, meta.Job)) {
	defer func() {
		if r := recover(); r != nil {
			log.Error("job panicked", "fid", job.FID, "panic", r)
			j.reportErr(queueNames[job.Queue], job.FID, 0, fmt.Errorf("panic: %v", r))
		}
	}()
	handle(ctx, job)
}

// backoff returns the delay before retry number failcount+1 of a replicate
// row: 15s, 60s, 5m, 30m, 1h, 2h, 4h, 8h, then 24h, each ×rand(0.8..1.2).
func backoff(failcount int) time.Duration {
	steps := []time.Duration{15 * time.Second, time.Minute, 5 * time.Minute, 30 * time.Minute,
		time.Hour, 2 * time.Hour, 4 * time.Hour, 8 * time.Hour, 24 * time.Hour}
	d := steps[min(max(failcount, 0), len(steps)-1)]
	return time.Duration(float64(d) * (0.8 + 0.4*randFloat()))
}

// lockRow takes the lock of a queue row's fid; when someone else holds it
// (delete, fsck, replication, another tracker) the row comes due again in
// a second or two and ok is false.
func (j *Jobs) lockRow(ctx context.Context, log *slog.Logger, job meta.Job) (release func(), ok bool) {
	release, ok, err := j.fidLock(ctx, job.FID)
	if err != nil || !ok {
		j.retry(ctx, log, job, time.Now().Add(time.Second+time.Duration(rand.IntN(1000))*time.Millisecond))
		return nil, false
	}
	return release, true
}

// retry reschedules a queue row at `at`, counting the failure.
func (j *Jobs) retry(ctx context.Context, log *slog.Logger, job meta.Job, at time.Time) {
	if err := j.cfg.Store.Retry(ctx, job.Queue, job.FID, at); err != nil && ctx.Err() == nil {
		log.Warn("retry", "fid", job.FID, "err", err)
	}
}

// fidLock takes the per-fid exclusion shared by replicate, delete and fsck.
func (j *Jobs) fidLock(ctx context.Context, fid int64) (release func(), ok bool, err error) {
	return j.cfg.Store.TryLock(ctx, fidLockName(fid), 10*time.Minute)
}

// class returns the file's class row, or the implicit default class (with
// DefaultMinDevCount) when there is none.
func (j *Jobs) class(ctx context.Context, dmid, classid int) (meta.Class, error) {
	classes, err := j.cfg.Store.Classes(ctx)
	if err != nil {
		return meta.Class{}, err
	}
	for _, c := range classes {
		if c.DomainID == dmid && c.ID == classid {
			return c, nil
		}
	}
	// The implicit default class, or a class deleted under the file.
	return meta.Class{DomainID: dmid, ID: classid, Name: "default", MinDevCount: j.cfg.DefaultMinDevCount}, nil
}

func randFloat() float64 { return rand.Float64() }

func fidLockName(fid int64) string { return "mgfs:fid:" + strconv.FormatInt(fid, 10) + ":replicate" }

// head is a replica's size by HEAD; a reply without a length is an error,
// not a size to compare.
func (j *Jobs) head(ctx context.Context, url string) (int64, error) {
	size, err := j.nodes.Head(ctx, url)
	if err == nil && size < 0 {
		return 0, fmt.Errorf("jobs: HEAD %s: no Content-Length", url)
	}
	return size, err
}
