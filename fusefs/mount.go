package fusefs

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/sys/unix"

	"mogfs/cache"
	"mogfs/client"
	"mogfs/fusefs/vfs"
	"mogfs/metrics"
)

// Errors of Run, each with a message meant for the person who mounted.
var (
	// ErrTrackerUnreachable is returned when no tracker answers at mount time.
	ErrTrackerUnreachable = errors.New("mogfs: no tracker reachable")
	// ErrUnknownDomain is returned when -o domain= names no domain.
	ErrUnknownDomain = errors.New("mogfs: unknown domain")
	// ErrMountpoint is returned for a mount point that is missing, not a
	// directory or already mounted.
	ErrMountpoint = errors.New("mogfs: bad mount point")
)

// mount is the state shared by every node of one mount.
type mount struct {
	fs       *vfs.FS
	opt      vfs.Options
	log      *slog.Logger
	met      *metrics.Mount // nil without metrics_listen
	uid, gid uint32

	lru *inodeLRU // bounds the inodes kept (max_inodes)

	mu     sync.Mutex         // guards open, doms, domsAt
	open   map[*node]struct{} // nodes with a write session, flushed at unmount
	doms   []string
	domsAt time.Time
}

func (m *mount) errno(op string, err error) syscall.Errno { return toErrno(m.log, op, err) }

// observe records one FUSE operation that started at start and ended with
// *errno (deferred by every operation with its named result).
func (m *mount) observe(op string, start time.Time, errno *syscall.Errno) {
	if m.met == nil {
		return
	}
	name := ""
	if *errno != 0 {
		if name = unix.ErrnoName(*errno); name == "" {
			name = "other"
		}
	}
	m.met.ObserveOp(op, name, time.Since(start))
}

// cacheStats adapts the block cache's counters for the metrics collector.
func cacheStats(bc *cache.Cache) func() metrics.CacheStats {
	return func() metrics.CacheStats {
		s := bc.Stats()
		return metrics.CacheStats{Hits: s.Hits, Misses: s.Misses, Bytes: int64(s.CostAdded - min(s.CostEvicted, s.CostAdded))}
	}
}

func (m *mount) track(n *node) {
	m.mu.Lock()
	m.open[n] = struct{}{}
	m.mu.Unlock()
}

func (m *mount) untrack(n *node) {
	m.mu.Lock()
	delete(m.open, n)
	m.mu.Unlock()
}

// flushAll stores every open file, for a clean unmount.
func (m *mount) flushAll(ctx context.Context) {
	m.mu.Lock()
	nodes := make([]*node, 0, len(m.open))
	for n := range m.open {
		nodes = append(nodes, n)
	}
	m.mu.Unlock()
	for _, n := range nodes {
		if errno := n.flush(ctx); errno != 0 {
			m.log.Error("mogfs: flush at unmount failed", "key", n.seg, "errno", errno)
		}
	}
}

// domains returns the domain list, cached for entry_timeout.
func (m *mount) domains(ctx context.Context) ([]string, error) {
	m.mu.Lock()
	if m.doms != nil && time.Since(m.domsAt) < max(m.opt.EntryTimeout, time.Second) {
		d := m.doms
		m.mu.Unlock()
		return d, nil
	}
	m.mu.Unlock()
	d, err := m.fs.Domains(ctx)
	if err != nil {
		return nil, err
	}
	m.mu.Lock()
	m.doms, m.domsAt = d, time.Now()
	m.mu.Unlock()
	return d, nil
}

// memHeadroom is the Go heap the mount needs beyond its inodes: HTTP and
// FUSE buffers, listings, the runtime. (Cached blocks live off the heap,
// in the cache's arena.)
const memHeadroom = 40 << 20

// inodeMemory is about what one inode the mount keeps costs (go-fuse's
// and ours: 850 MiB were measured for a million).
const inodeMemory = 1 << 10

// writebackStreams is how many uploads -o writeback runs at once.
const writebackStreams = 4

// drainWriteback waits for the queued uploads before the mount exits, and
// leaves what does not finish in time (nodes down, say) to the next mount.
func drainWriteback(wb *vfs.Writeback, log *slog.Logger) {
	if n := wb.Pending(); n > 0 {
		log.Info("writeback: waiting for queued uploads", "pending", n)
	}
	ctx, cancel := context.WithTimeout(context.Background(), flushTimeout)
	defer cancel()
	if err := wb.WaitAll(ctx); err != nil {
		log.Warn("writeback: uploads left for the next mount", "pending", wb.Pending(), "err", err)
	}
	wb.Close()
}

