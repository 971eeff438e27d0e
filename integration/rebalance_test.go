package integration

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"mogfs/internal/testenv"
)

// mountTmpfs gives each device its own small file system, so that its
// usage (and how full it is) is its own.
func mountTmpfs(size string) func(t testing.TB, devid int, dir string) {
	return func(t testing.TB, devid int, dir string) {
		t.Helper()
		if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size="+size, "mogfs-dev"+strconv.Itoa(devid), dir).CombinedOutput(); err != nil {
			t.Fatalf("mount tmpfs on %s: %v: %s", dir, err, out)
		}
		t.Cleanup(func() { exec.Command("umount", "-l", dir).Run() })
	}
}

// TestRebalance: one nearly full device and two empty ones. A rebalance
// with the original's policy keys (sources more than 50% used, destinations
// more than 50% free, move 66% of each source's used space), driven with
// mogadm, ends with the three devices balanced. Two trackers share the
// run and the first is killed and restarted in the middle; a reader keeps
// fetching every file throughout and never fails; every file ends with its
// one copy, whole.
func TestRebalance(t *testing.T) {
	if os.Geteuid() != 0 {
		testenv.Missing(t, "mounting a tmpfs per device needs root")
	}
	c := StartCluster(t, ClusterOpts{Class: "one", MinDevCount: 1, DevSetup: mountTmpfs("40m"),
		TrackerArgs: []string{"--queue_lease", "5", "--min_free_space", "4"}})
	adm := func(args ...string) string {
		return mustTool(t, c, nil, "mogadm", append([]string{"--trackers=" + strings.Join(c.Trackers, ",")}, args...)...)
	}
	// Only dev1 takes the uploads.
	adm("device", "mark", "node2", "2", "readonly")
	adm("device", "mark", "node3", "3", "readonly")
	cl := c.Client(t)
	files := map[string][]byte{}
	for i := range 110 {
		key := fmt.Sprintf("reb/%03d", i)
		files[key] = randomBytes(t, 256<<10)
		if _, err := cl.Store(t.Context(), c.Opts.Domain, key, "one", bytes.NewReader(files[key]), int64(len(files[key]))); err != nil {
			t.Fatal(err)
		}
	}
	if got := devBytes(t, c, files); got[2]+got[3] != 0 {
		t.Fatalf("bytes per device before the run: %v; want all on dev1", got)
	}
	adm("device", "mark", "node2", "2", "alive")
	adm("device", "mark", "node3", "3", "alive")
	c.WaitObserved(t, "writeable", 2, 3)
	c.StartTracker(t)

	// The usage files are rewritten every 10 s: wait until dev1 shows full.
	deadline := time.Now().Add(30 * time.Second)
	for usedPercent(t, c, 1) <= 50 {
		if time.Now().After(deadline) {
			t.Fatalf("dev1 not over 50%% used after 30 s: %d%%", usedPercent(t, c, 1))
		}
		time.Sleep(200 * time.Millisecond)
	}

	_, errs, rc := runTool(t, c, nil, "mogadm", "--trackers="+c.Trackers[0], "rebalance", "policy", "--options=from_percent_used=50 bogus=1")
	if rc == 0 || !strings.Contains(errs, "Invalid setting bogus") {
		t.Errorf("mogadm rebalance policy with an unknown key: exit %d, %q", rc, errs)
	}
	adm("rebalance", "policy", "--options=from_percent_used=50 to_percent_free=50 limit_type=device limit_by=percent limit=66%")
	if out := adm("rebalance", "test"); !strings.Contains(out, "Source devices:\n - 1\nDestination devices:\n - 2\n - 3\n") {
		t.Errorf("mogadm rebalance test:\n%s", out)
	}
	if out := adm("rebalance", "settings"); !regexp.MustCompile(`(?m)^ +rebal_policy = from_percent_used=50 `).MatchString(out) {
		t.Errorf("mogadm rebalance settings:\n%s", out)
	}

	// A reader fetches files at random while the files move.
	var reads, failures atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	keys := make([]string, 0, len(files))
	for k := range files {
		keys = append(keys, k)
	}
	wg.Go(func() {
		rc := c.Client(t)
		for {
			select {
			case <-stop:
				return
			default:
			}
			k := keys[rand.IntN(len(keys))]
			var buf bytes.Buffer
			if _, err := rc.Fetch(t.Context(), c.Opts.Domain, k, &buf); err != nil || !bytes.Equal(buf.Bytes(), files[k]) {
				failures.Add(1)
				t.Errorf("fetch %s during the rebalance: %d bytes, %v", k, buf.Len(), err)
			}
			reads.Add(1)
		}
	})
	var once sync.Once
	stopReader := func() { once.Do(func() { close(stop); wg.Wait() }) }
	defer stopReader()

	adm("rebalance", "start")
	state := func() map[string]string {
		res, err := c.DoAt(t, c.Trackers[1], "rebalance_status", nil)
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]string{}
		for _, kv := range strings.Fields(res["state"]) {
			k, v, _ := strings.Cut(kv, "=")
			out[k] = v
		}
		return out
	}
	for deadline := time.Now().Add(30 * time.Second); state()["fids_queued"] == "0"; {
		if time.Now().After(deadline) {
			t.Fatalf("nothing queued after 30 s: %v", state())
		}
		time.Sleep(100 * time.Millisecond)
	}
	c.RestartTracker(t, 0) // the run goes on, on the other tracker and then on this one
	for deadline := time.Now().Add(90 * time.Second); ; {
		res, err := c.DoAt(t, c.Trackers[1], "stats", nil)
		if err != nil {
			t.Fatal(err)
		}
		if state()["time_finished"] != "0" && res["queue_rebalance"] == "0" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("rebalance not done after 90 s: %v, queue %s", state(), res["queue_rebalance"])
		}
		time.Sleep(200 * time.Millisecond)
	}
	stopReader()
	if reads.Load() < 20 || failures.Load() != 0 {
		t.Errorf("reader: %d fetches, %d failed; want many, none failed", reads.Load(), failures.Load())
	}

	got := devBytes(t, c, files)
	total := got[1] + got[2] + got[3]
	for d := 1; d <= 3; d++ {
		if share := 100 * got[d] / total; share < 25 || share > 42 {
			t.Errorf("dev%d holds %d%% of the bytes after the run (%v); want a third each", d, share, got)
		}
	}
	out := adm("rebalance", "status")
	for _, want := range []string{"Rebalance is stopped\n", "Rebalance status:\n", "           completed_devs = 1\n"} {
		if !strings.Contains(out, want) {
			t.Errorf("mogadm rebalance status lacks %q:\n%s", want, out)
		}
	}
	if out := adm("device", "list"); !regexp.MustCompile(`(?m)^\s+dev1:\s+alive`).MatchString(out) {
		t.Errorf("dev1 is not back to alive:\n%s", out)
	}
}

