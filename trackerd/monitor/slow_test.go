package monitor_test

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"mogfs/internal/testenv"
	"mogfs/trackerd/meta"
	"mogfs/trackerd/meta/metatest"
	"mogfs/trackerd/monitor"
)

// slowNode answers the monitor's probes (usage, write test) from memory,
// each usage after delay.
type slowNode struct {
	delay atomic.Int64 // time.Duration before each usage answer

	mu    sync.Mutex // guards files
	files map[string][]byte
}

func startSlowNode(t *testing.T) (*slowNode, string, int) {
	t.Helper()
	ip := testenv.LoopbackIP(t)
	ln, err := net.Listen("tcp", net.JoinHostPort(ip, "0"))
	if err != nil {
		t.Fatal(err)
	}
	n := &slowNode{files: map[string][]byte{}}
	srv := &http.Server{Handler: http.HandlerFunc(n.serve)}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return n, ip, ln.Addr().(*net.TCPAddr).Port
}

func (n *slowNode) serve(w http.ResponseWriter, r *http.Request) {
	switch {
	case strings.HasSuffix(r.URL.Path, "/usage"):
		time.Sleep(time.Duration(n.delay.Load()))
		io.WriteString(w, "available: 900000\ndevice: /dev/fake\ntime: 1\ntotal: 1000000\nuse: 10%\nused: 100000\n")
	case r.Method == http.MethodPut && r.Header.Get("Content-MD5") != "":
		w.WriteHeader(http.StatusBadRequest) // verifies Content-MD5 (the probe's is wrong)
	case r.Method == http.MethodPut:
		b, _ := io.ReadAll(r.Body)
		n.mu.Lock()
		n.files[r.URL.Path] = b
		n.mu.Unlock()
	case r.Method == http.MethodGet:
		n.mu.Lock()
		b, ok := n.files[r.URL.Path]
		n.mu.Unlock()
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Write(b)
	}
}

// TestMonitorSeesSlowHost: of three hosts, the one whose probes are
// answered 150 ms late is reported slow (and only it), and no longer once
// it answers at once again.
func TestMonitorSeesSlowHost(t *testing.T) {
	st := metatest.NewSQLite(t)
	var nodes []*slowNode
	var hosts []int
	for i := range 3 {
		n, ip, port := startSlowNode(t)
		h, err := st.CreateHost(t.Context(), meta.Host{Name: "h" + strconv.Itoa(i), IP: ip, HTTPPort: port, Status: "alive"})
		if err != nil {
			t.Fatal(err)
		}
		if err := st.CreateDevice(t.Context(), meta.Device{ID: i + 1, HostID: h.ID, Status: "alive", Weight: 100}); err != nil {
			t.Fatal(err)
		}
		nodes, hosts = append(nodes, n), append(hosts, h.ID)
	}
	nodes[2].delay.Store(int64(150 * time.Millisecond))
	m := monitor.New(monitor.Config{
		Store:      st,
		Logger:     slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelInfo})),
		Interval:   50 * time.Millisecond,
		StreamPort: -1,
	})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); m.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })

	slowIs := func(want bool) func(*monitor.Snapshot) bool {
		return func(s *monitor.Snapshot) bool {
			return s.HostSlow(hosts[2]) == want && !s.HostSlow(hosts[0]) && !s.HostSlow(hosts[1]) && s.ShouldReadFrom(3)
		}
	}
	waitSnap(t, m, 5*time.Second, "host 3 slow, hosts 1 and 2 not", slowIs(true))
	s := m.Snapshot()
	if got := s.SlowLast([]int{3, 1, 2}); got[2] != 3 {
		t.Errorf("SlowLast([3 1 2]) = %v, want device 3 last", got)
	}
	if s.HostLatency[hosts[2]] < 100*time.Millisecond || s.HostLatency[hosts[0]] > 50*time.Millisecond {
		t.Errorf("HostLatency = %v, want about 150ms for host %d and little for the others", s.HostLatency, hosts[2])
	}
	nodes[2].delay.Store(0)
	waitSnap(t, m, 5*time.Second, "host 3 fast again", slowIs(false))
}
