package client

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"mogfs/protocol"
)

// Defaults for Config fields left zero.
const (
	DefaultTimeout           = 10 * time.Second
	DefaultMaxIdlePerTracker = 16

	// deadFor is how long a tracker that refused a connection is tried only
	// after every other tracker. Short, so a restarted tracker is used again
	// quickly; long enough that a dead one does not add a connect timeout to
	// every request.
	deadFor = 5 * time.Second
	// maxDialTimeout caps the connect timeout: a tracker that does not accept
	// within this time is treated as down and the next one is tried.
	maxDialTimeout = 2 * time.Second
)

// Config configures a Client. Only Trackers is required.
type Config struct {
	// Trackers are "host:port" addresses, tried in this order.
	Trackers []string
	// Timeout bounds each tracker request (connect, write, reply), and how
	// long a transfer to or from a storage node may go without a byte
	// moving (ErrNodeTimeout; the answer to a PUT gets Timeout plus the
	// time to sync the body at 16 MiB/s). Default 10s. A context deadline
	// that is earlier wins.
	Timeout time.Duration
	// HTTPClient moves file bodies. Default: a client over a keep-alive
	// transport tuned for many parallel transfers to few hosts, without
	// proxies or transparent decompression.
	HTTPClient *http.Client
	// Logger gets debug lines per request and warnings on fail-over.
	// Default: discard.
	Logger *slog.Logger
	// MaxIdlePerTracker is how many idle connections are kept per tracker
	// for reuse. Default 16.
	MaxIdlePerTracker int
	// Outage is how long a request keeps trying while no tracker answers
	// it (a tracker restarting, or all of them): rounds over the trackers
	// are repeated with backoff rather than failed at once. Like the
	// fail-over to the next tracker, this resends a request whose
	// connection broke, which every MogileFS command tolerates. Default
	// 10s; negative: fail at once.
	Outage time.Duration
}

// Client talks to a set of trackers and their storage nodes. It is safe for
// concurrent use; make one and share it.
type Client struct {
	trackers []*tracker
	timeout  time.Duration
	outage   time.Duration
	maxIdle  int
	http     *http.Client
	log      *slog.Logger
	closed   atomic.Bool
	ownHTTP  bool // http is New's default client, counting its dials

	trackerDials atomic.Int64 // tracker connections opened
	httpDials    atomic.Int64 // storage-node connections opened (default transport only)
	requests     sync.Map     // command name -> *atomic.Int64: tracker requests sent
}

// Requests returns how many requests of each command the client has sent
// to trackers (a retry on another tracker counts again): the round trips
// an operation costs, for tests and benchmarks to assert.
func (c *Client) Requests() map[string]int64 {
	out := map[string]int64{}
	c.requests.Range(func(k, v any) bool {
		out[k.(string)] = v.(*atomic.Int64).Load()
		return true
	})
	return out
}

// countRequest adds one request of cmd to Requests.
func (c *Client) countRequest(cmd string) {
	v, ok := c.requests.Load(cmd)
	if !ok {
		v, _ = c.requests.LoadOrStore(cmd, new(atomic.Int64))
	}
	v.(*atomic.Int64).Add(1)
}

// DialStats reports how many connections the client has opened so far, to
// trackers and (with the default HTTP client) to storage nodes: with
// keep-alive and pooling working these stay near the concurrency, however
// many requests ran. httpDials is -1 with a caller-supplied HTTPClient.
func (c *Client) DialStats() (trackerDials, httpDials int64) {
	h := c.httpDials.Load()
	if c.ownHTTP {
		return c.trackerDials.Load(), h
	}
	return c.trackerDials.Load(), -1
}

// New returns a Client for cfg. It does not connect: the first request does.
func New(cfg Config) (*Client, error) {
	if len(cfg.Trackers) == 0 {
		return nil, fmt.Errorf("client: no trackers configured")
	}
	c := &Client{timeout: cfg.Timeout, outage: cfg.Outage, maxIdle: cfg.MaxIdlePerTracker, http: cfg.HTTPClient, log: cfg.Logger}
	if c.outage == 0 {
		c.outage = DefaultOutage
	}
	if c.timeout <= 0 {
		c.timeout = DefaultTimeout
	}
	if c.maxIdle <= 0 {
		c.maxIdle = DefaultMaxIdlePerTracker
	}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	if c.http == nil {
		tr := NewTransport(c.timeout)
		// The transfer watchdog (stall.go) bounds the wait for an answer,
		// and unlike a fixed header timeout it gives a big upload its
		// sync time.
		tr.ResponseHeaderTimeout = 0
		dial := tr.DialContext
		tr.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
			c.httpDials.Add(1)
			return dial(ctx, network, addr)
		}
		c.http, c.ownHTTP = &http.Client{Transport: tr}, true
	}
	for _, a := range cfg.Trackers {
		a = strings.TrimSpace(a)
		if a == "" {
			continue
		}
		if _, _, err := net.SplitHostPort(a); err != nil {
			return nil, fmt.Errorf("client: tracker %q: %w", a, err)
		}
		c.trackers = append(c.trackers, &tracker{addr: a})
	}
	if len(c.trackers) == 0 {
		return nil, fmt.Errorf("client: no trackers configured")
	}
	return c, nil
}

