package integration

// Network faults between the trackers and clients (root namespace) and the
// storage nodes (each in its own namespace, netns_test.go): a node that
// accepts connections and never answers, a slow node, a partition cut and
// healed under load. netem is not available in our kernels (see
// netns_test.go), so a hung node is a SIGSTOPped stord, a slow node a tbf
// qdisc on its link, and a partition its link taken down.

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"mogfs/client"
	"mogfs/internal/testenv"
	"mogfs/metrics/metricstest"
)

// netTimeout is the clients' Config.Timeout in these tests, and the
// tracker's node_timeout and conn_timeout (their default).
const netTimeout = 2 * time.Second

// opBound is how long one client operation may take while a node hangs or
// is cut off: one stalled attempt (netTimeout) before the next path or
// destination, and slack for a loaded two-core machine. Without stall
// detection a GET waits 3×Timeout for headers and a PUT whose body fills
// the socket buffers never returns.
const opBound = 2*netTimeout + time.Second

// startNetCluster starts a tracker with a metrics address and nodes in
// network namespaces, and returns the cluster and the metrics URL.
func startNetCluster(t *testing.T, o ClusterOpts) (*Cluster, string) {
	t.Helper()
	requireNetns(t)
	maddr := net.JoinHostPort("127.0.0.1", strconv.Itoa(testenv.FreePort(t, "127.0.0.1")))
	o.Netns = true
	// Debug logs say which job waited on what, should a file be slow to
	// get its copies.
	o.TrackerArgs = append(o.TrackerArgs, "--log_level=debug", "--metrics_listen="+maddr,
		"--node_timeout="+strconv.Itoa(int(netTimeout/time.Second)), "--conn_timeout="+strconv.Itoa(int(netTimeout/time.Second)))
	return StartCluster(t, o), "http://" + maddr + "/metrics"
}

// netClient is a client with netTimeout, closed when the test ends.
func netClient(t *testing.T, c *Cluster) *client.Client {
	t.Helper()
	cl, err := client.New(client.Config{Trackers: append([]string(nil), c.Trackers...), Timeout: netTimeout})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cl.Close() })
	return cl
}

// goroutines scrapes the tracker's go_goroutines.
func goroutines(t *testing.T, metrics string) int {
	t.Helper()
	v, ok := metricstest.Scrape(t, metrics).Value("go_goroutines")
	if !ok {
		t.Fatalf("no go_goroutines at %s", metrics)
	}
	return int(v)
}