// devBytes fetches every file, checks it is whole and has exactly one copy,
// and sums the bytes per device.
func devBytes(t *testing.T, c *Cluster, files map[string][]byte) map[int]int64 {
	t.Helper()
	cl := c.Client(t)
	out := map[int]int64{}
	devRE := regexp.MustCompile(`/dev(\d+)/`)
	for k, data := range files {
		paths, err := cl.GetPaths(t.Context(), c.Opts.Domain, k, true, 0)
		if err != nil || len(paths) != 1 {
			t.Fatalf("get_paths %s = %v, %v; want one copy", k, paths, err)
		}
		m := devRE.FindStringSubmatch(paths[0])
		if m == nil {
			t.Fatalf("path %s names no device", paths[0])
		}
		d, _ := strconv.Atoi(m[1])
		var buf bytes.Buffer
		if _, err := cl.Fetch(t.Context(), c.Opts.Domain, k, &buf); err != nil || !bytes.Equal(buf.Bytes(), data) {
			t.Fatalf("fetch %s: %d bytes, %v", k, buf.Len(), err)
		}
		out[d] += int64(len(data))
	}
	return out
}

// usedPercent is the device's used space as the tracker last saw it.
func usedPercent(t *testing.T, c *Cluster, devid int) int64 {
	t.Helper()
	res := c.mustDo(t, "get_devices", map[string]string{"devid": strconv.Itoa(devid)})
	total, _ := strconv.ParseInt(res["dev1_mb_total"], 10, 64)
	used, _ := strconv.ParseInt(res["dev1_mb_used"], 10, 64)
	if total == 0 {
		return 0
	}
	return 100 * used / total
}
