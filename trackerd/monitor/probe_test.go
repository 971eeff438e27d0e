package monitor_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"mogfs/nodeproto"
	"mogfs/trackerd/meta"
	"mogfs/trackerd/meta/metatest"
	"mogfs/trackerd/monitor"
)

// fakeNode serves one device's usage, as set by the test, and keeps what the
// write test PUTs so that it reads back; it counts the write tests.
type fakeNode struct {
	usage  atomic.Pointer[nodeproto.Usage]
	puts   atomic.Int64 // PUTs of test-write files
	mu     sync.Mutex   // guards files
	files  map[string][]byte
	server *httptest.Server
}

func newFakeNode(t *testing.T) *fakeNode {
	n := &fakeNode{files: map[string][]byte{}}
	n.server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.Method == http.MethodGet && strings.HasSuffix(r.URL.Path, "/usage"):
			io.WriteString(w, n.usage.Load().Format())
		case r.Method == "MKCOL":
			w.WriteHeader(http.StatusCreated)
		case r.Method == http.MethodPut && r.Header.Get("Content-MD5") != "":
			w.WriteHeader(http.StatusBadRequest) // the bad-MD5 probe
		case r.Method == http.MethodPut:
			n.puts.Add(1)
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
		default:
			w.WriteHeader(http.StatusBadRequest)
		}
	}))
	t.Cleanup(n.server.Close)
	n.set(100<<10, false) // 100 MiB free
	return n
}

// set makes the usage show availKiB free of 200 MiB, read-only or not.
func (n *fakeNode) set(availKiB int64, readOnly bool) {
	const total = 200 << 10
	n.usage.Store(&nodeproto.Usage{Available: availKiB, Used: total - availKiB, Total: total,
		Device: "fake", Disk: "/fake/dev1", Time: time.Now().Unix(), ReadOnly: readOnly})
}

// TestUsageDecidesWithoutWriteTest: with write tests an hour apart, the
// usage a round fetches is enough to take a read-only or full device off
// new files in that round, and to test and take it back in the round after
// it recovers; the snapshot's usage is that round's.
func TestUsageDecidesWithoutWriteTest(t *testing.T) {
	st := metatest.NewSQLite(t)
	n := newFakeNode(t)
	port, _ := strconv.Atoi(n.server.URL[strings.LastIndexByte(n.server.URL, ':')+1:])
	h, err := st.CreateHost(t.Context(), meta.Host{Name: "fake", IP: "127.0.0.1", HTTPPort: port, Status: "alive"})
	if err != nil {
		t.Fatal(err)
	}
	if err := st.CreateDevice(t.Context(), meta.Device{ID: 1, HostID: h.ID, Status: "alive", Weight: 100}); err != nil {
		t.Fatal(err)
	}
	m := monitor.New(monitor.Config{
		Store:          st,
		Logger:         slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelDebug})),
		Interval:       time.Hour, // rounds only when asked
		WriteTestEvery: time.Hour,
		StreamPort:     -1,
		MinFreeMB:      10,
	})
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() {
		defer close(done)
		m.Run(ctx)
	}()
	t.Cleanup(func() { cancel(); <-done })
	round := func() *monitor.Snapshot {
		t.Helper()
		if err := m.WaitRound(t.Context()); err != nil {
			t.Fatal(err)
		}
		return m.Snapshot()
	}

	steps := []struct {
		name      string
		availKiB  int64
		readOnly  bool
		wantState string
		wantNew   bool
		wantTests int64 // write tests in this round
	}{
		{"first sight", 100 << 10, false, monitor.StateWriteable, true, 1},
		{"nothing changed", 100 << 10, false, monitor.StateWriteable, true, 0},
		{"remounted read-only", 100 << 10, true, monitor.StateReadable, false, 0},
		{"still read-only", 100 << 10, true, monitor.StateReadable, false, 0},
		{"read-write again", 100 << 10, false, monitor.StateWriteable, true, 1},
		{"full", 1 << 10, false, monitor.StateWriteable, false, 0},
		{"still full", 0, false, monitor.StateWriteable, false, 0},
		{"room again", 50 << 10, false, monitor.StateWriteable, true, 1},
		{"read-only and full", 0, true, monitor.StateReadable, false, 0},
		{"recovered", 50 << 10, false, monitor.StateWriteable, true, 1},
	}
	for _, s := range steps {
		n.set(s.availKiB, s.readOnly)
		before := n.puts.Load()
		snap := round()
		if got := snap.Dev[1].State; got != s.wantState {
			t.Errorf("%s: observed %q, want %q", s.name, got, s.wantState)
		}
		if got := snap.ShouldGetNewFiles(1); got != s.wantNew {
			t.Errorf("%s: ShouldGetNewFiles = %v, want %v", s.name, got, s.wantNew)
		}
		// The snapshot carries the usage of this round, as of its
		// measurement (get_devices prefers it to the database's).
		if free, asof := snap.MBFree(1), snap.Devices[1].MBAsOf; free != s.availKiB>>10 || asof.Unix() != n.usage.Load().Time {
			t.Errorf("%s: MBFree %d as of %v, want %d as of the usage's time", s.name, free, asof, s.availKiB>>10)
		}
		if got := n.puts.Load() - before; got != s.wantTests {
			t.Errorf("%s: %d write tests in the round, want %d", s.name, got, s.wantTests)
		}
	}
}
