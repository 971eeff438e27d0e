package integration

import (
	"bytes"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"mogfs/internal/testenv"
	"mogfs/metrics/metricstest"
	"mogfs/trackerd/status/statustest"
)

// TestStatusPageAndMetricsLive checks the operator's view of a live
// cluster: the real trackerd binary with --metrics_listen, three real stord
// nodes, a file uploaded and replicated; then /metrics is scraped and the
// status page is loaded in headless Chromium.
func TestStatusPageAndMetricsLive(t *testing.T) {
	statustest.Chromium(t) // skip (or fail under CI) before starting anything
	maddr := fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(t, "127.0.0.1"))
	c := StartCluster(t, ClusterOpts{TrackerArgs: []string{"--metrics_listen=" + maddr}})
	cl := c.Client(t)
	body := bytes.Repeat([]byte("status page "), 1000)
	if _, err := cl.StoreReaderAt(t.Context(), "testdom", "live/one", "two", bytes.NewReader(body), int64(len(body))); err != nil {
		t.Fatalf("store: %v", err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		fi, err := cl.FileInfo(t.Context(), "testdom", "live/one")
		if err == nil && fi.DevCount >= 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("file not replicated to 2 copies: %+v, %v", fi, err)
		}
		time.Sleep(100 * time.Millisecond)
	}

	base := "http://" + maddr
	fam := metricstest.Scrape(t, base+"/metrics")
	for _, cmd := range []string{"create_open", "create_close"} {
		if v, ok := fam.Value("mogfs_tracker_requests_total", "command", cmd); !ok || v < 1 {
			t.Errorf("mogfs_tracker_requests_total{command=%q} = %v, %v; want >= 1", cmd, v, ok)
		}
	}
	for _, n := range c.Nodes {
		for _, d := range n.DevIDs {
			if v, ok := fam.Value("mogfs_device_mb_total", "devid", fmt.Sprint(d)); !ok || v <= 0 {
				t.Errorf("mogfs_device_mb_total{devid=%d} = %v, %v; want > 0", d, v, ok)
			}
		}
	}
	if _, ok := fam.Value("mogfs_tracker_queue_depth", "queue", "replicate"); !ok {
		t.Errorf("no mogfs_tracker_queue_depth{queue=replicate} in %s", fam)
	}

	resp, err := http.Get(base + "/status.json")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("/status.json: %s", resp.Status)
	}

	wants := []string{`<td class="domain-name"><b>testdom</b></td>`, `<td class="class-name">two</td>`}
	for i, n := range c.Nodes {
		wants = append(wants, fmt.Sprintf(`<td class="host-name">node%d</td>`, i+1))
		for _, d := range n.DevIDs {
			wants = append(wants, fmt.Sprintf(`<tr id="dev-%d" data-devid="%d">`, d, d))
		}
	}
	dom := statustest.CheckPageInChromium(t, base+"/", wants)
	if !strings.Contains(dom, "writeable") {
		t.Errorf("status page shows no writeable device:\n%s", dom)
	}
}
