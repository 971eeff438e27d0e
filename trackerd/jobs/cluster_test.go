package jobs_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"testing"
	"time"

	"mogfs/nodeproto"
	"mogfs/trackerd/jobs"
	"mogfs/trackerd/meta"
	"mogfs/trackerd/meta/metatest"
	"mogfs/trackerd/monitor"
)

// cluster is a store, a running monitor and real storage nodes, one device
// per node unless told otherwise; device i lives on nodes[devNode[i]].
type cluster struct {
	t       *testing.T
	st      *meta.Store
	mon     *monitor.Monitor
	nodes   []*node
	devNode map[int]*node
	dmid    int
	log     *slog.Logger
}

// newCluster starts one node per entry of devsPerNode, numbering devices
// from 1.
func newCluster(t *testing.T, devsPerNode ...int) *cluster {
	t.Helper()
	c := &cluster{
		t: t, st: metatest.NewSQLite(t), devNode: map[int]*node{},
		log: slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelInfo})),
	}
	ctx := t.Context()
	devid := 1
	for i, nd := range devsPerNode {
		var ids []int
		for range nd {
			ids = append(ids, devid)
			devid++
		}
		n := startNode(t, ids...)
		c.nodes = append(c.nodes, n)
		h, err := c.st.CreateHost(ctx, meta.Host{Name: fmt.Sprintf("node%d", i+1), IP: n.IP, HTTPPort: 7500, Status: "alive"})
		if err != nil {
			t.Fatal(err)
		}
		for _, id := range ids {
			if err := c.st.CreateDevice(ctx, meta.Device{ID: id, HostID: h.ID, Status: "alive", Weight: 100}); err != nil {
				t.Fatal(err)
			}
			c.devNode[id] = n
		}
	}
	d, err := c.st.CreateDomain(ctx, "testdom")
	if err != nil {
		t.Fatal(err)
	}
	c.dmid = d.ID
	c.mon = monitor.New(monitor.Config{
		Store: c.st, Logger: c.log, Interval: 100 * time.Millisecond,
		WriteTestEvery: 500 * time.Millisecond, ConnTimeout: time.Second,
	})
	c.goRun(func(ctx context.Context) { c.mon.Run(ctx) })
	if err := c.mon.WaitRound(ctx); err != nil {
		t.Fatal(err)
	}
	return c
}

// goRun runs f until the test ends.
func (c *cluster) goRun(f func(ctx context.Context)) {
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		f(ctx)
	}()
	c.t.Cleanup(func() {
		cancel()
		wg.Wait()
	})
}

// startJobs runs a Jobs with short intervals; edit adjusts the config.
func (c *cluster) startJobs(name string, edit func(*jobs.Config)) *jobs.Jobs {
	cfg := jobs.Config{
		Store: c.st, Monitor: c.mon, Logger: c.log.With("tracker", name),
		ReplicateJobs: 2, DeleteJobs: 2, FsckJobs: 2,
		Poll: 50 * time.Millisecond, Hostname: name, DefaultMinDevCount: 2,
		ReaperInterval: 100 * time.Millisecond, ReaperGrace: 200 * time.Millisecond,
		TempfileSweep: 100 * time.Millisecond,
	}
	if edit != nil {
		edit(&cfg)
	}
	j := jobs.New(cfg)
	c.goRun(func(ctx context.Context) { j.Run(ctx) })
	return j
}

// upload stores data under key the way a client does: create_open's tempfile
// row, an HTTP PUT to devid, create_close. The file then has one copy and a
// replicate row.
func (c *cluster) upload(key string, classid int, data []byte, devid int) int64 {
	c.t.Helper()
	ctx := c.t.Context()
	fid, err := c.st.RegisterTempFile(ctx, meta.TempFile{DomainID: c.dmid, Key: key, ClassID: classid, DevIDs: []int{devid}})
	if err != nil {
		c.t.Fatal(err)
	}
	c.put(devid, fid, data)
	if _, err := c.st.CloseFile(ctx, meta.CloseArgs{FID: fid, DomainID: c.dmid, Key: key, DevID: devid, Length: int64(len(data)), ClassID: classid}); err != nil {
		c.t.Fatal(err)
	}
	return fid
}

func (c *cluster) put(devid int, fid int64, data []byte) {
	c.t.Helper()
	url := fmt.Sprintf("http://%s:7500%s", c.devNode[devid].IP, nodeproto.FIDPath(devid, fid))
	req, err := http.NewRequestWithContext(c.t.Context(), http.MethodPut, url, bytes.NewReader(data))
	if err != nil {
		c.t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		c.t.Fatalf("PUT %s: %s", url, resp.Status)
	}
}

// waitFor polls cond until it holds or d passes.
func (c *cluster) waitFor(d time.Duration, what string, cond func() (bool, string)) {
	c.t.Helper()
	deadline := time.Now().Add(d)
	for {
		ok, state := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("timed out after %v waiting for %s: %s", d, what, state)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// devids returns the file's recorded copies.
func (c *cluster) devids(fid int64) []int {
	c.t.Helper()
	d, err := c.st.FileDevIDs(c.t.Context(), fid)
	if err != nil {
		c.t.Fatal(err)
	}
	return d
}

// replicated reports whether every fid has exactly n copies on n distinct
// hosts, none on the excluded devices, each with the expected bytes on disk.
func (c *cluster) replicated(fids map[int64][]byte, n int, exclude ...int) (bool, string) {
	for fid, data := range fids {
		devs := c.devids(fid)
		if len(devs) != n {
			return false, fmt.Sprintf("fid %d on %v, want %d copies", fid, devs, n)
		}
		hosts := map[*node]bool{}
		for _, d := range devs {
			for _, x := range exclude {
				if d == x {
					return false, fmt.Sprintf("fid %d still on excluded dev %d", fid, d)
				}
			}
			hosts[c.devNode[d]] = true
			got, err := c.devNode[d].File(nodeproto.FIDPath(d, fid))
			if err != nil || !bytes.Equal(got, data) {
				return false, fmt.Sprintf("fid %d on dev %d: %d bytes, err %v", fid, d, len(got), err)
			}
		}
		if len(hosts) != n {
			return false, fmt.Sprintf("fid %d on %v: %d hosts, want %d", fid, devs, len(hosts), n)
		}
	}
	return true, ""
}

func (c *cluster) queueDepth(q meta.Queue) int64 {
	n, err := c.st.QueueDepth(c.t.Context(), q)
	if err != nil {
		c.t.Fatal(err)
	}
	return n
}

// files uploads count files of distinct sizes to devid.
func (c *cluster) files(prefix string, count, devid int) map[int64][]byte {
	out := map[int64][]byte{}
	for i := range count {
		data := bytes.Repeat([]byte(fmt.Sprintf("%s-%d;", prefix, i)), 100+i*37)
		out[c.upload(fmt.Sprintf("%s/%d", prefix, i), 0, data, devid)] = data
	}
	return out
}
