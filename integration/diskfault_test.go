package integration

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"mogfs/client"
	"mogfs/internal/testenv"
	"mogfs/nodeproto"
)

// The disk fault tests break one device of three under a running load and
// count what the cluster does about it, never how long it takes: after the
// fault and one monitor round (do_monitor_round), no create_open names the
// device and no new file or replica lands on it, no upload fails, every
// acknowledged file reads back and reaches two copies, and reads of the
// files that had a copy there keep working. A PUT that was already on its
// way to the device (a create_open from before the fault) fails with a
// clear status, leaves nothing behind, and the client stores the file on
// the next destination.

// faultRun is one cluster under load with one device about to fail.
type faultRun struct {
	t   *testing.T
	c   *Cluster
	cl  *client.Client
	bad int // the device that fails

	pre   map[string][]byte // stored before the fault, two copies each
	onBad []string          // keys of pre with a copy on bad
	stale client.OpenResult // a create_open from before the fault, bad first

	observed atomic.Bool // set once a monitor round has seen the fault
	stop     chan struct{}
	wg       sync.WaitGroup

	mu          sync.Mutex // guards the fields below
	acked       map[string][]byte
	after       []string // acked keys whose create_open followed the observation
	placedAfter int      // create_open replies naming bad after the observation
	failed      []string // upload and read failures
	reads       int
}

// startFaultRun stores files with two copies each, takes a create_open
// whose first destination is bad, and starts a writer that keeps storing
// small files and reading the first ones back.
func startFaultRun(t *testing.T, c *Cluster, bad int) *faultRun {
	t.Helper()
	f := &faultRun{t: t, c: c, cl: c.Client(t), bad: bad, pre: map[string][]byte{},
		acked: map[string][]byte{}, stop: make(chan struct{})}
	dom := c.Opts.Domain
	for i := range 24 {
		key := fmt.Sprintf("pre/%02d", i)
		f.pre[key] = randomBytes(t, 16<<10+i*1024)
		if _, err := f.cl.Store(t.Context(), dom, key, c.Opts.Class, bytes.NewReader(f.pre[key]), int64(len(f.pre[key]))); err != nil {
			t.Fatal(err)
		}
	}
	for key := range f.pre {
		if slices.Contains(f.devIDs(key, 2), bad) {
			f.onBad = append(f.onBad, key)
		}
	}
	slices.Sort(f.onBad)
	if len(f.onBad) == 0 {
		t.Fatalf("no file has a copy on dev%d", bad)
	}
	open, err := f.cl.CreateOpen(t.Context(), dom, "stale", c.Opts.Class, 64<<10)
	if err != nil {
		t.Fatal(err)
	}
	i := slices.IndexFunc(open.Dests, func(d client.Dest) bool { return d.DevID == bad })
	if i < 0 || len(open.Dests) < 2 {
		t.Fatalf("create_open before the fault offers %v; want dev%d and another", open.Dests, bad)
	}
	open.Dests[0], open.Dests[i] = open.Dests[i], open.Dests[0]
	f.stale = open
	f.wg.Go(f.load)
	t.Cleanup(f.stopLoad)
	return f
}

