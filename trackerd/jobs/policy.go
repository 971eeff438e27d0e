package jobs

import (
	"cmp"
	"fmt"
	"math/rand/v2"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"mogfs/trackerd/monitor"
)

// PolicyKind names a replication policy.
type PolicyKind int

// The supported policies (behaviours.md §6.1–6.4). MultipleNetworks and
// HostsPerNetwork are the MogileFS-Network plugin's (policy_net.go).
const (
	MultipleHosts PolicyKind = iota + 1
	MultipleDevices
	MultipleNetworks
	HostsPerNetwork
)

var policyNames = map[PolicyKind]string{
	MultipleHosts:    "MultipleHosts",
	MultipleDevices:  "MultipleDevices",
	MultipleNetworks: "MultipleNetworks",
	HostsPerNetwork:  "HostsPerNetwork",
}

// Policy is a parsed class.replpolicy. N is the explicit copy count, 0 meaning
// "the class's mindevcount"; HostsPerNetwork has PerZone instead.
type Policy struct {
	Kind    PolicyKind
	N       int
	PerZone []ZoneCount // HostsPerNetwork: the hosts wanted in each zone, as written
}

// ZoneCount is one zone=count argument of HostsPerNetwork.
type ZoneCount struct {
	Zone string
	N    int
}

var (
	policyRE  = regexp.MustCompile(`^\s*(?:MogileFS::ReplicationPolicy::)?(\w+)\(([^()]*)\)\s*$`)
	zoneArgRE = regexp.MustCompile(`^\s*([^\s=,()]+)\s*=\s*(\d+)\s*$`)
)

// ParsePolicy parses a replpolicy string: "" means MultipleHosts(); accepted
// are MultipleHosts(), MultipleDevices() and MultipleNetworks(), each also
// with a count (N), and HostsPerNetwork(zone=N,...) with at least one zone
// and one count above 0 (all with or without the
// MogileFS::ReplicationPolicy:: prefix). Anything else is ErrUnknownPolicy.
func ParsePolicy(s string) (Policy, error) {
	if strings.TrimSpace(s) == "" {
		return Policy{Kind: MultipleHosts}, nil
	}
	bad := fmt.Errorf("%w: %q", ErrUnknownPolicy, s)
	m := policyRE.FindStringSubmatch(s)
	if m == nil {
		return Policy{}, bad
	}
	var p Policy
	for k, name := range policyNames {
		if name == m[1] {
			p.Kind = k
		}
	}
	switch p.Kind {
	case 0:
		return Policy{}, bad
	case HostsPerNetwork:
		total := 0
		for arg := range strings.SplitSeq(m[2], ",") {
			zm := zoneArgRE.FindStringSubmatch(arg)
			if zm == nil {
				return Policy{}, bad
			}
			n, err := strconv.Atoi(zm[2])
			if err != nil || n > 255 || slices.ContainsFunc(p.PerZone, func(z ZoneCount) bool { return z.Zone == zm[1] }) {
				return Policy{}, bad
			}
			p.PerZone = append(p.PerZone, ZoneCount{zm[1], n})
			total += n
		}
		if total == 0 {
			return Policy{}, bad
		}
		return p, nil
	}
	if a := strings.TrimSpace(m[2]); a != "" {
		n, err := strconv.Atoi(a)
		if err != nil || strings.Trim(a, "0123456789") != "" || n > 255 {
			return Policy{}, bad
		}
		p.N = n
	}
	return p, nil
}

// String formats the policy as the original writes it.
func (p Policy) String() string {
	name := policyNames[p.Kind]
	if name == "" {
		name = policyNames[MultipleHosts]
	}
	switch {
	case p.Kind == HostsPerNetwork:
		args := make([]string, len(p.PerZone))
		for i, z := range p.PerZone {
			args[i] = z.Zone + "=" + strconv.Itoa(z.N)
		}
		return name + "(" + strings.Join(args, ",") + ")"
	case p.N == 0:
		return name + "()"
	}
	return fmt.Sprintf("%s(%d)", name, p.N)
}

// verdict is a policy's answer (ReplicationRequest.pm).
type verdict int

const (
	allGood  verdict = iota + 1 // happy
	tooGood                     // happy but over-replicated
	noAnswer                    // unhappy, nothing to suggest (TEMP_NO_ANSWER)
	request                     // unhappy; copy to ideal, else desperate
)