// Config is what Run needs.
type Config struct {
	Options vfs.Options
	Logger  *slog.Logger
	// Ready is called once the mount serves requests (the background
	// parent waits for it).
	Ready func()
}

// Run mounts the file system and serves it until ctx ends (then it stores
// open files and unmounts) or someone runs umount.
func Run(ctx context.Context, cfg Config) error {
	opt := cfg.Options
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if err := checkMountpoint(opt.Mountpoint); err != nil {
		return err
	}
	c, err := client.New(client.Config{Trackers: opt.Trackers, Logger: log.With("component", "client")})
	if err != nil {
		return fmt.Errorf("mogfs: %w", err)
	}
	defer c.Close()
	if opt.CacheDir == "" {
		opt.CacheDir = filepath.Join(os.TempDir(), "mogfs")
	}
	if os.Getenv("GOMEMLIMIT") == "" {
		// Cached blocks live off the Go heap (the cache's arena), so the
		// heap is inodes (max_inodes) and buffers: a soft limit of those
		// keeps the collector from letting the heap double (GOGC) where
		// the budget is cache + 100 MB. The inodes must be inside the
		// limit: one below the live heap makes the collector run without
		// pause (seen: 100% CPU, creates at a fifth of their rate).
		debug.SetMemoryLimit(memHeadroom + int64(opt.MaxInodes)*inodeMemory)
	}
	bc, err := cache.New(cache.Config{MaxBytes: opt.CacheSize, BlockSize: opt.BlockSize})
	if err != nil {
		return err
	}
	defer bc.Close()
	var met *metrics.Mount
	var wbp atomic.Pointer[vfs.Writeback] // for the metric, set once the queue is open
	if opt.MetricsListen != "" {
		reg := metrics.NewRegistry()
		met = metrics.NewMount(reg, cacheStats(bc))
		reg.MustRegister(
			prometheus.NewCounterFunc(prometheus.CounterOpts{
				Name: "mogfs_mount_tracker_dials_total",
				Help: "Tracker connections the mount opened (pooled connections are reused).",
			}, func() float64 { t, _ := c.DialStats(); return float64(t) }),
			prometheus.NewGaugeFunc(prometheus.GaugeOpts{
				Name: "mogfs_mount_writeback_pending",
				Help: "Files closed under -o writeback and not uploaded yet (durable in cache_dir).",
			}, func() float64 {
				if wb := wbp.Load(); wb != nil {
					return float64(wb.Pending())
				}
				return 0
			}),
			prometheus.NewCounterFunc(prometheus.CounterOpts{
				Name: "mogfs_mount_storage_dials_total",
				Help: "Storage-node connections the mount opened (keep-alive connections are reused).",
			}, func() float64 { _, h := c.DialStats(); return float64(h) }),
		)
		l, err := metrics.Listen(opt.MetricsListen)
		if err != nil {
			return fmt.Errorf("mogfs: metrics_listen: %w", err)
		}
		mctx, stop := context.WithCancel(ctx)
		defer stop()
		go func() {
			if err := metrics.ServeListener(mctx, l, reg, nil, log); err != nil {
				log.Error("metrics server stopped", "err", err)
			}
		}()
	}
	m := &mount{
		fs:  vfs.New(vfs.Config{Client: c, Cache: bc, Options: opt, Logger: log, Metrics: met}),
		opt: opt, log: log, met: met, open: map[*node]struct{}{}, lru: newInodeLRU(opt.MaxInodes),
		uid: uint32(os.Getuid()), gid: uint32(os.Getgid()),
	}
	if opt.HasUID {
		m.uid = opt.UID
	}
	if opt.HasGID {
		m.gid = opt.GID
	}
	pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	doms, err := m.fs.Domains(pctx)
	cancel()
	if err != nil {
		return fmt.Errorf("%w (%s): %v", ErrTrackerUnreachable, strings.Join(opt.Trackers, ","), err)
	}
	root := &node{m: m, role: roleDomainList}
	if opt.Domain != "" {
		found := false
		for _, d := range doms {
			found = found || d == opt.Domain
		}
		if !found {
			return fmt.Errorf("%w %q (the tracker has: %s)", ErrUnknownDomain, opt.Domain, strings.Join(doms, ", "))
		}
		root = &node{m: m, role: roleEntry, st: vfs.Stat{Kind: vfs.KindDir}}
	}
	fsOpts := &fs.Options{
		EntryTimeout: &opt.EntryTimeout,
		AttrTimeout:  &opt.AttrTimeout,
		// A name that is not there is remembered as long as one that is
		// (entry_timeout): cp, tar -x and mkdir -p look up every name
		// before creating it. Names made through other mounts show up
		// within that time, as changes to existing names do.
		NegativeTimeout: &opt.EntryTimeout,
		UID:             m.uid,
		GID:             m.gid,
		MountOptions: fuse.MountOptions{
			AllowOther:   opt.AllowOther,
			FsName:       strings.Join(opt.Trackers, ","),
			Name:         "mogfs",
			Debug:        opt.Debug,
			DirectMount:  true, // root mounts without fusermount; falls back to it otherwise
			MaxWrite:     1 << 20,
			MaxReadAhead: 1 << 20,
		},
	}
	if opt.DefaultPerms {
		fsOpts.MountOptions.Options = append(fsOpts.MountOptions.Options, "default_permissions")
	}
	if opt.ReadOnly {
		fsOpts.MountOptions.Options = append(fsOpts.MountOptions.Options, "ro")
	}
	if opt.Writeback {
		// Opened before the mount serves anything; entries a crashed
		// mount left start uploading now.
		wb, err := m.fs.NewWriteback(filepath.Join(opt.CacheDir, "writeback"), writebackStreams)
		if err != nil {
			return fmt.Errorf("mogfs: %w", err)
		}
		wbp.Store(wb)
	}
	srv, err := fs.Mount(opt.Mountpoint, root, fsOpts)
	if err != nil {
		if wb := m.fs.Writeback(); wb != nil {
			wb.Close() // the queue stays on disk
		}
		return fmt.Errorf("%w %s: %v", ErrMountpoint, opt.Mountpoint, err)
	}
	if wb := m.fs.Writeback(); wb != nil {
		defer drainWriteback(wb, log)
	}
	log.Info("mounted", "mountpoint", opt.Mountpoint, "trackers", opt.Trackers, "domain", opt.Domain)
	sctx, stopSweep := context.WithCancel(ctx)
	defer stopSweep()
	go m.lru.sweep(sctx)
	if cfg.Ready != nil {
		cfg.Ready()
	}
	done := make(chan struct{})
	go func() { srv.Wait(); close(done) }()
	select {
	case <-done:
		log.Info("unmounted from outside", "mountpoint", opt.Mountpoint)
		m.fs.ClosePool()
		return nil
	case <-ctx.Done():
	}
	fctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	m.flushAll(fctx)
	cancel()
	defer m.fs.ClosePool()
	if err := srv.Unmount(); err != nil {
		log.Warn("unmount busy, detaching lazily", "mountpoint", opt.Mountpoint, "err", err)
		if err := syscall.Unmount(opt.Mountpoint, syscall.MNT_DETACH); err != nil {
			return fmt.Errorf("mogfs: unmount %s: %w", opt.Mountpoint, err)
		}
	}
	<-done
	log.Info("unmounted", "mountpoint", opt.Mountpoint)
	return nil
}

// checkMountpoint gives clear errors before the kernel gives vague ones.
func checkMountpoint(dir string) error {
	st, err := os.Stat(dir)
	if err != nil {
		if errors.Is(err, syscall.ENOTCONN) {
			return fmt.Errorf("%w %s: a dead FUSE mount is there; run fusermount3 -u %s", ErrMountpoint, dir, dir)
		}
		return fmt.Errorf("%w: %v", ErrMountpoint, err)
	}
	if !st.IsDir() {
		return fmt.Errorf("%w %s: not a directory", ErrMountpoint, dir)
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrMountpoint, err)
	}
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return nil // not Linux or no procfs: let the kernel decide
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) > 4 && unescapeMount(fields[4]) == abs {
			return fmt.Errorf("%w %s: already a mount point (in use)", ErrMountpoint, dir)
		}
	}
	return nil
}

// unescapeMount undoes mountinfo's octal escapes (\040 for space).
func unescapeMount(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			var v byte
			ok := true
			for _, c := range []byte(s[i+1 : i+4]) {
				if c < '0' || c > '7' {
					ok = false
				}
				v = v*8 + c - '0'
			}
			if ok {
				b.WriteByte(v)
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}
