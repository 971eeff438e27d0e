package integration

// Network namespaces for the network fault tests (netfault_test.go).
//
// A node with ClusterOpts.Netns runs inside its own namespace, joined to the
// root namespace (trackers, clients) by a veth pair on a /30 of its own:
// 10.213.N.1 on the root side, 10.213.N.2 (the node's address) inside.
// The test creates the namespace, the pair, the addresses and a guard route,
// and removes them in t.Cleanup, so every address a test uses lives inside
// these namespaces and nothing addressed to a node leaves the machine.
//
// Faults are injected on that link:
//   - partition: Cut takes the namespace's end down. The root end loses its
//     carrier but keeps its route, so packets to the node are dropped
//     silently (ARP fails, connects time out, established connections
//     stall), as with a dead switch port; Heal brings it back.
//   - slow node: Shape puts a tbf qdisc on both ends, a narrow link whose
//     queue delays every packet once traffic fills it.
//
// tc's netem (delay, loss) would be the usual tool, but the kernels our CI
// runs on are built without sch_netem; tbf, htb and pfifo are there. A node
// that accepts connections and never answers is a SIGSTOPped stord: the
// kernel still completes handshakes into its listen backlog.

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"mogfs/internal/testenv"
)

// Netns is one storage node's network namespace and its link to the root
// namespace.
type Netns struct {
	Name     string // ip netns name
	HostVeth string // the pair's end in the root namespace
	NodeVeth string // the pair's end inside Name
	HostIP   string // address of HostVeth
	NodeIP   string // address of NodeVeth, where the node listens
	prefix   string // the pair's /30
}

// requireNetns skips (fails under CI) unless we may create namespaces and
// qdiscs: root, with ip and tc on PATH.
func requireNetns(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		testenv.Missing(t, "network namespaces need root")
	}
	for _, tool := range []string{"ip", "tc"} {
		if _, err := exec.LookPath(tool); err != nil {
			testenv.Missing(t, "no %s on PATH (apt-get install iproute2)", tool)
		}
	}
}

// NewNetns creates a namespace linked to the root namespace by a veth pair
// on a free 10.213.N.0/30, and removes it all when the test ends. Slot N is
// held with an flock on a file in the temp directory, so concurrent test
// processes never share one; what a killed earlier run left in a slot is
// removed when the slot is taken.
func NewNetns(t testing.TB) *Netns {
	t.Helper()
	requireNetns(t)
	for n := 1; n <= 254; n++ {
		lock, err := os.OpenFile(filepath.Join(os.TempDir(), fmt.Sprintf("mogfs-netns-%d.lock", n)), os.O_CREATE|os.O_RDWR, 0o600)
		if err != nil {
			t.Fatal(err)
		}
		// flock locks belong to the open file, so a second NewNetns in
		// this process skips the slot too.
		if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
			lock.Close()
			continue
		}
		ns := &Netns{
			Name:     fmt.Sprintf("mogfs-net%d", n),
			HostVeth: fmt.Sprintf("mogfs%d", n),
			NodeVeth: "eth0",
			HostIP:   fmt.Sprintf("10.213.%d.1", n),
			NodeIP:   fmt.Sprintf("10.213.%d.2", n),
			prefix:   fmt.Sprintf("10.213.%d.0/30", n),
		}
		ns.remove() // leftovers of a run killed before its cleanup
		if out, _ := exec.Command("ip", "-4", "-o", "addr", "show", "to", fmt.Sprintf("10.213.%d.0/24", n)).Output(); len(out) > 0 {
			lock.Close() // the addresses are someone else's
			continue
		}
		t.Cleanup(func() {
			if err := ns.remove(); err != nil {
				t.Errorf("remove %s: %v", ns.Name, err)
			}
			lock.Close()
		})
		ns.ip(t, "netns", "add", ns.Name)
		ns.ip(t, "link", "add", ns.HostVeth, "type", "veth", "peer", "name", ns.NodeVeth, "netns", ns.Name)
		ns.ip(t, "addr", "add", ns.HostIP+"/30", "dev", ns.HostVeth)
		ns.ip(t, "link", "set", ns.HostVeth, "up")
		// Should the root end ever go down, its connected route goes with
		// it; this route (with a worse metric) then drops the packets
		// instead of the default route sending them off the machine.
		ns.ip(t, "route", "add", "blackhole", ns.prefix, "metric", "4242")
		ns.ip(t, "-n", ns.Name, "addr", "add", ns.NodeIP+"/30", "dev", ns.NodeVeth)
		ns.ip(t, "-n", ns.Name, "link", "set", ns.NodeVeth, "up")
		ns.ip(t, "-n", ns.Name, "link", "set", "lo", "up")
		return ns
	}
	t.Fatal("netns: no free slot in 10.213.1-254.0/30")
	return nil
}

