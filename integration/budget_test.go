package integration

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"mogfs/internal/testenv"
	"mogfs/metrics/metricstest"
)

// trackerRequests scrapes trackerd's requests by command.
func trackerRequests(t *testing.T, url string) map[string]float64 {
	t.Helper()
	out := map[string]float64{}
	fam := metricstest.Scrape(t, url)
	for _, m := range fam["mogfs_tracker_requests_total"].GetMetric() {
		for _, l := range m.GetLabel() {
			if l.GetName() == "command" {
				out[l.GetValue()] += m.GetCounter().GetValue()
			}
		}
	}
	return out
}

// TestFUSECreateRoundTrips: creating a 4 KiB file through the mount in a
// directory it has just made costs one create_open and one create_close
// (and the PUT), nothing else: the kernel's lookup of the new name is
// answered without a request, the attributes ride on the create_close. In
// a directory made by others the lookup is one more request.
func TestFUSECreateRoundTrips(t *testing.T) {
	testenv.RequireFUSE(t)
	maddr := fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(t, "127.0.0.1"))
	c := StartCluster(t, ClusterOpts{TrackerArgs: []string{"--metrics_listen=" + maddr}})
	m := mountMogfs(t, c, "attr_timeout=10", "entry_timeout=10")
	dir := filepath.Join(m.Dir, "d")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	body := []byte(strings.Repeat("4k", 2048))
	if err := os.WriteFile(filepath.Join(dir, "warm"), body, 0o644); err != nil { // one-time capability questions
		t.Fatal(err)
	}
	url := "http://" + maddr + "/metrics"
	// The mount keeps a few create_opens made ahead (one per create taken
	// from it): count once those in flight have landed.
	settled := func() map[string]float64 {
		last := trackerRequests(t, url)
		for {
			time.Sleep(200 * time.Millisecond)
			now := trackerRequests(t, url)
			if now["create_open"] == last["create_open"] {
				return now
			}
			last = now
		}
	}
	before := settled()
	const files = 20
	for i := range files {
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("f%02d", i)), body, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	after := settled()
	sent := map[string]float64{}
	for cmd, v := range after {
		if d := v - before[cmd]; d != 0 {
			sent[cmd] = d
		}
	}
	want := map[string]float64{"create_open": files, "create_close": files}
	if fmt.Sprint(sent) != fmt.Sprint(want) {
		t.Errorf("%d creates in a directory made here sent %v tracker requests, want %v", files, sent, want)
	}
	for i := range files {
		assertContent(t, filepath.Join(dir, fmt.Sprintf("f%02d", i)), string(body))
	}
}
