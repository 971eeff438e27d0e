package metrics_test

import (
	"context"
	"errors"
	"io"
	"math"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"mogfs/metrics"
	"mogfs/metrics/metricstest"
)

// serve runs metrics.ServeListener on a loopback port and returns its base
// URL and a function that stops it and returns Serve's result.
func serve(t *testing.T, reg *prometheus.Registry, extra map[string]http.Handler) (string, func() error) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- metrics.ServeListener(ctx, l, reg, extra, nil) }()
	stop := sync.OnceValue(func() error {
		cancel()
		select {
		case err := <-done:
			return err
		case <-time.After(10 * time.Second):
			t.Fatal("ServeListener did not return 10s after cancel")
			return nil
		}
	})
	t.Cleanup(func() { stop() })
	return "http://" + l.Addr().String(), stop
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

func TestServeMetricsAndExtra(t *testing.T) {
	reg := metrics.NewRegistry()
	m := metrics.NewTracker(reg)
	m.ObserveRequest("get_paths", "", 3*time.Millisecond)
	m.ObserveRequest("get_paths", "unknown_key", time.Millisecond)
	m.ObserveRequest("create_open", "", time.Millisecond)
	m.JobOutcome("replicate", "ok")
	m.Connections.Inc()

	page := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "status page "+r.URL.Path) })
	base, stop := serve(t, reg, map[string]http.Handler{"/": page})

	f := metricstest.Scrape(t, base+"/metrics")
	tests := []struct {
		name   string
		labels []string
		want   float64
	}{
		{"mogfs_tracker_requests_total", []string{"command", "get_paths"}, 2},
		{"mogfs_tracker_requests_total", nil, 3},
		{"mogfs_tracker_request_errors_total", []string{"command", "get_paths", "code", "unknown_key"}, 1},
		{"mogfs_tracker_request_duration_seconds", []string{"command", "get_paths"}, 2},
		{"mogfs_tracker_jobs_total", []string{"job", "replicate", "outcome", "ok"}, 1},
		{"mogfs_tracker_connections", nil, 1},
	}
	for _, tc := range tests {
		if got, ok := f.Value(tc.name, tc.labels...); !ok || got != tc.want {
			t.Errorf("Value(%s, %v) = %v, %v, want %v", tc.name, tc.labels, got, ok, tc.want)
		}
	}
	if _, ok := f.Value("go_goroutines"); !ok {
		t.Errorf("go_goroutines missing from NewRegistry's scrape: %s", f)
	}
	if code, body := get(t, base+"/status"); code != 200 || body != "status page /status" {
		t.Errorf("GET /status = %d %q, want the extra handler", code, body)
	}
	if err := stop(); err != nil {
		t.Errorf("ServeListener after cancel = %v, want nil", err)
	}
	if _, err := http.Get(base + "/metrics"); err == nil {
		t.Error("server still answers after shutdown")
	}
}