// remove deletes the pair (with its qdiscs), the guard route and the
// namespace. It reports the first failure other than "already gone".
func (ns *Netns) remove() error {
	var first error
	for _, args := range [][]string{
		{"link", "del", ns.HostVeth},
		{"route", "del", "blackhole", ns.prefix, "metric", "4242"},
		{"netns", "del", ns.Name},
	} {
		out, err := exec.Command("ip", args...).CombinedOutput()
		gone := strings.Contains(string(out), "Cannot find") || strings.Contains(string(out), "No such") ||
			strings.Contains(string(out), "does not exist")
		if err != nil && !gone && first == nil {
			first = fmt.Errorf("ip %s: %v: %s", strings.Join(args, " "), err, out)
		}
	}
	return first
}

// Exec returns the command line that runs bin with args inside the
// namespace. ip execs bin after entering it, so the process's PID is bin's
// and signals reach it directly.
func (ns *Netns) Exec(bin string, args ...string) (string, []string) {
	return "ip", append([]string{"netns", "exec", ns.Name, bin}, args...)
}

// Cut takes the namespace's end of the link down: a silent partition.
func (ns *Netns) Cut() error {
	return ipErr("-n", ns.Name, "link", "set", ns.NodeVeth, "down")
}

// Heal brings the link back up.
func (ns *Netns) Heal() error {
	return ipErr("-n", ns.Name, "link", "set", ns.NodeVeth, "up")
}

// Shape limits both directions of the link to rate (tc syntax, "2mbit")
// with a token bucket filter whose queue holds latency's worth of packets
// ("100ms"); packets beyond that are dropped.
func (ns *Netns) Shape(t testing.TB, rate, latency string) {
	t.Helper()
	tbf := []string{"qdisc", "replace", "dev", "", "root", "tbf", "rate", rate, "burst", "16kb", "latency", latency}
	tbf[3] = ns.HostVeth
	ns.tc(t, tbf...)
	tbf[3] = ns.NodeVeth
	ns.tc(t, append([]string{"-n", ns.Name}, tbf...)...)
}

// Unshape removes what Shape set.
func (ns *Netns) Unshape(t testing.TB) {
	t.Helper()
	ns.tc(t, "qdisc", "del", "dev", ns.HostVeth, "root")
	ns.tc(t, "-n", ns.Name, "qdisc", "del", "dev", ns.NodeVeth, "root")
}

func (ns *Netns) ip(t testing.TB, args ...string) { t.Helper(); netTool(t, "ip", args...) }
func (ns *Netns) tc(t testing.TB, args ...string) { t.Helper(); netTool(t, "tc", args...) }

// ipErr runs ip with args, returning its output with any failure.
func ipErr(args ...string) error {
	if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
		return fmt.Errorf("ip %s: %v: %s", strings.Join(args, " "), err, out)
	}
	return nil
}

func netTool(t testing.TB, tool string, args ...string) {
	t.Helper()
	if out, err := exec.Command(tool, args...).CombinedOutput(); err != nil {
		t.Fatalf("%s %s: %v: %s", tool, strings.Join(args, " "), err, out)
	}
}
