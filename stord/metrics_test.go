package stord_test

import (
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"mogfs/internal/testenv"
	"mogfs/metrics/metricstest"
	"mogfs/stord"
)

// TestMetricsEndpoint runs the real binary with --metrics_listen, does a PUT,
// a GET and a 404, and checks the counters moved by exactly that much.
func TestMetricsEndpoint(t *testing.T) {
	maddr := fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(t, "127.0.0.1"))
	n := startNode(t, "--metrics_listen", maddr)
	testenv.WaitListening(t, maddr, 10*time.Second)
	url := "http://" + maddr + "/metrics"

	before := metricstest.Scrape(t, url)
	for _, name := range []string{"mogfs_stord_requests_total", "mogfs_stord_request_duration_seconds"} {
		if v, _ := before.Value(name); v != 0 {
			t.Errorf("%s = %v before any request, want 0", name, v)
		}
	}
	if v, ok := before.Value("mogfs_stord_bytes_total", "direction", "in"); !ok || v != 0 {
		t.Errorf("bytes_total{in} = %v, %v before any request, want 0, true", v, ok)
	}

	body := strings.Repeat("x", 12345)
	if code, _, _ := n.do(t, http.MethodPut, "/dev1/0/000/000/0000000001.fid", strings.NewReader(body)); code != http.StatusOK {
		t.Fatalf("PUT = %d, want 200", code)
	}
	if code, _, got := n.do(t, http.MethodGet, "/dev1/0/000/000/0000000001.fid", nil); code != http.StatusOK || got != body {
		t.Fatalf("GET = %d (%d bytes), want 200 with the body", code, len(got))
	}
	if code, _, _ := n.do(t, http.MethodGet, "/dev1/0/000/000/0000000002.fid", nil); code != http.StatusNotFound {
		t.Fatalf("GET missing = %d, want 404", code)
	}

	after := metricstest.Scrape(t, url)
	tests := []struct {
		name   string
		labels []string
		want   float64
	}{
		{"mogfs_stord_requests_total", []string{"method", "PUT", "code", "200"}, 1},
		{"mogfs_stord_requests_total", []string{"method", "GET", "code", "200"}, 1},
		{"mogfs_stord_requests_total", []string{"method", "GET", "code", "404"}, 1},
		{"mogfs_stord_request_duration_seconds", []string{"method", "GET"}, 2},
		{"mogfs_stord_request_duration_seconds", []string{"method", "PUT"}, 1},
		{"mogfs_stord_bytes_total", []string{"direction", "in"}, float64(len(body))},
		{"mogfs_stord_requests_in_flight", nil, 0},
	}
	for _, tc := range tests {
		if got, _ := after.Value(tc.name, tc.labels...); got != tc.want {
			t.Errorf("after PUT+GET+404: %s%v = %v, want %v", tc.name, tc.labels, got, tc.want)
		}
	}
	// Out counts the GET body plus the small 404 page.
	if out, _ := after.Value("mogfs_stord_bytes_total", "direction", "out"); out < float64(len(body)) || out > float64(len(body))+200 {
		t.Errorf("bytes_total{out} = %v, want %d plus the 404 page", out, len(body))
	}
	if _, ok := after.Value("process_resident_memory_bytes"); !ok {
		t.Error("process collector missing from stord's /metrics")
	}
}

// TestMetricsOffByDefault checks nothing listens for metrics unless asked:
// the data port does not serve /metrics either.
func TestMetricsOffByDefault(t *testing.T) {
	n := startNode(t)
	if code, _, _ := n.do(t, http.MethodGet, "/metrics", nil); code == http.StatusOK {
		t.Errorf("GET /metrics on the data port = %d, want an error (metrics are off)", code)
	}
}

// TestRunBadMetricsListen checks a busy metrics address fails start-up
// instead of running a node nobody can monitor.
func TestRunBadMetricsListen(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	ip := testenv.LoopbackIP(t, 7500, 7501)
	cfg := stord.Config{
		HTTPListen: ip + ":7500", MgmtListen: ip + ":7501", DocRoot: t.TempDir(),
		MetricsListen: busy.Addr().String(),
	}
	if err := stord.Run(t.Context(), cfg); err == nil || !strings.Contains(err.Error(), "metrics listen") {
		t.Errorf("Run with a busy metrics address = %v, want a metrics listen error", err)
	}
}