// NewTransport returns the HTTP transport New uses by default: keep-alive
// with many idle connections per storage node (a node serves every device
// on one host:port, and parallel transfers would otherwise churn sockets), no
// proxy (storage nodes are on the local network), no gzip (bodies must arrive
// byte for byte with their Content-Length), and a header timeout (3×timeout)
// so that a node that takes a request and never answers fails it. Client's
// own transfers are bounded more tightly by their watchdog (ErrNodeTimeout).
func NewTransport(timeout time.Duration) *http.Transport {
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	return &http.Transport{
		DialContext:           (&net.Dialer{Timeout: 3 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:          1024,
		MaxIdleConnsPerHost:   256,
		IdleConnTimeout:       90 * time.Second,
		ResponseHeaderTimeout: 3 * timeout,
		DisableCompression:    true,
		WriteBufferSize:       64 << 10,
		ReadBufferSize:        64 << 10,
	}
}

// Close closes idle tracker connections and makes later requests fail with
// ErrClosed. Requests in flight finish; their connections are then closed.
func (c *Client) Close() error {
	c.closed.Store(true)
	for _, t := range c.trackers {
		t.dropIdle()
	}
	if tr, ok := c.http.Transport.(interface{ CloseIdleConnections() }); ok {
		tr.CloseIdleConnections()
	}
	return nil
}

// Trackers returns the configured tracker addresses in order.
func (c *Client) Trackers() []string {
	out := make([]string, len(c.trackers))
	for i, t := range c.trackers {
		out[i] = t.addr
	}
	return out
}

// tracker is one tracker address with its idle connections.
type tracker struct {
	addr string

	mu        sync.Mutex // guards idle and deadUntil
	idle      []*conn    // most recently used last
	deadUntil time.Time  // zero, or until when to try this tracker last
}

type conn struct {
	nc net.Conn
	br *bufio.Reader
}

func (t *tracker) isDead(now time.Time) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return now.Before(t.deadUntil)
}

func (t *tracker) setDead(d time.Duration) {
	t.mu.Lock()
	t.deadUntil = time.Now().Add(d)
	t.mu.Unlock()
}

// dropIdle closes the idle connections (at Close, and after one broke:
// the others to the same tracker are most likely from before its restart).
func (t *tracker) dropIdle() {
	t.mu.Lock()
	idle := t.idle
	t.idle = nil
	t.mu.Unlock()
	for _, cn := range idle {
		cn.nc.Close()
	}
}

// take returns an idle connection, or nil.
func (t *tracker) take() *conn {
	t.mu.Lock()
	defer t.mu.Unlock()
	if n := len(t.idle); n > 0 {
		cn := t.idle[n-1]
		t.idle = t.idle[:n-1]
		return cn
	}
	return nil
}

// order returns the trackers to try: those not recently dead in configured
// order, then the dead ones, so that a request still gets through when every
// tracker was marked dead by a blip.
func (c *Client) order() []*tracker {
	now := time.Now()
	alive := make([]*tracker, 0, len(c.trackers))
	var dead []*tracker
	for _, t := range c.trackers {
		if t.isDead(now) {
			dead = append(dead, t)
		} else {
			alive = append(alive, t)
		}
	}
	return append(alive, dead...)
}

// Do sends one tracker command and returns the decoded arguments of its OK
// reply. An ERR reply is returned as a *protocol.Error (test it with
// protocol.IsCode). When a tracker cannot be reached, or its connection
// breaks before the reply, the command is sent to the next tracker; when none
// answers the error wraps ErrNoTrackers.
//
// A command whose connection broke after it was written may have been
// executed by the first tracker; resending it is what the Perl client does
// too, and every MogileFS command is safe to repeat except that a repeated
// create_open leaves an extra temp file for the reaper.
func (c *Client) Do(ctx context.Context, cmd string, args map[string]string) (map[string]string, error) {
	if c.closed.Load() {
		return nil, ErrClosed
	}
	line := protocol.FormatRequest(cmd, args)
	var until time.Time // set once no tracker answered
	for wait := 100 * time.Millisecond; ; wait = min(2*wait, time.Second) {
		reply, transport, err := c.doAny(ctx, cmd, line)
		if err == nil {
			return protocol.ParseResponse(reply)
		}
		if !transport || c.outage < 0 || ctx.Err() != nil {
			return nil, err
		}
		if until.IsZero() {
			until = time.Now().Add(c.outage)
		}
		if time.Now().Add(wait).After(until) {
			return nil, err
		}
		c.log.Warn("no tracker answers, retrying", "cmd", cmd, "err", err)
		select {
		case <-time.After(wait):
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// DefaultOutage is Config.Outage's default.
const DefaultOutage = 10 * time.Second

// doAny sends line to the trackers in order until one answers. transport
// reports that every tracker failed to connect or broke the connection
// (rather than sending something we cannot read).
func (c *Client) doAny(ctx context.Context, cmd, line string) (reply string, transport bool, err error) {
	var errs []error
	for _, t := range c.order() {
		if err := ctx.Err(); err != nil {
			return "", false, err
		}
		c.countRequest(cmd)
		reply, err := c.doOn(ctx, t, cmd, line)
		if err == nil {
			return reply, false, nil
		}
		if ctx.Err() != nil {
			return "", false, ctx.Err()
		}
		if errors.Is(err, protocol.ErrMalformed) || errors.Is(err, protocol.ErrLineTooLong) {
			return "", false, err
		}
		c.log.Warn("tracker request failed, trying next", "tracker", t.addr, "cmd", cmd, "err", err)
		errs = append(errs, fmt.Errorf("%s: %w", t.addr, err))
	}
	return "", true, fmt.Errorf("%w: %s: %w", ErrNoTrackers, cmd, errors.Join(errs...))
}

// run is Do for commands whose reply carries nothing the caller needs; the
// error names the command and its subject (a key or path).
func (c *Client) run(ctx context.Context, cmd, subject string, args map[string]string) error {
	if _, err := c.Do(ctx, cmd, args); err != nil {
		return fmt.Errorf("%s %s: %w", cmd, subject, err)
	}
	return nil
}

// doOn runs one request on tracker t and returns the raw reply line. A
// reused idle connection that turns out to be closed (the tracker restarted,
// or dropped it as idle) is replaced by a fresh one once, without counting as
// a tracker failure.
func (c *Client) doOn(ctx context.Context, t *tracker, cmd, line string) (string, error) {
	for attempt := 0; ; attempt++ {
		cn := t.take()
		reused := cn != nil
		if cn == nil {
			var err error
			if cn, err = c.dial(ctx, t); err != nil {
				return "", err
			}
		}
		start := time.Now()
		reply, partial, err := c.roundTrip(ctx, cn, line)
		if err != nil {
			cn.nc.Close()
			if reused {
				t.dropIdle()
			}
			if reused && !partial && attempt == 0 && ctx.Err() == nil && isStale(err) {
				continue
			}
			return "", err
		}
		c.log.Debug("tracker request", "tracker", t.addr, "cmd", cmd, "elapsed", time.Since(start))
		c.putIdle(t, cn)
		return reply, nil
	}
}

func (c *Client) dial(ctx context.Context, t *tracker) (*conn, error) {
	dt := min(c.timeout, maxDialTimeout)
	d := net.Dialer{Timeout: dt, KeepAlive: 30 * time.Second}
	c.trackerDials.Add(1)
	nc, err := d.DialContext(ctx, "tcp", t.addr)
	if err != nil {
		if ctx.Err() == nil {
			t.setDead(deadFor)
		}
		return nil, err
	}
	t.setDead(0)
	return &conn{nc: nc, br: bufio.NewReaderSize(nc, 4096)}, nil
}

// roundTrip writes line and reads one reply line under the request deadline.
// partial reports whether any reply bytes arrived before an error.
func (c *Client) roundTrip(ctx context.Context, cn *conn, line string) (reply string, partial bool, err error) {
	deadline := time.Now().Add(c.timeout)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	cn.nc.SetDeadline(deadline)
	// A cancelled context interrupts a blocked read or write at once.
	stop := context.AfterFunc(ctx, func() { cn.nc.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	if _, err := io.WriteString(cn.nc, line); err != nil {
		return "", false, err
	}
	reply, err = protocol.ReadLine(cn.br, protocol.MaxLine)
	if err != nil {
		if err == io.EOF && reply != "" {
			err = io.ErrUnexpectedEOF
		}
		return "", reply != "", err
	}
	return reply, true, nil
}

func (c *Client) putIdle(t *tracker, cn *conn) {
	if c.closed.Load() {
		cn.nc.Close()
		return
	}
	t.mu.Lock()
	if len(t.idle) < c.maxIdle {
		t.idle = append(t.idle, cn)
		cn = nil
	}
	t.mu.Unlock()
	if cn != nil {
		cn.nc.Close()
	}
}

// isStale reports whether err is what a write to or read from a connection
// the peer has already closed looks like.
func isStale(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)
}
