package status_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"mogfs/trackerd/status"
)

func ptr[T any](v T) *T { return &v }

// evilDomain would run if the page did not escape domain names.
const evilDomain = `<script>document.body.setAttribute("data-pwned","1")</script>`

// fixture is a snapshot with one of everything, in scrambled order.
func fixture() status.Snapshot {
	t0 := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	s := status.Snapshot{
		Tracker: status.Tracker{Version: "mogfs-test-1", Started: t0, Now: t0.Add(26*time.Hour + 3*time.Minute), MonitorRound: 17},
		Hosts: []status.Host{
			{ID: 2, Name: "stor-beta", IP: "127.0.0.2", HTTPPort: 7500, Status: "down"},
			{ID: 1, Name: "stor-alpha", IP: "127.0.0.1", HTTPPort: 7500, Status: "alive", Reachable: true},
		},
		Devices: []status.Device{
			{DevID: 3, HostID: 2, Host: "stor-beta", Status: "alive", State: "unreachable", Weight: 100},
			{DevID: 1, HostID: 1, Host: "stor-alpha", Status: "alive", State: "writeable", Weight: 100,
				HaveUsage: true, MBTotal: 1000, MBUsed: 250, Utilization: ptr(3.5), Files: ptr[int64](12)},
			{DevID: 2, HostID: 1, Host: "stor-alpha", Status: "drain", State: "readable", Weight: 50,
				HaveUsage: true, MBTotal: 2048, MBUsed: 2000, Utilization: ptr(150.0)},
		},
		Queues: status.Queues{Replicate: 11, Delete: 22, FSCK: 33, Rebalance: 44},
		Domains: []status.Domain{
			{Name: "zeta", Files: ptr[int64](5), Classes: []status.Class{
				{Name: "two", MinDevCount: 2, ReplPolicy: "MultipleHosts()", HashType: "MD5", Files: ptr[int64](3)},
				{Name: "default", MinDevCount: 2, ReplPolicy: "MultipleHosts()", Files: ptr[int64](2)},
			}},
			{Name: evilDomain},
		},
	}
	for i := range 60 {
		s.JobErrors = append(s.JobErrors, status.JobError{
			Time: t0.Add(time.Duration(i) * time.Minute), Job: "replicate", FID: int64(1000 + i), DevID: 1,
			Message: fmt.Sprintf("copy failed #%d <b>bold</b>", i),
		})
	}
	return s
}

func serveSnapshot(t *testing.T, s status.Snapshot) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(status.Handler(status.SourceFunc(func(context.Context) (status.Snapshot, error) { return s, nil })))
	t.Cleanup(srv.Close)
	return srv
}

func fetch(t *testing.T, method, url string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(b)
}

