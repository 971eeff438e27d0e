package integration

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"mogfs/client"
	"mogfs/internal/testenv"
	"mogfs/protocol"
)

// ClusterOpts describes a test cluster; zero fields take the defaults noted.
type ClusterOpts struct {
	Nodes       int // 3
	DevsPerNode int // 1
	// DSN, DBUser, DBPass name the metadata database; "" is SQLite in
	// t.TempDir().
	DSN, DBUser, DBPass string
	Domain              string // "testdom"
	Class               string // "two"
	MinDevCount         int    // 2
	// TrackerArgs are extra trackerd flags.
	TrackerArgs []string
	// TrackerEnv are extra environment variables ("K=V") for trackerd,
	// e.g. an LD_PRELOAD library.
	TrackerEnv []string
	// DevSetup, when set, prepares each device directory (created, empty)
	// before its node starts, e.g. mounts a small file system on it.
	DevSetup func(t testing.TB, devid int, dir string)
	// NodeArgs are extra stord flags, for every node.
	NodeArgs []string
	// Netns runs each node in its own network namespace behind a veth
	// pair (netns_test.go) instead of on a loopback address, so that a
	// test can shape or cut its link. Needs root and iproute2.
	Netns bool
}

// Node is one stord process on its own loopback IP (or, with
// ClusterOpts.Netns, in its own network namespace) with the default ports.
type Node struct {
	IP      string
	HTTP    string // ip:7500
	Docroot string
	DevIDs  []int
	HostID  int
	Cmd     *exec.Cmd
	Net     *Netns // the node's network namespace; nil: the root one
}

// Cluster is a running set of trackerd and stord processes.
type Cluster struct {
	Bin      string
	Dir      string
	Trackers []string // "127.0.0.1:port"
	Nodes    []*Node
	Opts     ClusterOpts

	mu       sync.Mutex // guards trackers
	trackers []*exec.Cmd
}

func (o ClusterOpts) withDefaults(dir string) ClusterOpts {
	if o.Nodes == 0 {
		o.Nodes = 3
	}
	if o.DevsPerNode == 0 {
		o.DevsPerNode = 1
	}
	if o.DSN == "" {
		o.DSN = "DBI:SQLite:dbname=" + filepath.Join(dir, "mogilefs.db")
	}
	if o.Domain == "" {
		o.Domain = "testdom"
	}
	if o.Class == "" {
		o.Class = "two"
	}
	if o.MinDevCount == 0 {
		o.MinDevCount = 2
	}
	return o
}