// waitGoroutines waits until the tracker runs at most want goroutines.
func waitGoroutines(t *testing.T, metrics string, want int, d time.Duration) {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		n := goroutines(t, metrics)
		if n <= want {
			t.Logf("tracker goroutines %d (at most %d)", n, want)
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("tracker runs %d goroutines %v after the fault ended, want at most %d: a leak", n, d, want)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// netLoad runs clients that store new files and fetch the stable ones
// while a fault is injected, timing every operation.
type netLoad struct {
	c      *Cluster
	stable map[string][32]byte // seeded keys with two copies (read-only under load): every fetch must succeed
	keys   []string            // stable's keys

	mu     sync.Mutex          // guards the fields below
	sent   map[string][32]byte // content hash of every key stored or attempted
	acked  map[string]time.Time
	starts map[string]time.Time // when each key's store began
	ops    int
	fails  []string // failed operations
	slow   []string // operations longer than opBound
	stop   chan struct{}
	wg     sync.WaitGroup
}

func newNetLoad(c *Cluster) *netLoad {
	return &netLoad{c: c, stable: map[string][32]byte{}, sent: map[string][32]byte{}, acked: map[string]time.Time{}, starts: map[string]time.Time{}, stop: make(chan struct{})}
}

// seed stores n files with copies everywhere before any fault, for the
// readers. It waits for the replicas.
func (l *netLoad) seed(t *testing.T, cl *client.Client, n int) {
	t.Helper()
	rng := rand.New(rand.NewPCG(1, 1))
	for i := range n {
		key := fmt.Sprintf("stable/%02d", i)
		body := randomBody(rng, 512<<10)
		if _, err := cl.Store(t.Context(), l.c.Opts.Domain, key, l.c.Opts.Class, bytes.NewReader(body), int64(len(body))); err != nil {
			t.Fatalf("seed %s: %v", key, err)
		}
		l.sent[key] = sha256.Sum256(body)
		l.acked[key] = time.Now()
		l.stable[key] = l.sent[key]
		l.keys = append(l.keys, key)
	}
	waitCopies(t, cl, l.c, l.keys, l.c.Opts.MinDevCount, 20*time.Second)
}

// run starts one worker per client: store a file, then fetch a stable
// key, then pause 20 ms, until stop. Every fourth file is of 0.5 to 1 MiB,
// so that a PUT to a hung node fills the socket buffers; the others are of
// up to 64 KiB, keeping the bytes to replicate afterwards small.
func (l *netLoad) run(t *testing.T, clients ...*client.Client) {
	for w, cl := range clients {
		l.wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(w), 2))
			for i := 0; ; i++ {
				select {
				case <-l.stop:
					return
				default:
				}
				key := fmt.Sprintf("load/w%d/%05d", w, i)
				body := randomBody(rng, 64<<10)
				if i%4 == 0 {
					body = append(randomBody(rng, 512<<10), make([]byte, 512<<10)...)
				}
				l.mu.Lock()
				l.sent[key] = sha256.Sum256(body)
				l.starts[key] = time.Now()
				l.mu.Unlock()
				l.op(t, "store "+key, func(ctx context.Context) error {
					_, err := cl.Store(ctx, l.c.Opts.Domain, key, l.c.Opts.Class, bytes.NewReader(body), int64(len(body)))
					if err == nil {
						l.mu.Lock()
						l.acked[key] = time.Now()
						l.mu.Unlock()
					}
					return err
				})
				stable := l.keys[rng.IntN(len(l.keys))]
				l.op(t, "fetch "+stable, func(ctx context.Context) error {
					var got bytes.Buffer
					if _, err := cl.Fetch(ctx, l.c.Opts.Domain, stable, &got); err != nil {
						return err
					}
					if sha256.Sum256(got.Bytes()) != l.stable[stable] {
						return fmt.Errorf("fetched %d bytes that are not the ones stored", got.Len())
					}
					return nil
				})
				time.Sleep(20 * time.Millisecond)
			}
		})
	}
}

// op runs f with a generous context deadline (so that the test itself never
// hangs), recording failures and operations over opBound.
func (l *netLoad) op(t *testing.T, what string, f func(ctx context.Context) error) {
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	start := time.Now()
	err := f(ctx)
	took := time.Since(start)
	l.mu.Lock()
	defer l.mu.Unlock()
	l.ops++
	if took > opBound {
		l.slow = append(l.slow, fmt.Sprintf("%s took %v (%v)", what, took.Round(time.Millisecond), err))
	}
	if err != nil {
		l.fails = append(l.fails, fmt.Sprintf("%s after %v: %v", what, took.Round(time.Millisecond), err))
	}
}

// halt stops the workers and waits for them.
func (l *netLoad) halt() {
	close(l.stop)
	l.wg.Wait()
}

// ackedBetween returns the uploads that began after from and were
// acknowledged before to.
func (l *netLoad) ackedBetween(from, to time.Time) []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var keys []string
	for key, at := range l.acked {
		if s, ok := l.starts[key]; ok && s.After(from) && at.Before(to) {
			keys = append(keys, key)
		}
	}
	return keys
}

// check reports slow operations, and failed ones: none may fail, since
// every fault leaves two nodes working.
func (l *netLoad) check(t *testing.T) {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	t.Logf("%d operations, %d acknowledged uploads, %d failed, %d over %v", l.ops, len(l.acked)-len(l.stable), len(l.fails), len(l.slow), opBound)
	if len(l.slow) > 0 {
		t.Errorf("%d operations took longer than %v: %q", len(l.slow), opBound, l.slow[:min(len(l.slow), 5)])
	}
	if len(l.fails) > 0 {
		t.Errorf("%d operations failed with two nodes working: %q", len(l.fails), l.fails[:min(len(l.fails), 5)])
	}
}

