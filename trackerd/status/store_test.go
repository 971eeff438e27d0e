package status_test

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"mogfs/internal/testenv"
	"mogfs/metrics"
	"mogfs/metrics/metricstest"
	"mogfs/stord"
	"mogfs/trackerd/meta"
	"mogfs/trackerd/meta/metatest"
	"mogfs/trackerd/monitor"
	"mogfs/trackerd/status"
	"mogfs/trackerd/status/statustest"
)

// liveCluster is real data for the page: a SQLite store, two storage nodes
// (stord.Run in-process on their own loopback addresses, one with dev1 and
// dev2, the other with dev3) and a monitor probing them.
type liveCluster struct {
	st     *meta.Store
	mon    *monitor.Monitor
	errs   *status.ErrorLog
	source *status.StoreSource
	queues status.Queues // depths the cluster was built with
}

func startStord(t *testing.T, devids ...int) string {
	t.Helper()
	ip := testenv.LoopbackIP(t, 7500, 7501)
	docroot := t.TempDir()
	for _, d := range devids {
		if err := os.Mkdir(filepath.Join(docroot, fmt.Sprintf("dev%d", d)), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- stord.Run(ctx, stord.Config{HTTPListen: ip + ":7500", MgmtListen: ip + ":7501", DocRoot: docroot, ShutdownTimeout: time.Second})
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("stord.Run: %v", err)
		}
	})
	testenv.WaitListening(t, ip+":7500", 10*time.Second)
	testenv.WaitListening(t, ip+":7501", 10*time.Second)
	return ip
}

func newLiveCluster(t *testing.T) *liveCluster {
	t.Helper()
	ctx := t.Context()
	c := &liveCluster{st: metatest.NewSQLite(t), errs: status.NewErrorLog(0)}
	for i, devs := range [][]int{{1, 2}, {3}} {
		ip := startStord(t, devs...)
		h, err := c.st.CreateHost(ctx, meta.Host{Name: fmt.Sprintf("stor-%c", 'a'+i), IP: ip, HTTPPort: 7500, Status: "alive"})
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range devs {
			if err := c.st.CreateDevice(ctx, meta.Device{ID: d, HostID: h.ID, Status: "alive", Weight: 100}); err != nil {
				t.Fatal(err)
			}
		}
	}
	// A host that is not running: the page must show it unreachable.
	ghost, err := c.st.CreateHost(ctx, meta.Host{Name: "stor-ghost", IP: testenv.LoopbackIP(t, 7500, 7501), HTTPPort: 7500, Status: "alive"})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.st.CreateDevice(ctx, meta.Device{ID: 9, HostID: ghost.ID, Status: "alive", Weight: 100}); err != nil {
		t.Fatal(err)
	}

	dom, err := c.st.CreateDomain(ctx, "photos")
	if err != nil {
		t.Fatal(err)
	}
	cls, err := c.st.CreateClass(ctx, meta.Class{DomainID: dom.ID, Name: "two", MinDevCount: 2, HashType: 1})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.st.CreateDomain(ctx, evilDomain); err != nil {
		t.Fatal(err)
	}
	// Three files in class two on dev1, one in the default class on dev3.
	for i, f := range []struct {
		class, dev int
	}{{cls.ID, 1}, {cls.ID, 1}, {cls.ID, 1}, {0, 3}} {
		key := fmt.Sprintf("k%d", i)
		fid, err := c.st.RegisterTempFile(ctx, meta.TempFile{DomainID: dom.ID, Key: key, ClassID: f.class, DevIDs: []int{f.dev}})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.st.CloseFile(ctx, meta.CloseArgs{FID: fid, DomainID: dom.ID, Key: key, DevID: f.dev, Length: 10, ClassID: f.class}); err != nil {
			t.Fatal(err)
		}
	}
	// Each upload queued a replication (one copy of mindevcount 2).
	base, err := c.st.QueueDepth(ctx, meta.QueueReplicate)
	if err != nil {
		t.Fatal(err)
	}
	if base != 4 {
		t.Logf("replicate queue after 4 uploads: %d", base)
	}
	c.queues = status.Queues{Replicate: base + 3, Delete: 5, FSCK: 7, Rebalance: 2}
	// Queue rows far in the future, so nothing would take them.
	later := time.Now().Add(time.Hour)
	for q, n := range map[meta.Queue]int{meta.QueueReplicate: 3, meta.QueueDelete: 5, meta.QueueFSCK: 7, meta.QueueRebalance: 2} {
		for i := range n {
			if err := c.st.Enqueue(ctx, meta.Job{Queue: q, FID: int64(5000 + 100*int(q) + i), NextTry: later, Arg: "1"}); err != nil {
				t.Fatal(err)
			}
		}
	}
	c.errs.Add(status.JobError{Job: "replicate", FID: 5301, DevID: 3, Message: "no suitable destination <dev3>"})

	c.mon = monitor.New(monitor.Config{
		Store: c.st, Interval: 100 * time.Millisecond, WriteTestEvery: 500 * time.Millisecond,
		// A generous timeout: under a loaded CI machine a slow write test must
		// not flip a device to readable between the wait below and the check.
		ConnTimeout: 3 * time.Second,
		Logger:      slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn})),
	})
	mctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); c.mon.Run(mctx) }()
	t.Cleanup(func() { cancel(); <-done })
	// Wait until the running devices are writeable with usage and the ghost
	// is known unreachable.
	deadline := time.Now().Add(15 * time.Second)
	for {
		s := c.mon.Snapshot()
		ok := s.Dev[9].State == monitor.StateUnreachable
		for _, d := range []int{1, 2, 3} {
			ok = ok && s.Dev[d].State == monitor.StateWriteable && s.Devices[d].HaveUsage
		}
		if ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("monitor never saw the cluster: %+v %+v", s.Dev, s.Devices)
		}
		time.Sleep(50 * time.Millisecond)
	}
	c.source = &status.StoreSource{
		Store: c.st, Monitor: c.mon.Snapshot, Errors: c.errs,
		Version: "mogfs-live", Started: time.Now().Add(-90 * time.Minute), DefaultMinDevCount: 2,
	}
	return c
}

