package trackerd

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"mogfs/metrics/metricstest"
	"mogfs/trackerd/status"
)

// startTrackerCfg starts a tracker like startTracker with cfg's extra
// fields (MetricsListen, QueueLease, ...) applied.
func startTrackerCfg(t *testing.T, cfg Config) (*Tracker, string) {
	t.Helper()
	cfg.Listen = []string{"127.0.0.1:0"}
	if cfg.DSN == "" {
		cfg.DSN = "DBI:SQLite:dbname=" + filepath.Join(t.TempDir(), "mogilefs.db")
	}
	cfg.JobMaster = true
	cfg.MonitorInterval = 100 * time.Millisecond
	cfg.StreamPort = -1
	cfg.CacheRefresh = 200 * time.Millisecond
	cfg.Logger = slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))
	tr, err := Start(t.Context(), cfg)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() { tr.Close() })
	return tr, tr.Addrs()[0]
}

func TestMetricsAndStatus(t *testing.T) {
	tr, addr := startTrackerCfg(t, Config{MetricsListen: "127.0.0.1:0"})
	if tr.MetricsAddr() == "" {
		t.Fatal("MetricsAddr() is empty with metrics_listen set")
	}
	base := "http://" + tr.MetricsAddr()
	c := dial(t, addr)
	setup(t, c, startNode(t, 1), startNode(t, 2))
	store(t, c, "/m/1", "two", "hello")
	for range 3 {
		c.ok("get_paths", args{"domain": "testdom", "key": "/m/1", "noverify": "1"})
	}
	if got := c.code("get_paths", args{"domain": "testdom", "key": "/nope"}); got != "unknown_key" {
		t.Fatalf("get_paths of a missing key = %s", got)
	}
	c.line("no_such_command")

	// Replication of /m/1 to the second device counts a job outcome.
	var f metricstest.Families
	deadline := time.Now().Add(15 * time.Second)
	for {
		f = metricstest.Scrape(t, base+"/metrics")
		if v, _ := f.Value("mogfs_tracker_jobs_total", "job", "replicate", "outcome", "ok"); v >= 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no replicate outcome counted after 15s")
		}
		time.Sleep(100 * time.Millisecond)
	}
	checks := []struct {
		name   string
		labels []string
		min    float64
	}{
		{"mogfs_tracker_requests_total", []string{"command", "get_paths"}, 4},
		{"mogfs_tracker_requests_total", []string{"command", "create_open"}, 1},
		{"mogfs_tracker_requests_total", []string{"command", "unknown_command"}, 1},
		{"mogfs_tracker_request_errors_total", []string{"command", "get_paths", "code", "unknown_key"}, 1},
		{"mogfs_tracker_request_duration_seconds", []string{"command", "create_close"}, 1},
		{"mogfs_tracker_connections", nil, 1},
		{"mogfs_device_observed_writeable", []string{"devid", "1", "host", "node1"}, 1},
		{"mogfs_device_mb_total", []string{"devid", "2"}, 1},
	}
	for _, tc := range checks {
		v, ok := f.Value(tc.name, tc.labels...)
		if !ok || v < tc.min {
			t.Errorf("%s%v = %v (found %v), want >= %v", tc.name, tc.labels, v, ok, tc.min)
		}
	}
	if _, ok := f.Value("mogfs_tracker_queue_depth", "queue", "replicate"); !ok {
		t.Error("no mogfs_tracker_queue_depth{queue=replicate}")
	}
	if _, ok := f.Value("mogfs_tracker_replication_lag_seconds"); !ok {
		t.Error("no mogfs_tracker_replication_lag_seconds")
	}

	resp, err := http.Get(base + "/status.json")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /status.json: %s: %s", resp.Status, body)
	}
	var snap status.Snapshot
	if err := json.Unmarshal(body, &snap); err != nil {
		t.Fatalf("status.json: %v: %s", err, body)
	}
	if len(snap.Hosts) != 2 || len(snap.Devices) != 2 {
		t.Errorf("status.json: %d hosts, %d devices, want 2 and 2: %s", len(snap.Hosts), len(snap.Devices), body)
	}
	for _, d := range snap.Devices {
		if d.State != "writeable" {
			t.Errorf("status.json: dev%d state %q, want writeable", d.DevID, d.State)
		}
	}
	if snap.Tracker.Version != Version {
		t.Errorf("status.json version = %q, want %q", snap.Tracker.Version, Version)
	}
	for _, p := range []string{"/", "/status"} {
		resp, err := http.Get(base + p)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "text/html; charset=utf-8" {
			t.Errorf("GET %s: %s %s", p, resp.Status, resp.Header.Get("Content-Type"))
		}
	}
}

// TestJobErrorsOnStatus checks that a failing job shows on the status page:
// a file whose only copy vanished from disk cannot be replicated.
func TestJobErrorsOnStatus(t *testing.T) {
	tr, addr := startTrackerCfg(t, Config{MetricsListen: "127.0.0.1:0"})
	c := dial(t, addr)
	n1, n2 := startNode(t, 1), startNode(t, 2)
	setup(t, c, n1, n2)
	// Remove the upload right after create_close (the replicator polls
	// once a second, so it finds it gone): class two wants a second copy
	// and the only source answers 404.
	res := c.ok("create_open", args{"domain": "testdom", "key": "/e/1", "class": "two", "fid": "0"})
	put(t, res["path"], "x")
	c.ok("create_close", args{"domain": "testdom", "key": "/e/1", "fid": res["fid"], "devid": res["devid"], "path": res["path"], "size": "1"})
	removed := 0
	for _, n := range []*node{n1, n2} {
		files, _ := filepath.Glob(filepath.Join(n.docroot, "dev*", "*", "*", "*", "*.fid"))
		for _, f := range files {
			if os.Remove(f) == nil {
				removed++
			}
		}
	}
	if removed != 1 {
		t.Fatalf("removed %d .fid files, want 1", removed)
	}
	deadline := time.Now().Add(15 * time.Second)
	for {
		if errs := tr.obs.errLog.Recent(); len(errs) > 0 {
			if errs[0].Job != "replicate" {
				t.Errorf("job error %+v, want job replicate", errs[0])
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no job error recorded after 15s")
		}
		time.Sleep(100 * time.Millisecond)
	}
	resp, err := http.Get("http://" + tr.MetricsAddr() + "/status.json")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var snap status.Snapshot
	if err := json.NewDecoder(resp.Body).Decode(&snap); err != nil {
		t.Fatal(err)
	}
	if len(snap.JobErrors) == 0 {
		t.Error("status.json shows no job errors")
	}
}

func TestOutcomeLabels(t *testing.T) {
	for _, tc := range []struct{ name, job, outcome string }{
		{"replicated", "replicate", "ok"},
		{"delete_failed", "delete", "failed"},
		{"fsck_MISS", "fsck", "miss"},
		{"fsck_BSUM", "fsck", "bsum"},
		{"fsck_<script>", "other", "other"},
		{"whatever", "other", "other"},
	} {
		if j, o := outcomeLabels(tc.name); j != tc.job || o != tc.outcome {
			t.Errorf("outcomeLabels(%q) = %q, %q, want %q, %q", tc.name, j, o, tc.job, tc.outcome)
		}
	}
}