func TestPageShowsSnapshot(t *testing.T) {
	srv := serveSnapshot(t, fixture())
	for _, path := range []string{"/", "/status", "/status/"} {
		resp, body := fetch(t, "GET", srv.URL+path)
		if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
			t.Fatalf("GET %s = %d %s, want 200 text/html", path, resp.StatusCode, resp.Header.Get("Content-Type"))
		}
		wants := []string{
			`<meta http-equiv="refresh" content="5">`,
			`<b id="version">mogfs-test-1</b>`,
			`<span id="uptime">1d 2h3m0s</span>`,
			`<span id="monitor-round">17</span>`,
			`2 hosts (1 reachable) · 3 devices (1 writeable) · 2.2 GiB of 3.0 GiB used`,
			`<td id="queue-replicate">11</td>`, `<td id="queue-delete">22</td>`,
			`<td id="queue-fsck">33</td>`, `<td id="queue-rebalance">44</td>`,
			`<td class="host-name">stor-alpha</td>`, `<td class="host-name">stor-beta</td>`,
			`<td class="no">no</td>`, `<td class="status-down">down</td>`,
			`<tr id="dev-1" data-devid="1">`, `<td class="state-writeable">writeable</td>`,
			`<td class="state-unreachable">unreachable</td>`,
			// usage 25 %: a green bar a quarter full, and its numbers
			`<div class="bar ok" title="25.0%" data-pct="25.0"><div class="fill" style="width: 25.0%"></div></div>`,
			`25.0% · 250 MiB / 1000 MiB`,
			// dev2 is 97.7 % full: red; its utilization 150 is clamped to 100
			`<div class="bar crit" title="97.7%" data-pct="97.7">`,
			`<td class="num util">100.0%</td>`,
			`<td class="num util">3.5%</td>`,
			`no usage yet`,
			`<td class="domain-name"><b>zeta</b></td>`,
			`<td class="class-name">two</td><td class="num">2</td><td>MultipleHosts()</td><td>MD5</td><td class="num">3</td>`,
			`copy failed #59 &lt;b&gt;bold&lt;/b&gt;`,
		}
		for _, w := range wants {
			if !strings.Contains(body, w) {
				t.Errorf("GET %s lacks %q", path, w)
			}
		}
		// Ordering: hosts and devices by id, errors newest first, 50 kept.
		if a, b := strings.Index(body, "stor-alpha</td>"), strings.Index(body, "stor-beta</td>"); a > b {
			t.Errorf("host stor-beta (id 2) listed before stor-alpha (id 1)")
		}
		if a, b := strings.Index(body, `id="dev-1"`), strings.Index(body, `id="dev-3"`); a > b {
			t.Errorf("dev3 listed before dev1")
		}
		if n := strings.Count(body, `<tr class="job-error">`); n != status.MaxJobErrors {
			t.Errorf("page shows %d job errors, want %d", n, status.MaxJobErrors)
		}
		if strings.Contains(body, "copy failed #9 ") || strings.Index(body, "#59 ") > strings.Index(body, "#58 ") {
			t.Error("job errors are not the newest 50, newest first")
		}
	}
}

func TestPageEscapes(t *testing.T) {
	s := fixture()
	s.Hosts[0].Name = `"><img src=x onerror=alert(1)>`
	s.Tracker.Version = `</title><script>alert(2)</script>`
	srv := serveSnapshot(t, s)
	_, body := fetch(t, "GET", srv.URL+"/")
	for _, bad := range []string{"<script>document", "<script>alert", "<img src=x", "<b>bold</b>"} {
		if strings.Contains(body, bad) {
			t.Errorf("page contains unescaped %q", bad)
		}
	}
	for _, want := range []string{"&lt;script&gt;document.body.setAttribute(&#34;data-pwned&#34;,&#34;1&#34;)&lt;/script&gt;", "&lt;img src=x onerror=alert(1)&gt;"} {
		if !strings.Contains(body, want) {
			t.Errorf("page lacks escaped %q", want)
		}
	}
}