func TestServeErrors(t *testing.T) {
	if err := metrics.Serve(t.Context(), "", nil, nil, nil); !errors.Is(err, metrics.ErrNoAddress) {
		t.Errorf("Serve(\"\") = %v, want ErrNoAddress", err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if err := metrics.Serve(t.Context(), l.Addr().String(), nil, nil, nil); err == nil || !strings.Contains(err.Error(), "metrics: listen") {
		t.Errorf("Serve on a busy port = %v, want a listen error", err)
	}
}

// TestServeShutdownWaitsForScrape checks that a scrape in progress when the
// context ends still gets its answer (graceful shutdown).
func TestServeShutdownWaitsForScrape(t *testing.T) {
	reg := prometheus.NewRegistry()
	entered := make(chan struct{})
	reg.MustRegister(metrics.NewTrackerCollector(func() metrics.TrackerSnapshot {
		close(entered)
		time.Sleep(300 * time.Millisecond)
		return metrics.TrackerSnapshot{Queues: map[string]int64{"delete": 7}}
	}))
	base, stop := serve(t, reg, nil)
	got := make(chan error, 1)
	var fam metricstest.Families
	go func() {
		var err error
		fam, err = metricstest.ScrapeContext(context.Background(), base+"/metrics")
		got <- err
	}()
	<-entered
	if err := stop(); err != nil {
		t.Errorf("ServeListener = %v, want nil", err)
	}
	if err := <-got; err != nil {
		t.Fatalf("scrape interrupted by shutdown: %v", err)
	}
	if v, _ := fam.Value("mogfs_tracker_queue_depth", "queue", "delete"); v != 7 {
		t.Errorf("queue_depth{delete} = %v, want 7", v)
	}
}

// TestRegistriesIndependent shows two daemons' metrics in one process do
// not share state (no globals).
func TestRegistriesIndependent(t *testing.T) {
	r1, r2 := prometheus.NewRegistry(), prometheus.NewRegistry()
	a, b := metrics.NewTracker(r1), metrics.NewTracker(r2)
	a.ObserveRequest("noop", "", 0)
	a.ObserveRequest("noop", "", 0)
	b.ObserveRequest("noop", "", 0)
	for _, tc := range []struct {
		reg  *prometheus.Registry
		want float64
	}{{r1, 2}, {r2, 1}} {
		f := gather(t, tc.reg)
		if v, _ := f.Value("mogfs_tracker_requests_total", "command", "noop"); v != tc.want {
			t.Errorf("requests_total = %v, want %v", v, tc.want)
		}
	}
	var nilT *metrics.Tracker
	nilT.ObserveRequest("noop", "x", time.Second) // must not panic
	nilT.JobOutcome("replicate", "ok")
}

func gather(t *testing.T, reg *prometheus.Registry) metricstest.Families {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	f := metricstest.Families{}
	for _, mf := range mfs {
		f[mf.GetName()] = mf
	}
	return f
}

func TestTrackerCollector(t *testing.T) {
	reg := prometheus.NewRegistry()
	snap := metrics.TrackerSnapshot{
		Queues:         map[string]int64{"replicate": 3, "delete": 0, "fsck": 12, "rebalance": 1},
		ReplicationLag: 90 * time.Second,
		Files:          -1,
		Devices: []metrics.DeviceSample{
			{DevID: 1, Host: "hostA", HaveUsage: true, MBTotal: 1000, MBUsed: 250, HaveUtilization: true, Utilization: 3.5, ObservedWriteable: true},
			{DevID: 2, Host: "hostB"}, // nothing known yet
		},
	}
	reg.MustRegister(metrics.NewTrackerCollector(func() metrics.TrackerSnapshot { return snap }))
	f := gather(t, reg)
	tests := []struct {
		name   string
		labels []string
		want   float64
		ok     bool
	}{
		{"mogfs_tracker_queue_depth", []string{"queue", "replicate"}, 3, true},
		{"mogfs_tracker_queue_depth", []string{"queue", "fsck"}, 12, true},
		{"mogfs_tracker_queue_depth", []string{"queue", "delete"}, 0, true},
		{"mogfs_tracker_replication_lag_seconds", nil, 90, true},
		{"mogfs_tracker_files", nil, 0, false},
		{"mogfs_device_mb_total", []string{"devid", "1", "host", "hostA"}, 1000, true},
		{"mogfs_device_mb_used", []string{"devid", "1"}, 250, true},
		{"mogfs_device_utilization", []string{"devid", "1"}, 3.5, true},
		{"mogfs_device_observed_writeable", []string{"devid", "1"}, 1, true},
		{"mogfs_device_mb_total", []string{"devid", "2"}, 0, false},
		{"mogfs_device_utilization", []string{"devid", "2"}, 0, false},
		{"mogfs_device_observed_writeable", []string{"devid", "2", "host", "hostB"}, 0, true},
	}
	for _, tc := range tests {
		got, ok := f.Value(tc.name, tc.labels...)
		if got != tc.want || ok != tc.ok {
			t.Errorf("Value(%s, %v) = %v, %v, want %v, %v", tc.name, tc.labels, got, ok, tc.want, tc.ok)
		}
	}
	// The collector reads state at scrape time: a change shows at once.
	snap.Queues["replicate"] = 0
	snap.Files = 42
	f = gather(t, reg)
	if v, _ := f.Value("mogfs_tracker_queue_depth", "queue", "replicate"); v != 0 {
		t.Errorf("after drain queue_depth{replicate} = %v, want 0", v)
	}
	if v, ok := f.Value("mogfs_tracker_files"); v != 42 || !ok {
		t.Errorf("files = %v, %v, want 42", v, ok)
	}
}

func TestStord(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := metrics.NewStord(reg)
	m.ObserveRequest("PUT", 201, 1000, 0, time.Millisecond)
	m.ObserveRequest("GET", 0, 0, 500, time.Millisecond)
	m.ObserveRequest("BREW", 405, 0, 30, time.Millisecond)
	f := gather(t, reg)
	tests := []struct {
		name   string
		labels []string
		want   float64
	}{
		{"mogfs_stord_requests_total", []string{"method", "PUT", "code", "201"}, 1},
		{"mogfs_stord_requests_total", []string{"method", "GET", "code", "200"}, 1},
		{"mogfs_stord_requests_total", []string{"method", "other", "code", "405"}, 1},
		{"mogfs_stord_bytes_total", []string{"direction", "in"}, 1000},
		{"mogfs_stord_bytes_total", []string{"direction", "out"}, 530},
		{"mogfs_stord_request_duration_seconds", []string{"method", "PUT"}, 1},
	}
	for _, tc := range tests {
		if got, _ := f.Value(tc.name, tc.labels...); got != tc.want {
			t.Errorf("Value(%s, %v) = %v, want %v", tc.name, tc.labels, got, tc.want)
		}
	}
}

func TestMount(t *testing.T) {
	reg := prometheus.NewRegistry()
	stats := metrics.CacheStats{Hits: 5, Misses: 2, Bytes: 1 << 20}
	m := metrics.NewMount(reg, func() metrics.CacheStats { return stats })
	m.ObserveOp("read", "", time.Millisecond)
	m.ObserveOp("lookup", "ENOENT", time.Millisecond)
	m.AddUpload(100)
	m.AddDownload(64)
	m.AddDownload(-1)
	f := gather(t, reg)
	tests := []struct {
		name   string
		labels []string
		want   float64
	}{
		{"mogfs_mount_ops_total", nil, 2},
		{"mogfs_mount_op_errors_total", []string{"op", "lookup", "errno", "ENOENT"}, 1},
		{"mogfs_mount_op_duration_seconds", []string{"op", "read"}, 1},
		{"mogfs_mount_upload_bytes_total", nil, 100},
		{"mogfs_mount_download_bytes_total", nil, 64},
		{"mogfs_mount_cache_hits_total", nil, 5},
		{"mogfs_mount_cache_misses_total", nil, 2},
		{"mogfs_mount_cache_bytes", nil, 1 << 20},
	}
	for _, tc := range tests {
		if got, _ := f.Value(tc.name, tc.labels...); got != tc.want {
			t.Errorf("Value(%s, %v) = %v, want %v", tc.name, tc.labels, got, tc.want)
		}
	}
	// Without a cache function no cache series exist.
	reg2 := prometheus.NewRegistry()
	metrics.NewMount(reg2, nil)
	if _, ok := gather(t, reg2).Value("mogfs_mount_cache_bytes"); ok {
		t.Error("cache series exported without a cache")
	}
}

func TestParseUtilization(t *testing.T) {
	tests := []struct {
		in   string
		want float64
		ok   bool
	}{
		{"3.50", 3.5, true}, {"0", 0, true}, {"100.00", 100, true}, {" 7 ", 7, true},
		{"-", 0, false}, {"", 0, false}, {"NaN", 0, false}, {"-1", 0, false}, {"x", 0, false},
	}
	for _, tc := range tests {
		got, ok := metrics.ParseUtilization(tc.in)
		if got != tc.want || ok != tc.ok {
			t.Errorf("ParseUtilization(%q) = %v, %v, want %v, %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
}

func FuzzParseUtilization(f *testing.F) {
	for _, s := range []string{"3.50", "-", "", "1e400", "NaN", "+Inf"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, ok := metrics.ParseUtilization(s)
		if ok && (math.IsNaN(v) || v < 0) {
			t.Errorf("ParseUtilization(%q) = %v, true: want a non-negative number", s, v)
		}
		if !ok && v != 0 {
			t.Errorf("ParseUtilization(%q) = %v, false: want 0", s, v)
		}
	})
}

func BenchmarkTrackerObserveRequest(b *testing.B) {
	m := metrics.NewTracker(prometheus.NewRegistry())
	b.ReportAllocs()
	for b.Loop() {
		m.ObserveRequest("get_paths", "", time.Millisecond)
	}
}

// TestListenLoopbackDefault: a metrics address without a host listens on
// 127.0.0.1, not on every interface.
func TestListenLoopbackDefault(t *testing.T) {
	l, err := metrics.Listen(":0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if ip := l.Addr().(*net.TCPAddr).IP; !ip.Equal(net.IPv4(127, 0, 0, 1)) {
		t.Errorf(":0 listens on %v, want 127.0.0.1", l.Addr())
	}
	if _, err := metrics.Listen("no-port"); err == nil {
		t.Error("Listen(no-port) succeeded")
	}
}