// StartCluster builds the binaries once, starts one trackerd and the
// storage nodes, registers hosts, devices, domain and class with the raw
// protocol, and waits until every device is observed writeable.
func StartCluster(t testing.TB, o ClusterOpts) *Cluster {
	t.Helper()
	dir := t.TempDir()
	c := &Cluster{Bin: testenv.Binaries(t), Dir: dir, Opts: o.withDefaults(dir)}
	c.StartTracker(t)
	devid := 0
	for i := range c.Opts.Nodes {
		var ns *Netns
		var ip string
		if c.Opts.Netns {
			ns = NewNetns(t)
			ip = ns.NodeIP
		} else {
			ip = testenv.LoopbackIP(t, 7500, 7501)
		}
		n := &Node{IP: ip, HTTP: ip + ":7500", Docroot: filepath.Join(dir, fmt.Sprintf("node%d", i+1)), Net: ns}
		for range c.Opts.DevsPerNode {
			devid++
			n.DevIDs = append(n.DevIDs, devid)
			dir := filepath.Join(n.Docroot, fmt.Sprintf("dev%d", devid))
			if err := os.MkdirAll(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			if c.Opts.DevSetup != nil {
				c.Opts.DevSetup(t, devid, dir)
			}
		}
		c.Nodes = append(c.Nodes, n)
		c.StartNode(t, i)
	}
	if c.Opts.Netns {
		// Stop the trackers before the namespaces go (cleanups run last
		// first): with a node's link gone its address would route off
		// the machine.
		t.Cleanup(func() {
			c.mu.Lock()
			n := len(c.trackers)
			c.mu.Unlock()
			for i := range n {
				c.StopTracker(t, i)
			}
		})
	}
	c.mustDo(t, "create_domain", map[string]string{"domain": c.Opts.Domain})
	c.mustDo(t, "create_class", map[string]string{"domain": c.Opts.Domain, "class": c.Opts.Class, "mindevcount": strconv.Itoa(c.Opts.MinDevCount)})
	for i, n := range c.Nodes {
		name := fmt.Sprintf("node%d", i+1)
		res := c.mustDo(t, "create_host", map[string]string{"host": name, "ip": n.IP, "port": "7500", "status": "alive"})
		n.HostID, _ = strconv.Atoi(res["hostid"])
		for _, d := range n.DevIDs {
			c.mustDo(t, "create_device", map[string]string{"hostname": name, "devid": strconv.Itoa(d), "state": "alive"})
		}
	}
	c.WaitObserved(t, "writeable", c.allDevIDs()...)
	return c
}

func (c *Cluster) allDevIDs() []int {
	var out []int
	for _, n := range c.Nodes {
		out = append(out, n.DevIDs...)
	}
	return out
}

// WaitObserved waits until every listed device has the observed state
// (writeable, readable, unreachable) on the first tracker.
func (c *Cluster) WaitObserved(t testing.TB, state string, devids ...int) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		res, err := c.Do(t, "get_devices", nil)
		if err == nil {
			obs := map[string]string{}
			n, _ := strconv.Atoi(res["devices"])
			for i := 1; i <= n; i++ {
				obs[res[fmt.Sprintf("dev%d_devid", i)]] = res[fmt.Sprintf("dev%d_observed_state", i)]
			}
			ok := true
			for _, d := range devids {
				if obs[strconv.Itoa(d)] != state {
					ok = false
				}
			}
			if ok {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("devices %v not %s after 20s: %v %v", devids, state, res, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// logTo streams a process's output into the test log.
func logTo(t testing.TB, name string) *os.File {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	out := t.Output()
	go func() {
		sc := bufio.NewScanner(r)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			fmt.Fprintf(out, "%s: %s\n", name, sc.Text())
		}
		r.Close()
	}()
	return w
}

func start(t testing.TB, name string, bin string, args ...string) *exec.Cmd {
	t.Helper()
	return startEnv(t, name, nil, bin, args...)
}

// startEnv is start with extra environment variables ("K=V") on top of ours.
func startEnv(t testing.TB, name string, env []string, bin string, args ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(bin, args...)
	if len(env) > 0 {
		cmd.Env = append(os.Environ(), env...)
	}
	w := logTo(t, name)
	cmd.Stdout, cmd.Stderr = w, w
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	w.Close()
	t.Cleanup(func() { kill(cmd) })
	return cmd
}

// kill stops a process we started, by PID, and reaps it.
func kill(cmd *exec.Cmd) {
	if cmd == nil || cmd.Process == nil || cmd.ProcessState != nil {
		return
	}
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()
}

// StartTracker starts another trackerd on the same database and returns
// its address.
func (c *Cluster) StartTracker(t testing.TB) string {
	t.Helper()
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(testenv.FreePort(t, "127.0.0.1")))
	c.mu.Lock()
	i := len(c.trackers)
	c.trackers = append(c.trackers, nil)
	c.Trackers = append(c.Trackers, addr)
	c.mu.Unlock()
	c.startTrackerAt(t, i, addr)
	return addr
}

// RestartTracker kills tracker i (SIGKILL) and starts it again on its
// address, as a supervisor restarts a crashed daemon.
func (c *Cluster) RestartTracker(t testing.TB, i int) {
	t.Helper()
	c.StopTracker(t, i)
	c.mu.Lock()
	addr := c.Trackers[i]
	c.mu.Unlock()
	c.startTrackerAt(t, i, addr)
}

func (c *Cluster) startTrackerAt(t testing.TB, i int, addr string) {
	t.Helper()
	args := []string{"--listen", addr, "--db_dsn", c.Opts.DSN, "--db_user", c.Opts.DBUser, "--db_pass", c.Opts.DBPass,
		"--monitor_interval", "0.5", "--log_level", "info"}
	args = append(args, c.Opts.TrackerArgs...)
	cmd := startEnv(t, fmt.Sprintf("trackerd%d", i), c.Opts.TrackerEnv, filepath.Join(c.Bin, "trackerd"), args...)
	testenv.WaitListening(t, addr, 15*time.Second)
	c.mu.Lock()
	c.trackers[i] = cmd
	c.mu.Unlock()
}

// StopTracker kills tracker i (SIGKILL by PID).
func (c *Cluster) StopTracker(t testing.TB, i int) {
	t.Helper()
	c.mu.Lock()
	cmd := c.trackers[i]
	c.mu.Unlock()
	kill(cmd)
}

// StopNode kills storage node i.
func (c *Cluster) StopNode(t testing.TB, i int) {
	t.Helper()
	kill(c.Nodes[i].Cmd)
}

// StartNode (re)starts storage node i on its address and docroot.
func (c *Cluster) StartNode(t testing.TB, i int) {
	t.Helper()
	n := c.Nodes[i]
	bin, args := filepath.Join(c.Bin, "stord"), append([]string{
		"--httplisten", n.IP + ":7500", "--mgmtlisten", n.IP + ":7501", "--docroot", n.Docroot}, c.Opts.NodeArgs...)
	if n.Net != nil {
		bin, args = n.Net.Exec(bin, args...) // ip execs stord: n.Cmd's PID is stord's
	}
	n.Cmd = start(t, fmt.Sprintf("stord%d", i+1), bin, args...)
	testenv.WaitListening(t, n.HTTP, 15*time.Second)
}

// Do sends one raw protocol request to the first live tracker.
func (c *Cluster) Do(t testing.TB, cmd string, args map[string]string) (map[string]string, error) {
	t.Helper()
	return c.DoAt(t, c.Trackers[0], cmd, args)
}

// DoAt sends one raw protocol request to the tracker at addr.
func (c *Cluster) DoAt(t testing.TB, addr, cmd string, args map[string]string) (map[string]string, error) {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(30 * time.Second))
	if _, err := conn.Write([]byte(protocol.FormatRequest(cmd, args))); err != nil {
		return nil, err
	}
	line, err := bufio.NewReader(conn).ReadString('\n')
	if err != nil {
		return nil, err
	}
	return protocol.ParseResponse(strings.TrimRight(line, "\r\n"))
}

func (c *Cluster) mustDo(t testing.TB, cmd string, args map[string]string) map[string]string {
	t.Helper()
	res, err := c.Do(t, cmd, args)
	if err != nil {
		t.Fatalf("%s %v: %v", cmd, args, err)
	}
	return res
}

// Client returns a client library instance over every tracker.
func (c *Cluster) Client(t testing.TB) *client.Client {
	t.Helper()
	cl, err := client.New(client.Config{Trackers: append([]string(nil), c.Trackers...)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cl.Close() })
	return cl
}