func TestJSON(t *testing.T) {
	srv := serveSnapshot(t, fixture())
	resp, body := fetch(t, "GET", srv.URL+"/status.json")
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("GET /status.json = %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	var got status.Snapshot
	if err := json.Unmarshal([]byte(body), &got); err != nil {
		t.Fatalf("decode: %v\n%s", err, body)
	}
	if got.Tracker.UptimeSeconds != (26*time.Hour + 3*time.Minute).Seconds() {
		t.Errorf("uptime_seconds = %v", got.Tracker.UptimeSeconds)
	}
	if len(got.Hosts) != 2 || got.Hosts[0].Name != "stor-alpha" || !got.Hosts[0].Reachable {
		t.Errorf("hosts = %+v, want stor-alpha (reachable) first", got.Hosts)
	}
	if len(got.Devices) != 3 || got.Devices[0].DevID != 1 || *got.Devices[0].Utilization != 3.5 || *got.Devices[0].Files != 12 {
		t.Errorf("devices[0] = %+v", got.Devices[0])
	}
	if got.Devices[2].Utilization != nil || got.Devices[2].Files != nil {
		t.Errorf("dev3 utilization/files = %v/%v, want null", got.Devices[2].Utilization, got.Devices[2].Files)
	}
	if got.Queues != (status.Queues{Replicate: 11, Delete: 22, FSCK: 33, Rebalance: 44}) {
		t.Errorf("queues = %+v", got.Queues)
	}
	if len(got.JobErrors) != status.MaxJobErrors || got.JobErrors[0].FID != 1059 {
		t.Errorf("job_errors: %d, first fid %d; want 50 newest first (1059)", len(got.JobErrors), got.JobErrors[0].FID)
	}
	if got.Domains[0].Name != evilDomain || got.Domains[1].Classes[0].Name != "default" || *got.Domains[1].Classes[1].Files != 3 {
		t.Errorf("domains = %+v", got.Domains)
	}
	// Keys operators script against.
	for _, key := range []string{`"observed_state": "writeable"`, `"mb_total": 1000`, `"utilization": null`, `"replicate": 11`, `"mindevcount": 2`} {
		if !strings.Contains(body, key) {
			t.Errorf("JSON lacks %s", key)
		}
	}

	// An empty snapshot has [] lists, not null.
	_, body = fetch(t, "GET", serveSnapshot(t, status.Snapshot{}).URL+"/status.json")
	for _, key := range []string{`"hosts": []`, `"devices": []`, `"job_errors": []`, `"domains": []`} {
		if !strings.Contains(body, key) {
			t.Errorf("empty snapshot JSON lacks %s:\n%s", key, body)
		}
	}
}

func TestRoutesAndErrors(t *testing.T) {
	srv := serveSnapshot(t, fixture())
	tests := []struct {
		method, path string
		want         int
	}{
		{"GET", "/nope", 404},
		{"GET", "/status.json/x", 404},
		{"POST", "/", 405},
		{"HEAD", "/status", 200},
		{"HEAD", "/status.json", 200},
	}
	for _, tc := range tests {
		if resp, _ := fetch(t, tc.method, srv.URL+tc.path); resp.StatusCode != tc.want {
			t.Errorf("%s %s = %d, want %d", tc.method, tc.path, resp.StatusCode, tc.want)
		}
	}

	failing := httptest.NewServer(status.Handler(status.SourceFunc(func(ctx context.Context) (status.Snapshot, error) {
		if _, ok := ctx.Deadline(); !ok {
			t.Error("source called without a deadline")
		}
		return status.Snapshot{}, errors.New("db down <script>")
	})))
	defer failing.Close()
	resp, body := fetch(t, "GET", failing.URL+"/")
	if resp.StatusCode != 500 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain") || !strings.Contains(body, "db down") {
		t.Errorf("failing source: %d %s %q, want 500 text/plain with the reason", resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}
}

func TestErrorLog(t *testing.T) {
	l := status.NewErrorLog(3)
	if got := l.Recent(); len(got) != 0 {
		t.Errorf("new log Recent = %v, want empty", got)
	}
	for i := 1; i <= 5; i++ {
		l.Add(status.JobError{FID: int64(i)})
	}
	got := l.Recent()
	var fids []int64
	for _, e := range got {
		fids = append(fids, e.FID)
		if e.Time.IsZero() {
			t.Error("Add did not stamp the time")
		}
	}
	if fmt.Sprint(fids) != "[5 4 3]" {
		t.Errorf("Recent fids = %v, want [5 4 3]", fids)
	}
	var nilLog *status.ErrorLog
	nilLog.Add(status.JobError{})
	if nilLog.Recent() != nil {
		t.Error("nil log Recent != nil")
	}

	// Concurrent writers and readers (run with -race).
	l = status.NewErrorLog(0)
	done := make(chan struct{})
	for w := range 4 {
		go func() {
			defer func() { done <- struct{}{} }()
			for i := range 200 {
				l.Add(status.JobError{FID: int64(w*1000 + i)})
				l.Recent()
			}
		}()
	}
	for range 4 {
		<-done
	}
	if n := len(l.Recent()); n != status.MaxJobErrors {
		t.Errorf("after 800 adds Recent has %d, want %d", n, status.MaxJobErrors)
	}
}

func BenchmarkRenderPage(b *testing.B) {
	s := fixture()
	for i := range 200 {
		s.Devices = append(s.Devices, status.Device{DevID: 100 + i, Host: "h", Status: "alive", State: "writeable", HaveUsage: true, MBTotal: 1 << 20, MBUsed: int64(i) << 10})
	}
	h := status.Handler(status.SourceFunc(func(context.Context) (status.Snapshot, error) { return s, nil }))
	req := httptest.NewRequest("GET", "/", nil)
	b.ReportAllocs()
	for b.Loop() {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		b.SetBytes(int64(w.Body.Len()))
	}
}