func TestStoreSource(t *testing.T) {
	c := newLiveCluster(t)
	s, err := c.source.StatusSnapshot(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if s.Tracker.Version != "mogfs-live" || s.Tracker.MonitorRound == 0 {
		t.Errorf("tracker = %+v", s.Tracker)
	}
	if s.Queues != c.queues {
		t.Errorf("queues = %+v, want %+v", s.Queues, c.queues)
	}
	reach := map[string]bool{}
	for _, h := range s.Hosts {
		reach[h.Name] = h.Reachable
	}
	if !reach["stor-a"] || !reach["stor-b"] || reach["stor-ghost"] || len(reach) != 3 {
		t.Errorf("reachable = %v, want stor-a and stor-b only", reach)
	}
	devs := map[int]status.Device{}
	for _, d := range s.Devices {
		devs[d.DevID] = d
	}
	for _, id := range []int{1, 2, 3} {
		d := devs[id]
		if d.State != "writeable" || !d.HaveUsage || d.MBTotal <= 0 || d.MBUsed < 0 || d.Files == nil {
			t.Errorf("dev%d = %+v, want writeable with usage and a file count", id, d)
		}
	}
	if d := devs[9]; d.State != "unreachable" || d.Host != "stor-ghost" {
		t.Errorf("dev9 = %+v, want unreachable on stor-ghost", d)
	}
	if n := devs[1].Files; n == nil || *n != 3 {
		t.Errorf("dev1 files = %v, want 3", n)
	}
	var photos *status.Domain
	for i := range s.Domains {
		if s.Domains[i].Name == "photos" {
			photos = &s.Domains[i]
		}
	}
	if photos == nil || photos.Files == nil || *photos.Files != 4 {
		t.Fatalf("photos domain = %+v, want 4 files", photos)
	}
	classes := map[string]status.Class{}
	for _, c := range photos.Classes {
		classes[c.Name] = c
	}
	if c := classes["two"]; c.Files == nil || *c.Files != 3 || c.HashType != "MD5" || c.MinDevCount != 2 || c.ReplPolicy != "MultipleHosts()" {
		t.Errorf("class two = %+v", c)
	}
	if c := classes["default"]; c.Files == nil || *c.Files != 1 || c.MinDevCount != 2 {
		t.Errorf("implicit default class = %+v, want 1 file, mindevcount 2", c)
	}
	if len(s.JobErrors) != 1 || s.JobErrors[0].FID != 5301 {
		t.Errorf("job errors = %+v", s.JobErrors)
	}

	// Counts are cached: a new file does not change them until CountEvery.
	fid, err := c.st.RegisterTempFile(t.Context(), meta.TempFile{DomainID: 1, Key: "late", DevIDs: []int{1}})
	if err == nil {
		_, err = c.st.CloseFile(t.Context(), meta.CloseArgs{FID: fid, DomainID: 1, Key: "late", DevID: 1, Length: 1})
	}
	if err != nil {
		t.Fatal(err)
	}
	s2, err := c.source.StatusSnapshot(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if n := s2.Devices[0].Files; n == nil || *n != 3 {
		t.Errorf("dev1 files right after a new upload = %v, want the cached 3", n)
	}
	fresh := &status.StoreSource{Store: c.st, Monitor: c.mon.Snapshot}
	s3, err := fresh.StatusSnapshot(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if n := s3.Devices[0].Files; n == nil || *n != 4 {
		t.Errorf("dev1 files from a fresh source = %v, want 4", n)
	}
	off := &status.StoreSource{Store: c.st, CountEvery: -1}
	s4, err := off.StatusSnapshot(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if s4.Devices[0].Files != nil || s4.Domains[0].Files != nil || s4.Devices[0].State != "" {
		t.Errorf("counting off and no monitor: dev1 = %+v, domain = %+v", s4.Devices[0], s4.Domains[0])
	}
}

// TestPageInChromium serves the page of a live cluster the way the tracker
// will (metrics.ServeListener with the handler at "/") and checks what
// headless Chromium builds from it.
func TestPageInChromium(t *testing.T) {
	statustest.Chromium(t) // skip early, before starting the cluster
	c := newLiveCluster(t)

	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() {
		done <- metrics.ServeListener(ctx, l, metrics.NewRegistry(), map[string]http.Handler{"/": status.Handler(c.source)}, nil)
	}()
	t.Cleanup(func() { cancel(); <-done })
	base := "http://" + l.Addr().String()

	dom := statustest.CheckPageInChromium(t, base+"/status", []string{
		`<meta http-equiv="refresh" content="5">`,
		`<b id="version">mogfs-live</b>`,
		`<span id="uptime">1h30m`,
		`3 hosts (2 reachable) · 4 devices (3 writeable)`,
		`<td class="host-name">stor-a</td>`, `<td class="host-name">stor-b</td>`, `<td class="host-name">stor-ghost</td>`,
		`<tr id="dev-1" data-devid="1">`, `<tr id="dev-2" data-devid="2">`, `<tr id="dev-3" data-devid="3">`,
		`<td class="state-writeable">writeable</td>`, `<td class="state-unreachable">unreachable</td>`,
		`<div class="bar `, `<div class="fill" style="width: `,
		fmt.Sprintf(`<td id="queue-replicate">%d</td>`, c.queues.Replicate), `<td id="queue-delete">5</td>`,
		`<td id="queue-fsck">7</td>`, `<td id="queue-rebalance">2</td>`,
		`<td class="domain-name"><b>photos</b></td>`,
		`<td class="class-name">two</td><td class="num">2</td><td>MultipleHosts()</td><td>MD5</td><td class="num">3</td>`,
		`no suitable destination &lt;dev3&gt;`,
		// The evil domain name is text in the DOM...
		`&lt;script&gt;document.body.setAttribute("data-pwned","1")&lt;/script&gt;`,
	})
	// ...and never ran.
	if strings.Contains(dom, "data-pwned=") {
		t.Error("a domain name ran as script in the browser")
	}
	// Every device with usage has a usage bar; the DOM holds one bar per
	// device row with usage (3) plus one per known utilization.
	if n := strings.Count(dom, `<div class="bar `); n < 3 {
		t.Errorf("DOM has %d bars, want at least 3 (one per device with usage)", n)
	}

	// /metrics is served next to the page.
	if _, ok := metricstest.Scrape(t, base+"/metrics").Value("go_goroutines"); !ok {
		t.Error("/metrics next to the status page lacks go_goroutines")
	}
}
