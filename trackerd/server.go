package trackerd

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strconv"
	"sync"
	"time"

	"mogfs/nodeproto"
	"mogfs/protocol"
	"mogfs/trackerd/jobs"
	"mogfs/trackerd/meta"
	"mogfs/trackerd/monitor"
)

// Version is what "!version" prints. The major.minor tracks the protocol
// level of the MogileFS release we reproduce.
const Version = "2.73-mogfs"

// maxLine caps a request line; see protocol.MaxLine.
const maxLine = protocol.MaxLine

// Tracker is a running tracker: listeners, store, caches, monitor and jobs.
// Create it with Start; stop it with Close.
type Tracker struct {
	cfg   Config
	log   *slog.Logger
	store *meta.Store
	mon   *monitor.Monitor
	ns    *nsCache
	jobs  *jobs.Jobs
	stats *stats
	obs   *observer
	paths *pathCache
	nodes *nodeproto.Client // HEAD, MKCOL and digests against storage nodes
	sign  *nodeproto.Signer // signs storage URLs; nil when signing is off
	start time.Time

	commands map[string]handler // the dispatch table (handlers.go)

	shutdown     chan struct{} // closed by the admin console's !shutdown
	shutdownOnce sync.Once

	cancel context.CancelFunc // ends the context of all request and background work
	bg     sync.WaitGroup     // background loops and accept loops

	mu        sync.Mutex // guards listeners, conns, closed
	listeners []net.Listener
	conns     map[net.Conn]struct{}
	closed    bool
	connWG    sync.WaitGroup
}

// Start opens the store (creating or upgrading the schema), starts the
// monitor, the background jobs and the listeners, and returns at once. The
// context bounds start-up only; Close stops everything.
func Start(ctx context.Context, cfg Config) (*Tracker, error) {
	cfg = cfg.withDefaults()
	if len(cfg.Listen) == 0 {
		return nil, ErrNoListen
	}
	paths := newPathCache(cfg.GetPathsCacheTTL)
	store, err := meta.Open(ctx, meta.Config{DSN: cfg.DSN, User: cfg.DBUser, Pass: cfg.DBPass, Logger: cfg.Logger,
		Synchronous: cfg.SQLiteSynchronous, OnFileChange: paths.dropFID})
	if err != nil {
		return nil, fmt.Errorf("trackerd: open store: %w", err)
	}
	sign := nodeproto.NewSigner(cfg.StorageSecret, cfg.StorageURLTTL)
	t := &Tracker{
		cfg:      cfg,
		log:      cfg.Logger,
		store:    store,
		paths:    paths,
		nodes:    &nodeproto.Client{HTTP: sign.Client(cfg.HTTPClient)},
		sign:     sign,
		start:    time.Now(),
		conns:    map[net.Conn]struct{}{},
		shutdown: make(chan struct{}),
	}
	// life ends at Close: the parent of all request and background work.
	life, cancel := context.WithCancel(context.Background())
	t.cancel = cancel
	t.ns = newNSCache(store, cfg.DefaultMinDevCount)
	if err := t.ns.reload(ctx); err != nil {
		store.Close()
		return nil, fmt.Errorf("trackerd: load domains: %w", err)
	}
	if err := t.startMetrics(life); err != nil {
		store.Close()
		return nil, err
	}
	for _, addr := range cfg.Listen {
		l, err := net.Listen("tcp", addr)
		if err != nil {
			t.closeListeners()
			if t.obs.ln != nil {
				t.obs.ln.Close()
			}
			store.Close()
			return nil, fmt.Errorf("trackerd: listen %s: %w", addr, err)
		}
		t.listeners = append(t.listeners, l)
	}
	t.startBackground(life)
	t.commands = t.newCommands()
	signReplies(t.commands, t.sign)
	t.stats = newStats(t.commands)
	t.serveMetrics(life)
	t.bg.Add(1)
	go func() {
		defer t.bg.Done()
		t.ns.loop(life, cfg.CacheRefresh, t.log)
	}()
	for _, l := range t.listeners {
		t.bg.Add(1)
		go func() {
			defer t.bg.Done()
			t.acceptLoop(life, l)
		}()
	}
	t.log.Info("tracker started", "addrs", t.Addrs(), "metrics", t.MetricsAddr(), "config", cfg)
	return t, nil
}