// placement is the input of a policy evaluation.
type placement struct {
	snap *monitor.Snapshot
	on   []int        // devices holding a copy that count
	skip map[int]bool // devices never to count or suggest (failed this run, drain)
	min  int          // class mindevcount
	// drainCounts makes copies on drain devices count, as in the original
	// (fsck); the replicator leaves it false so drain devices get emptied.
	drainCounts bool
}

// minCopies is the policy's copy count: N when given, else mindevcount.
func (pl placement) minCopies(p Policy) int {
	if p.N > 0 {
		return p.N
	}
	return pl.min
}

// counts reports whether a copy on devid counts toward the policy.
func (pl placement) counts(devid int) bool {
	return pl.snap.ShouldHaveFiles(devid) && (pl.drainCounts || pl.snap.Devices[devid].Status != "drain")
}

// evaluate applies the policy. ideal and desperate are ordered destination
// lists (only for request).
func (p Policy) evaluate(pl placement, rng *rand.Rand) (v verdict, ideal, desperate []int) {
	switch p.Kind {
	case MultipleNetworks:
		return p.evalNetworks(pl, rng)
	case HostsPerNetwork:
		return p.evalPerZone(pl, rng)
	}
	min := pl.minCopies(p)
	onSet := map[int]bool{}
	hostsOn := map[int]bool{}
	for _, d := range pl.on {
		onSet[d] = true
		hostsOn[pl.snap.Devices[d].HostID] = true
	}
	on := len(onSet)
	totalDisks := 0
	aliveHosts := map[int]bool{}
	for id, d := range pl.snap.Devices {
		if pl.counts(id) {
			totalDisks++
		}
		if d.Status == "alive" {
			aliveHosts[d.HostID] = true
		}
	}
	switch p.Kind {
	case MultipleDevices:
		switch {
		case on == min:
			return allGood, nil, nil
		case on > min:
			return tooGood, nil, nil
		case on >= 2 && on == totalDisks:
			return allGood, nil, nil
		}
	default:
		switch {
		case min == 1 && on == 1:
			return allGood, nil, nil
		case len(hostsOn) > min, on > min:
			return tooGood, nil, nil
		case len(hostsOn) == min:
			return allGood, nil, nil
		case len(hostsOn) >= len(aliveHosts) && on >= min:
			return allGood, nil, nil
		case on >= 2 && on == totalDisks:
			return allGood, nil, nil
		}
	}
	var cands []int
	for id := range pl.snap.Devices {
		if !onSet[id] && !pl.skip[id] && pl.snap.ShouldGetNewFiles(id) {
			cands = append(cands, id)
		}
	}
	if len(cands) == 0 {
		return noAnswer, nil, nil
	}
	if p.Kind == MultipleHosts && len(hostsOn) < len(aliveHosts) {
		for _, id := range cands {
			if hostsOn[pl.snap.Devices[id].HostID] {
				desperate = append(desperate, id)
			} else {
				ideal = append(ideal, id)
			}
		}
	} else {
		ideal = cands
	}
	if p.Kind == MultipleHosts && on >= min && len(ideal) == 0 {
		return noAnswer, nil, nil
	}
	ideal = weighted(pl.snap, ideal, rng)
	desperate = weighted(pl.snap, desperate, rng)
	if len(ideal) == 0 && len(desperate) == 0 {
		return noAnswer, nil, nil
	}
	return request, ideal, desperate
}

// weighted keeps the 20 devices with the most free space and returns them in
// a random order weighted by 100 × percent free, dropping devices with no
// weight (unknown usage or full), as Util.pm::weighted_list.
func weighted(snap *monitor.Snapshot, devs []int, rng *rand.Rand) []int {
	devs = slices.Clone(devs)
	slices.SortFunc(devs, func(a, b int) int {
		return cmp.Or(cmp.Compare(snap.PercentFree(b), snap.PercentFree(a)), cmp.Compare(a, b))
	})
	if len(devs) > 20 {
		devs = devs[:20]
	}
	type item struct {
		id int
		w  float64
	}
	var items []item
	var sum float64
	for _, d := range devs {
		if w := 100 * snap.PercentFree(d); w > 0 {
			items = append(items, item{d, w})
			sum += w
		}
	}
	out := make([]int, 0, len(items))
	for len(items) > 0 {
		x := rng.Float64() * sum
		i := 0
		for ; i < len(items)-1; i++ {
			x -= items[i].w
			if x < 0 {
				break
			}
		}
		out = append(out, items[i].id)
		sum -= items[i].w
		items = slices.Delete(items, i, i+1)
	}
	return out
}