// load stores a file and reads one of the first files back, until stop.
func (f *faultRun) load() {
	rng := rand.New(rand.NewPCG(uint64(f.bad), 1))
	dom := f.c.Opts.Domain
	keys := make([]string, 0, len(f.pre))
	for k := range f.pre {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for n := 0; ; n++ {
		select {
		case <-f.stop:
			return
		case <-time.After(10 * time.Millisecond):
		}
		key := fmt.Sprintf("load/%04d", n)
		body := randomBody(rng, 64<<10)
		obs := f.observed.Load()
		open, err := f.cl.CreateOpen(f.t.Context(), dom, key, f.c.Opts.Class, int64(len(body)))
		if err == nil {
			err = f.cl.StoreOpened(f.t.Context(), dom, key, open, bytes.NewReader(body), int64(len(body)), nil)
		}
		f.mu.Lock()
		if err != nil {
			f.failed = append(f.failed, fmt.Sprintf("store %s: %v", key, err))
		} else {
			f.acked[key] = body
			if obs {
				f.after = append(f.after, key)
				if slices.ContainsFunc(open.Dests, func(d client.Dest) bool { return d.DevID == f.bad }) {
					f.placedAfter++
				}
			}
		}
		f.mu.Unlock()

		k := keys[rng.IntN(len(keys))]
		var got bytes.Buffer
		_, err = f.cl.Fetch(f.t.Context(), dom, k, &got)
		f.mu.Lock()
		f.reads++
		if err != nil || !bytes.Equal(got.Bytes(), f.pre[k]) {
			f.failed = append(f.failed, fmt.Sprintf("fetch %s: %d bytes, %v", k, got.Len(), err))
		}
		f.mu.Unlock()
	}
}

func (f *faultRun) stopLoad() {
	select {
	case <-f.stop:
	default:
		close(f.stop)
	}
	f.wg.Wait()
}

// devIDs waits until key has want copies and returns their devices.
func (f *faultRun) devIDs(key string, want int) []int {
	f.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		fi, err := f.cl.FileInfo(f.t.Context(), f.c.Opts.Domain, key)
		if err == nil && fi.DevCount == want {
			return fi.DevIDs
		}
		if time.Now().After(deadline) {
			f.t.Fatalf("%s has %d copies after 30 s (%v), want %d", key, fi.DevCount, err, want)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// devDir is the directory of device devid on its node.
func (c *Cluster) devDir(devid int) string {
	for _, n := range c.Nodes {
		if slices.Contains(n.DevIDs, devid) {
			return filepath.Join(n.Docroot, "dev"+strconv.Itoa(devid))
		}
	}
	panic(fmt.Sprintf("no device %d", devid))
}

// observedState is the device's observed_state in get_devices.
func (c *Cluster) observedState(t *testing.T, devid int) string {
	t.Helper()
	return c.mustDo(t, "get_devices", map[string]string{"devid": strconv.Itoa(devid)})["dev1_observed_state"]
}

// stalePut PUTs a file to the stale destination on the failed device,
// which must answer want and leave nothing on the device; then the rest of
// the upload (the client's next destination) must store it.
func (f *faultRun) stalePut(want int) {
	t := f.t
	t.Helper()
	body := randomBytes(t, 1<<20) // more than a full device has left
	d := f.stale.Dests[0]
	err := f.cl.Put(t.Context(), d.Path, bytes.NewReader(body), int64(len(body)))
	if he, ok := errors.AsType[*client.HTTPError](err); !ok || he.Status != want {
		t.Errorf("PUT to dev%d after the fault = %v, want status %d", f.bad, err, want)
	}
	rel := filepath.FromSlash(nodeproto.FIDPath(f.bad, f.stale.FID))
	if _, err := os.Stat(filepath.Join(filepath.Dir(f.c.devDir(f.bad)), rel)); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("failed PUT left %s: %v", rel, err)
	}
	filepath.WalkDir(f.c.devDir(f.bad), func(p string, e fs.DirEntry, err error) error {
		if err == nil && strings.HasSuffix(p, ".tmp") {
			t.Errorf("failed PUT left a temp file %s", p)
		}
		return nil
	})
	// The client skips the failed destination.
	if err := f.cl.StoreOpened(t.Context(), f.c.Opts.Domain, "stale", f.stale, bytes.NewReader(body), int64(len(body)), nil); err != nil {
		t.Errorf("store with the failed device first: %v", err)
	} else {
		f.mu.Lock()
		f.acked["stale"] = body
		f.mu.Unlock()
	}
}

// waitStored waits until the load has stored n more files: with the fault
// in place and, until observe, not yet seen by the tracker, these meet it.
func (f *faultRun) waitStored(n int) {
	f.t.Helper()
	f.mu.Lock()
	target := len(f.acked) + n
	f.mu.Unlock()
	deadline := time.Now().Add(30 * time.Second)
	for {
		f.mu.Lock()
		got := len(f.acked)
		f.mu.Unlock()
		if got >= target {
			return
		}
		if time.Now().After(deadline) {
			f.t.Fatalf("the load stored %d of %d files in 30 s", got, target)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// observe runs a monitor round, after which the tracker must have seen the
// fault, and returns the device's observed state.
func (f *faultRun) observe() string {
	f.t.Helper()
	f.c.mustDo(f.t, "do_monitor_round", nil)
	f.observed.Store(true)
	return f.c.observedState(f.t, f.bad)
}

// offered counts the create_open replies, of n, that name devid.
func (f *faultRun) offered(devid, n int) int {
	f.t.Helper()
	hits := 0
	for i := range n {
		open, err := f.cl.CreateOpen(f.t.Context(), f.c.Opts.Domain, fmt.Sprintf("probe/%d", i), f.c.Opts.Class, 1024)
		if err != nil {
			f.t.Fatal(err)
		}
		if slices.ContainsFunc(open.Dests, func(d client.Dest) bool { return d.DevID == devid }) {
			hits++
		}
	}
	return hits
}

// finish lets the load store 20 more files after the observation, stops
// it and checks what it did: no upload or read failed, nothing was
// offered or copied to the failed device after the observation, and every
// acknowledged file reads back with two copies.
func (f *faultRun) finish() {
	t := f.t
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		f.mu.Lock()
		n := len(f.after)
		f.mu.Unlock()
		if n >= 20 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("only %d uploads after the observation in 30 s", n)
		}
		time.Sleep(20 * time.Millisecond)
	}
	f.stopLoad()
	f.mu.Lock()
	defer f.mu.Unlock()
	t.Logf("dev%d: %d uploads acknowledged (%d after the observation), %d reads", f.bad, len(f.acked), len(f.after), f.reads)
	if len(f.failed) > 0 {
		t.Errorf("%d operations failed with one device of three faulty, want none: %q", len(f.failed), f.failed[:min(len(f.failed), 5)])
	}
	if f.placedAfter != 0 {
		t.Errorf("%d of %d create_opens after the observation named dev%d, want 0", f.placedAfter, len(f.after), f.bad)
	}
	afterSet := map[string]bool{}
	for _, k := range f.after {
		afterSet[k] = true
	}
	for key, body := range f.acked {
		devs := f.devIDs(key, 2)
		if afterSet[key] && slices.Contains(devs, f.bad) {
			t.Errorf("%s, stored after the observation, has a copy on dev%d: %v", key, f.bad, devs)
		}
		var got bytes.Buffer
		if _, err := f.cl.Fetch(t.Context(), f.c.Opts.Domain, key, &got); err != nil || !bytes.Equal(got.Bytes(), body) {
			t.Errorf("acknowledged %s reads back %d bytes, %v", key, got.Len(), err)
		}
	}
}

// readDirect GETs every file with a copy on the failed device from that
// device itself.
func (f *faultRun) readDirect() {
	t := f.t
	t.Helper()
	for _, key := range f.onBad {
		url := "http://" + f.c.nodeOf(f.bad).HTTP + nodeproto.FIDPath(f.bad, fileFID(t, f.c, key))
		code, body := httpDo(t, http.MethodGet, url, "")
		if code != http.StatusOK || body != string(f.pre[key]) {
			t.Errorf("GET %s from the failed device = %d, %d bytes", key, code, len(body))
		}
	}
}

func (c *Cluster) nodeOf(devid int) *Node {
	for _, n := range c.Nodes {
		if slices.Contains(n.DevIDs, devid) {
			return n
		}
	}
	panic(fmt.Sprintf("no device %d", devid))
}

// tmpfsCluster gives each of three nodes one 24 MiB tmpfs device; the
// tracker keeps 4 MiB free (the default 100 MB is more than a device has).
func tmpfsCluster(t *testing.T) *Cluster {
	t.Helper()
	if os.Geteuid() != 0 {
		testenv.Missing(t, "mounting a tmpfs per device needs root")
	}
	return StartCluster(t, ClusterOpts{DevSetup: mountTmpfs("24m"), TrackerArgs: []string{"--min_free_space", "4"}})
}

// TestDiskFull fills dev1 to the last byte under load. A PUT already on
// its way gets 507 and leaves nothing; within a round no create_open names
// the device and nothing new lands on it; the files on it still read, from
// it; once space is freed it takes files again within a round.
func TestDiskFull(t *testing.T) {
	c := tmpfsCluster(t)
	f := startFaultRun(t, c, 1)

	filler, err := os.Create(filepath.Join(c.devDir(1), "filler"))
	if err != nil {
		t.Fatal(err)
	}
	chunk := make([]byte, 1<<20)
	for {
		if _, err = filler.Write(chunk); err != nil {
			break
		}
	}
	filler.Close()
	if !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("filling dev1: %v, want ENOSPC", err)
	}
	f.stalePut(http.StatusInsufficientStorage)
	f.waitStored(5)
	if st := f.observe(); st != "writeable" && st != "readable" {
		t.Errorf("full dev1 observed %q, want writeable or readable (reachable, no room)", st)
	}
	if free := c.mustDo(t, "get_devices", map[string]string{"devid": "1"})["dev1_mb_free"]; free != "0" && free != "1" {
		t.Errorf("get_devices shows %q MB free on the full dev1 a round after it filled, want 0 or 1", free)
	}
	if n := f.offered(1, 20); n != 0 {
		t.Errorf("%d of 20 create_opens after a round named the full dev1, want 0", n)
	}
	f.finish()
	f.readDirect()

	if err := os.Remove(filepath.Join(c.devDir(1), "filler")); err != nil {
		t.Fatal(err)
	}
	c.mustDo(t, "do_monitor_round", nil)
	if st := c.observedState(t, 1); st != "writeable" {
		t.Errorf("dev1 observed %q a round after space was freed, want writeable", st)
	}
	if n := f.offered(1, 10); n == 0 {
		t.Errorf("no create_open names dev1 a round after space was freed")
	}
}

// TestDiskReadOnly remounts dev2's file system read-only under load (as
// the kernel does after an I/O error with errors=remount-ro). Within a
// round it is observed readable; uploads and replicas go elsewhere; its
// files still read from it; remounted read-write it is writeable again
// within a round.
func TestDiskReadOnly(t *testing.T) {
	c := tmpfsCluster(t)
	f := startFaultRun(t, c, 2)
	dir := c.devDir(2)
	// The kernel refuses (EBUSY) while a file is open for writing on the
	// file system, as an upload in flight holds one for a moment.
	for deadline := time.Now().Add(10 * time.Second); ; {
		out, err := exec.Command("mount", "-o", "remount,ro", dir).CombinedOutput()
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("mount -o remount,ro %s: %v: %s", dir, err, out)
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Cleanup(func() { exec.Command("mount", "-o", "remount,rw", dir).Run() })

	f.stalePut(http.StatusInsufficientStorage)
	f.waitStored(5)
	if st := f.observe(); st != "readable" {
		t.Errorf("read-only dev2 observed %q after a round, want readable", st)
	}
	if n := f.offered(2, 20); n != 0 {
		t.Errorf("%d of 20 create_opens after a round named the read-only dev2, want 0", n)
	}
	f.finish()
	f.readDirect()

	run(t, "mount", "-o", "remount,rw", dir)
	c.mustDo(t, "do_monitor_round", nil)
	if st := c.observedState(t, 2); st != "writeable" {
		t.Errorf("dev2 observed %q a round after it was remounted read-write, want writeable", st)
	}
	if n := f.offered(2, 10); n == 0 {
		t.Errorf("no create_open names dev2 a round after it was remounted read-write")
	}
}

// TestDiskDirGone takes dev3's directory away under load (renamed: an
// unmounted or failed disk) and later brings back an empty one (a
// replaced disk). While it is gone a PUT to it gets 404, within a round it
// is observed unreachable, no create_open or get_paths names it and the
// files that had a copy on it read from their other copy. Back, it is
// writeable within a round, reads of the files whose copy it lost still
// work, and fsck copies them again.
func TestDiskDirGone(t *testing.T) {
	c := StartCluster(t, ClusterOpts{})
	f := startFaultRun(t, c, 3)
	dir := c.devDir(3)
	if err := os.Rename(dir, dir+".gone"); err != nil {
		t.Fatal(err)
	}
	f.stalePut(http.StatusNotFound)
	f.waitStored(5)
	if st := f.observe(); st != "unreachable" {
		t.Errorf("dev3 without its directory observed %q after a round, want unreachable", st)
	}
	if n := f.offered(3, 20); n != 0 {
		t.Errorf("%d of 20 create_opens after a round named dev3, want 0", n)
	}
	named := 0
	for _, key := range f.onBad {
		paths, err := f.cl.GetPaths(t.Context(), c.Opts.Domain, key, true, 0)
		if err != nil || len(paths) == 0 {
			t.Errorf("get_paths %s with dev3 gone = %v, %v", key, paths, err)
		}
		for _, p := range paths {
			if strings.Contains(p, "/dev3/") {
				named++
			}
		}
	}
	if named != 0 {
		t.Errorf("get_paths named dev3 %d times after a round without it, want 0", named)
	}
	f.finish()

	// An empty directory comes back: the copies on dev3 are lost.
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	c.mustDo(t, "do_monitor_round", nil)
	if st := c.observedState(t, 3); st != "writeable" {
		t.Errorf("dev3 observed %q a round after its directory came back, want writeable", st)
	}
	for _, key := range f.onBad {
		var got bytes.Buffer
		if _, err := f.cl.Fetch(t.Context(), c.Opts.Domain, key, &got); err != nil || !bytes.Equal(got.Bytes(), f.pre[key]) {
			t.Errorf("%s, whose dev3 copy is lost, reads %d bytes, %v", key, got.Len(), err)
		}
	}
	c.mustDo(t, "fsck_reset", map[string]string{"policy_only": "0"})
	c.mustDo(t, "fsck_start", nil)
	deadline := time.Now().Add(30 * time.Second)
	for _, key := range f.onBad {
		fid := fileFID(t, c, key)
		for len(c.replicaFiles(fid)) < 2 {
			if time.Now().After(deadline) {
				t.Fatalf("%s (fid %d) has %v on disk 30 s after fsck started, want two copies", key, fid, c.replicaFiles(fid))
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	c.mustDo(t, "fsck_stop", nil)
	for _, key := range f.onBad {
		f.devIDs(key, 2)
	}
}
