package monitor

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"

	"mogfs/nodeproto"
	"mogfs/trackerd/meta"
)

// watcher keeps one side-channel connection to a host's management port
// subscribed with `watch` and records the utilization per devid
// (IOStatWatcher.pm).
type watcher struct {
	addr   string
	cancel context.CancelFunc
	done   chan struct{}

	mu   sync.Mutex     // guards util
	util map[int]string // latest complete block; nil while disconnected
}

// Watch backoff after a failed or refused connection. The original waits 60 s
// after an error; we retry sooner so a restarted node reports utilization
// again within seconds.
const (
	watchBackoffMin = 500 * time.Millisecond
	watchBackoffMax = 10 * time.Second
)

// syncWatchers starts a watcher for every host IP that should be watched and
// stops those whose host is gone or no longer monitored.
func (m *Monitor) syncWatchers(ctx context.Context, hosts map[int]meta.Host) {
	if m.cfg.StreamPort < 0 {
		return
	}
	want := map[string]bool{}
	for _, h := range hosts {
		if h.Status == "alive" || h.Status == "readonly" {
			want[net.JoinHostPort(h.IP, strconv.Itoa(m.cfg.StreamPort))] = true
		}
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	for addr, w := range m.watchers {
		if !want[addr] {
			w.cancel()
			delete(m.watchers, addr)
		}
	}
	for addr := range want {
		if _, ok := m.watchers[addr]; ok {
			continue
		}
		wctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
		w := &watcher{addr: addr, cancel: cancel, done: make(chan struct{})}
		m.watchers[addr] = w
		go m.runWatcher(wctx, w)
	}
}

func (m *Monitor) stopWatchers() {
	m.mu.Lock()
	ws := m.watchers
	m.watchers = map[string]*watcher{}
	m.mu.Unlock()
	for _, w := range ws {
		w.cancel()
	}
	for _, w := range ws {
		<-w.done
	}
}

func (m *Monitor) runWatcher(ctx context.Context, w *watcher) {
	defer close(w.done)
	backoff := watchBackoffMin
	for ctx.Err() == nil {
		got, err := m.watchOnce(ctx, w)
		w.mu.Lock()
		w.util = nil
		w.mu.Unlock()
		if got {
			backoff = watchBackoffMin
		} else {
			backoff = min(backoff*2, watchBackoffMax)
		}
		if err != nil && ctx.Err() == nil {
			m.log.Debug("side channel", "addr", w.addr, "err", err)
		}
		select {
		case <-ctx.Done():
		case <-time.After(backoff):
		}
	}
}

// watchOnce runs one connection until it fails; got reports that at least one
// block arrived (a healthy session, so reconnect quickly).
func (m *Monitor) watchOnce(ctx context.Context, w *watcher) (got bool, err error) {
	d := net.Dialer{Timeout: m.cfg.ConnTimeout, KeepAlive: 30 * time.Second}
	c, err := d.DialContext(ctx, "tcp", w.addr)
	if err != nil {
		return false, err
	}
	defer c.Close()
	stop := context.AfterFunc(ctx, func() { c.Close() })
	defer stop()
	if _, err := io.WriteString(c, nodeproto.WatchRequest); err != nil {
		return false, err
	}
	rd := bufio.NewReader(c)
	block := map[int]string{}
	for {
		// iostat blocks come about every second; a silent node is dead.
		c.SetReadDeadline(time.Now().Add(30 * time.Second))
		line, err := rd.ReadString('\n')
		if err != nil {
			return got, err
		}
		done, isErr := nodeproto.ParseWatchLine(line, block)
		if isErr {
			return got, fmt.Errorf("monitor: %s: %s", w.addr, strings.TrimSpace(line))
		}
		if done {
			w.mu.Lock()
			w.util = block
			w.mu.Unlock()
			block = map[int]string{}
			got = true
		}
	}
}