// verify reads back every acknowledged key with its bytes, and waits
// until each has its copy count.
func (l *netLoad) verify(t *testing.T, cl *client.Client, d time.Duration) {
	t.Helper()
	l.mu.Lock()
	keys := make([]string, 0, len(l.acked))
	for k := range l.acked {
		keys = append(keys, k)
	}
	l.mu.Unlock()
	slices.Sort(keys)
	for _, key := range keys {
		var got bytes.Buffer
		if _, err := cl.Fetch(t.Context(), l.c.Opts.Domain, key, &got); err != nil || sha256.Sum256(got.Bytes()) != l.sent[key] {
			t.Errorf("acknowledged %s reads back wrong (%d bytes, %v)", key, got.Len(), err)
		}
	}
	waitCopies(t, cl, l.c, keys, l.c.Opts.MinDevCount, d)
}

// copiesWithin waits up to d for every key to have n copies and returns
// how many do not.
func copiesWithin(t *testing.T, cl *client.Client, c *Cluster, keys []string, n int, d time.Duration) int {
	t.Helper()
	deadline := time.Now().Add(d)
	short := 0
	for _, key := range keys {
		for {
			fi, err := cl.FileInfo(t.Context(), c.Opts.Domain, key)
			if err == nil && fi.DevCount >= n {
				break
			}
			if time.Now().After(deadline) {
				short++
				break
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	return short
}

// waitCopies waits until every key has at least n copies.
func waitCopies(t *testing.T, cl *client.Client, c *Cluster, keys []string, n int, d time.Duration) {
	t.Helper()
	deadline := time.Now().Add(d)
	for _, key := range keys {
		for {
			fi, err := cl.FileInfo(t.Context(), c.Opts.Domain, key)
			if err == nil && fi.DevCount >= n {
				break
			}
			if time.Now().After(deadline) {
				dbg, _ := c.Do(t, "file_debug", map[string]string{"domain": c.Opts.Domain, "key": key})
				t.Fatalf("%s has %d copies after %v (%v), want %d; file_debug: %v", key, fi.DevCount, d, err, n, dbg)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
}

// TestNetHungNode: while three clients store and fetch, one node is
// SIGSTOPped, so that it accepts connections (the kernel fills its listen
// backlog) and answers nothing; see faultUnderLoad for what must hold.
func TestNetHungNode(t *testing.T) {
	c, metrics := startNetCluster(t, ClusterOpts{})
	hung := c.Nodes[2].Cmd.Process
	faultUnderLoad(t, c, metrics, "hung", func() error { return hung.Signal(syscall.SIGSTOP) },
		func() error { return hung.Signal(syscall.SIGCONT) })
}

// faultTime is how long faultUnderLoad keeps a fault on, and faultSeen how
// long the tracker may take to notice it (a monitor round, 0.5 s, and a
// probe's timeout, 2 s, with slack).
const (
	faultTime = 7 * time.Second
	faultSeen = 3 * time.Second
)

// faultUnderLoad seeds files with two copies, then runs three clients
// that store new files and fetch the seeded ones while node 3 is put out
// of service by inject for faultTime and brought back by restore. While
// it is out, no operation may hang: each ends within opBound, and all
// succeed on the two other nodes; uploads go on once the tracker has seen
// the node gone, and replication among the others goes on too. Once it is
// back, every acknowledged upload reads back with its bytes and reaches
// two copies, and the tracker's goroutines return to their number before
// the fault.
func faultUnderLoad(t *testing.T, c *Cluster, metrics, fault string, inject, restore func() error) {
	l := newNetLoad(c)
	clients := []*client.Client{netClient(t, c), netClient(t, c), netClient(t, c)}
	l.seed(t, clients[0], 12)
	// The same load for a second fills the idle pools as it will be
	// filled later, so that the goroutine baseline is comparable.
	l.run(t, clients...)
	time.Sleep(time.Second)
	l.halt()
	time.Sleep(500 * time.Millisecond)
	base := goroutines(t, metrics)

	l.stop = make(chan struct{})
	l.run(t, clients...)
	time.Sleep(500 * time.Millisecond)
	if err := inject(); err != nil {
		t.Fatal(err)
	}
	out := true
	t.Cleanup(func() { // should the test end early
		if out {
			restore()
		}
	})
	at := time.Now()
	time.Sleep(faultTime - time.Second)
	// Uploads acknowledged after the tracker saw the node gone went to
	// the others, and the replicator, not held up by the node, copies
	// them between the others while it is still out. It gets a few
	// seconds for a backlog on a loaded machine (CI fell behind one
	// second); held up, each copy involving the node would have waited
	// 45 s and more.
	during := l.ackedBetween(at.Add(faultSeen), at.Add(faultTime-2*time.Second))
	if len(during) < 5 {
		t.Errorf("only %d uploads acknowledged while the node was %s and seen so: want uploads to go on", len(during), fault)
	}
	if n := copiesWithin(t, clients[0], c, during, 2, 5*time.Second); n > 0 {
		t.Errorf("%d of %d uploads acknowledged while the node was %s have one copy 5 s later, the node still out: replication stalled", n, len(during), fault)
	}
	if err := restore(); err != nil {
		t.Fatal(err)
	}
	out = false
	back := time.Now()
	time.Sleep(time.Second)
	l.halt()
	l.check(t)
	t.Logf("%d uploads acknowledged while the node was %s, after the tracker saw it", len(during), fault)

	l.verify(t, clients[0], 30*time.Second)
	t.Logf("every acknowledged upload has its copies %v after the node came back", time.Since(back).Round(time.Millisecond))
	for _, cl := range clients {
		cl.Close()
	}
	// The tracker's pool of node connections may keep a few more idle
	// (two goroutines each) than after the warm-up; a goroutine stuck per
	// operation that met the fault would be hundreds.
	t.Logf("tracker goroutines before the fault: %d", base)
	waitGoroutines(t, metrics, base+20, 20*time.Second)
}

// TestNetSlowNode: one node's link is narrowed with tbf and kept busy by a
// bulk reader, so its answers queue behind the transfer. Once the monitor
// has seen its probes answered slowly, get_paths names its copy last;
// reads of files with copies on it still succeed. With the link back to
// normal it is ordered like the others again.
func TestNetSlowNode(t *testing.T) {
	c, _ := startNetCluster(t, ClusterOpts{Class: "three", MinDevCount: 3})
	cl := netClient(t, c)
	dom := c.Opts.Domain
	var keys []string
	sent := map[string]string{}
	for i := range 8 {
		key := fmt.Sprintf("slow/%d", i)
		body := strings.Repeat(key+" ", 4000)
		if _, err := cl.Store(t.Context(), dom, key, c.Opts.Class, strings.NewReader(body), int64(len(body))); err != nil {
			t.Fatal(err)
		}
		keys = append(keys, key)
		sent[key] = body
	}
	big := bytes.Repeat([]byte("bulk"), 2<<20) // 8 MiB for the bulk reader
	if _, err := cl.Store(t.Context(), dom, "slow/big", c.Opts.Class, bytes.NewReader(big), int64(len(big))); err != nil {
		t.Fatal(err)
	}
	waitCopies(t, cl, c, append(keys, "slow/big"), 3, 20*time.Second)
	slow := c.Nodes[2]

	// position returns where slow's copy of key comes in get_paths (0
	// first), -1 when absent.
	position := func(key string) int {
		t.Helper()
		paths, err := cl.GetPaths(t.Context(), dom, key, true, 3)
		if err != nil {
			t.Fatalf("get_paths %s: %v", key, err)
		}
		for i, p := range paths {
			if u, err := url.Parse(p); err == nil && u.Hostname() == slow.IP {
				return i
			}
		}
		return -1
	}
	// firstSometimes waits until the node's copy comes first: the order
	// is random among hosts that are not slow.
	firstSometimes := func(what string) {
		t.Helper()
		start := time.Now()
		for i := 0; time.Since(start) < 10*time.Second; i++ {
			if position(keys[i%len(keys)]) == 0 {
				t.Logf("%s: the node's copy came first after %d get_paths, %v", what, i+1, time.Since(start).Round(time.Millisecond))
				return
			}
			time.Sleep(10 * time.Millisecond)
		}
		t.Fatalf("%s: the node's copy never came first in get_paths for 10s", what)
	}
	firstSometimes("before the fault")

	// Shape the link and keep it busy: two readers pull the big file
	// straight from the node.
	slow.Net.Shape(t, "4mbit", "100ms")
	var bigURL string
	paths, err := cl.GetPaths(t.Context(), dom, "slow/big", true, 3)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range paths {
		if strings.Contains(p, "//"+slow.IP+":") {
			bigURL = p
		}
	}
	if bigURL == "" {
		t.Fatalf("get_paths slow/big names no copy on the node: %q", paths)
	}
	hog, stopHog := context.WithCancel(t.Context())
	var hogs sync.WaitGroup
	for range 2 {
		hogs.Go(func() {
			for hog.Err() == nil {
				rc, err := cl.ReadRange(hog, bigURL, 0, 0)
				if err == nil {
					io.Copy(io.Discard, rc)
					rc.Close()
				}
			}
		})
	}
	defer func() { stopHog(); hogs.Wait() }()

	start := time.Now()
	deadline := start.Add(20 * time.Second)
	for streak := 0; streak < 30; {
		if position(keys[streak%len(keys)]) == 2 {
			streak++
			continue
		}
		streak = 0
		if time.Now().After(deadline) {
			t.Fatalf("get_paths still does not name the slow node last %v after its link was narrowed", time.Since(start))
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Logf("get_paths names the slow node last %v after its link was narrowed", time.Since(start).Round(time.Millisecond))
	for _, key := range keys {
		var got bytes.Buffer
		fs := time.Now()
		if _, err := cl.Fetch(t.Context(), dom, key, &got); err != nil || got.String() != sent[key] {
			t.Errorf("fetch %s beside the slow node: %d bytes, %v", key, got.Len(), err)
		}
		if took := time.Since(fs); took > time.Second {
			t.Errorf("fetch %s took %v: it went to the slow node", key, took)
		}
	}
	// Slow is not gone: its own copy still reads, behind the bulk reader.
	paths, err = cl.GetPaths(t.Context(), dom, keys[0], true, 3)
	if err != nil || len(paths) != 3 {
		t.Fatalf("get_paths %s = %q, %v; want 3 paths", keys[0], paths, err)
	}
	rc, err := cl.ReadRange(t.Context(), paths[2], 0, 0)
	if err != nil {
		t.Fatalf("read %s from the slow node: %v", keys[0], err)
	}
	got, err := io.ReadAll(rc)
	rc.Close()
	if err != nil || string(got) != sent[keys[0]] {
		t.Errorf("read %s from the slow node: %d bytes, %v", keys[0], len(got), err)
	}

	stopHog()
	hogs.Wait()
	slow.Net.Unshape(t)
	firstSometimes("after the link was restored")
}

// TestNetPartition: while three clients store and fetch, one node's link
// is cut (silently: packets to it vanish) and healed; see faultUnderLoad
// for what must hold. Among the uploads to check are those whose only
// copy was behind the cut when it was made.
func TestNetPartition(t *testing.T) {
	c, metrics := startNetCluster(t, ClusterOpts{})
	ns := c.Nodes[2].Net
	faultUnderLoad(t, c, metrics, "cut off", func() error { return ns.Cut() }, func() error { return ns.Heal() })
}