// Run starts a tracker, writes the pid file if configured, and serves until
// ctx is cancelled.
func Run(ctx context.Context, cfg Config) error {
	t, err := Start(ctx, cfg)
	if err != nil {
		return err
	}
	if cfg.PIDFile != "" {
		if err := os.WriteFile(cfg.PIDFile, []byte(strconv.Itoa(os.Getpid())+"\n"), 0o644); err != nil {
			t.Close()
			return fmt.Errorf("trackerd: pidfile: %w", err)
		}
		defer os.Remove(cfg.PIDFile)
	}
	select {
	case <-ctx.Done():
	case <-t.shutdown:
	}
	t.log.Info("tracker stopping")
	return t.Close()
}

// ShutdownRequested is closed when an operator asks the tracker to stop
// (the admin console's !shutdown); Run then closes it.
func (t *Tracker) ShutdownRequested() <-chan struct{} { return t.shutdown }

// Addrs returns the addresses the tracker listens on ("127.0.0.1:41234").
func (t *Tracker) Addrs() []string {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make([]string, len(t.listeners))
	for i, l := range t.listeners {
		out[i] = l.Addr().String()
	}
	return out
}

// Store returns the tracker's metadata store (tests and tools).
func (t *Tracker) Store() *meta.Store { return t.store }

func (t *Tracker) closeListeners() {
	for _, l := range t.listeners {
		l.Close()
	}
}

// Close stops listening, closes client connections, stops the background
// work and closes the store.
func (t *Tracker) Close() error {
	t.mu.Lock()
	if t.closed {
		t.mu.Unlock()
		return nil
	}
	t.closed = true
	t.closeListeners()
	for c := range t.conns {
		c.Close()
	}
	t.mu.Unlock()
	t.cancel()
	t.connWG.Wait()
	t.bg.Wait()
	return t.store.Close()
}

func (t *Tracker) acceptLoop(ctx context.Context, l net.Listener) {
	var delay time.Duration
	for {
		c, err := l.Accept()
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				return
			}
			// Out of file descriptors and the like: back off as net/http does.
			delay = min(max(2*delay, 5*time.Millisecond), time.Second)
			t.log.Warn("accept failed", "err", err, "retry_in", delay)
			time.Sleep(delay)
			continue
		}
		delay = 0
		t.mu.Lock()
		if t.closed {
			t.mu.Unlock()
			c.Close()
			return
		}
		t.conns[c] = struct{}{}
		t.connWG.Add(1)
		t.mu.Unlock()
		if t.obs.m != nil {
			t.obs.m.Connections.Inc()
		}
		go t.serveConn(ctx, c)
	}
}

// serveConn runs one client connection: requests are answered strictly in
// order; replies are buffered and flushed only when no further complete
// request line is already buffered, so a pipelined batch costs one write
// while a lone request is never held back.
func (t *Tracker) serveConn(ctx context.Context, c net.Conn) {
	defer func() {
		c.Close()
		t.mu.Lock()
		delete(t.conns, c)
		t.mu.Unlock()
		if t.obs.m != nil {
			t.obs.m.Connections.Dec()
		}
		t.connWG.Done()
	}()
	if tc, ok := c.(*net.TCPConn); ok {
		tc.SetNoDelay(true)
	}
	clientIP := ""
	if a, ok := c.RemoteAddr().(*net.TCPAddr); ok {
		clientIP = a.IP.String()
	}
	cs := &connState{ip: clientIP}
	br := bufio.NewReaderSize(c, 16<<10)
	bw := bufio.NewWriterSize(c, 16<<10)
	for {
		line, err := protocol.ReadLine(br, maxLine)
		var reply string
		switch {
		case errors.Is(err, protocol.ErrLineTooLong):
			t.stats.count("line_too_long", true)
			reply = protocol.FormatErr(protocol.Errf("line_too_long", "Request line longer than %d bytes", maxLine))
		case err != nil:
			// EOF or a broken connection; a partial last line without
			// "\n" is dropped, as the original's regex never matches it.
			bw.Flush()
			return
		default:
			reply = t.handleLine(ctx, cs, line)
		}
		if reply != "" {
			if _, err := bw.WriteString(reply); err != nil {
				return
			}
		}
		if !completeLineBuffered(br) {
			if err := bw.Flush(); err != nil {
				return
			}
		}
	}
}

// completeLineBuffered reports whether br already holds a full request line,
// i.e. whether we may delay flushing because another reply will follow
// without reading from the network.
func completeLineBuffered(br *bufio.Reader) bool {
	n := br.Buffered()
	if n == 0 {
		return false
	}
	b, _ := br.Peek(n)
	return bytes.IndexByte(b, '\n') >= 0
}

// connState is per-connection state the handlers may look at.
type connState struct {
	ip    string // client IP, for altip/altmask selection
	watch bool   // "!watch" toggled on
}
