package jobs

import (
	"fmt"
	"math/rand/v2"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"mogfs/trackerd/meta"
	"mogfs/trackerd/monitor"
	"mogfs/trackerd/zones"
)

// Hosts in the plugin's t/multiple-networks-replpol.t: ad1 and ad2 share
// a /16, as do ad3 and ad4; ad5 and ad6 share a /16 but lie in different
// /24s.
const (
	ad1 = "@192.168.0.2"
	ad2 = "@192.168.0.3"
	ad3 = "@10.0.0.2"
	ad4 = "@10.0.0.3"
	ad5 = "@146.101.246.2"
	ad6 = "@146.101.142.130"
)

var (
	hostRE = regexp.MustCompile(`h(\d+)(?:=(\w+))?\[([^\]]*)\](?:@([0-9a-f.:]+))?`)
	devRE  = regexp.MustCompile(`^d(\d+)=([_X])(?:,(\w+))?$`)
)

// netTopo builds a snapshot from the plugin tests' notation: hosts
// "h<id>[=<status>][<devices>][@<ip>]", devices "d<id>=X" (holds a copy)
// or "d<id>=_", optionally ",<device status>". Hosts default to alive at
// 127.0.0.1, devices to alive. on is the copies that count (not dead).
func netTopo(t *testing.T, spec string, zoneSettings map[string]string) (snap *monitor.Snapshot, on []int) {
	t.Helper()
	s := &monitor.Snapshot{
		Hosts: map[int]meta.Host{}, Devices: map[int]meta.Device{},
		Dev: map[int]monitor.DevObs{}, HostReachable: map[int]bool{},
	}
	zm, err := zones.Parse(zoneSettings)
	if err != nil {
		t.Fatalf("zones.Parse: %v", err)
	}
	s.Zones = zm
	if rest := strings.TrimSpace(hostRE.ReplaceAllString(spec, "")); rest != "" {
		t.Fatalf("netTopo: cannot parse %q in %q", rest, spec)
	}
	for _, m := range hostRE.FindAllStringSubmatch(spec, -1) {
		hid, _ := strconv.Atoi(m[1])
		h := meta.Host{ID: hid, IP: "127.0.0.1", Status: "alive"}
		if m[2] != "" {
			h.Status = m[2]
		}
		if m[4] != "" {
			h.IP = m[4]
		}
		s.Hosts[hid] = h
		s.HostReachable[hid] = true
		for _, ds := range strings.Fields(m[3]) {
			dm := devRE.FindStringSubmatch(ds)
			if dm == nil {
				t.Fatalf("netTopo: bad device %q", ds)
			}
			id, _ := strconv.Atoi(dm[1])
			d := meta.Device{ID: id, HostID: hid, Status: "alive", HaveUsage: true, MBTotal: 1000, MBUsed: 100 + int64(id)}
			if dm[3] != "" {
				d.Status = dm[3]
			}
			s.Devices[id] = d
			s.Dev[id] = monitor.DevObs{State: monitor.StateWriteable}
			if dm[2] == "X" && s.ShouldHaveFiles(id) {
				on = append(on, id)
			}
		}
	}
	return s, on
}

// render is a verdict as the plugin tests write it, with both lists.
func render(v verdict, ideal, desperate []int) string {
	switch v {
	case allGood:
		return "all_good"
	case tooGood:
		return "too_good"
	case noAnswer:
		return "no_answer"
	}
	ids := func(l []int) string {
		l = slices.Sorted(slices.Values(l))
		return strings.Trim(strings.Join(strings.Fields(fmt.Sprint(l)), ","), "[]")
	}
	return fmt.Sprintf("ideal(%s) desperate(%s)", ids(ideal), ids(desperate))
}

type policyCase struct {
	name string
	spec string
	want string
}

func runPolicyCases(t *testing.T, pol func(min int) Policy, zoneSettings map[string]string, tests []policyCase) {
	t.Helper()
	rng := rand.New(rand.NewPCG(5, 6))
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			spec, min := tc.spec, 2
			if rest, ok := strings.CutPrefix(spec, "min="); ok {
				n, tail, _ := strings.Cut(rest, " ")
				min, _ = strconv.Atoi(n)
				spec = tail
			}
			snap, on := netTopo(t, spec, zoneSettings)
			v, ideal, desperate := pol(min).evaluate(placement{snap: snap, on: on, min: 2}, rng)
			if got := render(v, ideal, desperate); got != tc.want {
				t.Errorf("%v.evaluate(%s) = %s, want %s", pol(min), tc.spec, got, tc.want)
			}
		})
	}
}

// TestMultipleNetworks carries over the network cases of the plugin's
// t/multiple-networks-replpol.t. Where the plugin lists only ideal (its
// t_as_string shows one list) we list both; cases that differ on purpose
// (evalNetworks' comment) say so.
func TestMultipleNetworks(t *testing.T) {
	pol := func(min int) Policy { return Policy{Kind: MultipleNetworks, N: min} }
	runPolicyCases(t, pol, nil, []policyCase{
		{"one network, two hosts: all good", "min=2 h1[d1=X d2=_]" + ad1 + " h2[d3=X d4=_]" + ad2, "all_good"},
		{"one network: other host, desperately", "min=2 h1[d1=X d2=_]" + ad1 + " h2[d3=_ d4=_]" + ad2, "ideal() desperate(2,3,4)"},
		{"one network: host2 although two copies on host1", "min=2 h1[d1=X d2=X]" + ad1 + " h2[d3=_ d4=_]" + ad2, "ideal() desperate(3,4)"},
		{"target the other network", "min=2 h1[d1=_ d2=X]" + ad1 + " h2[d3=_ d4=_]" + ad2 + " h3[d5=_ d6=_]" + ad3 + " h4[d7=_ d8=_]" + ad4, "ideal(5,6,7,8) desperate(1,3,4)"},
		{"other network down", "min=2 h1[d1=_ d2=X]" + ad1 + " h2[d3=_ d4=_]" + ad2 + " h3=down[d5=_ d6=_]" + ad3 + " h4=down[d7=_ d8=_]" + ad4, "ideal() desperate(1,3,4)"},
		{"both other networks of three", "min=2 h1[d1=_ d2=X]" + ad1 + " h2[d3=_ d4=_]" + ad2 + " h3[d5=_ d6=_]" + ad3 + " h4[d7=_ d8=_]" + ad5, "ideal(5,6,7,8) desperate(1,3,4)"},
		{"one of three networks down", "min=2 h1[d1=_ d2=X]" + ad1 + " h2[d3=_ d4=_]" + ad2 + " h3=down[d5=_ d6=_]" + ad3 + " h4[d7=_ d8=_]" + ad5, "ideal(7,8) desperate(1,3,4)"},
		{"dead copies don't exclude a network", "min=2 h1[d1=_ d2=X,dead]" + ad1 + " h2=alive[d3=_ d4=_]" + ad2 + " h3=alive[d5=X d6=_]" + ad3, "ideal(1,3,4) desperate(6)"},
		{"copies on different networks", "min=2 h1[d1=_ d2=X]" + ad1 + " h2[d3=_ d4=_]" + ad2 + " h3[d5=X d6=_]" + ad3, "all_good"},
		{"3 copies on 2 hosts of one network, min 2", "min=2 h1[d1=_ d2=X]" + ad1 + " h2[d3=X d4=X]" + ad2, "too_good"},
		{"more than min hosts, all on one network", "min=2 h1[d1=X d2=X]" + ad1 + " h2[d3=X d4=X]" + ad2 + " h3[d5=_ d6=_]" + ad3 + " h4[d7=_ d8=_]" + ad4, "ideal(5,6,7,8) desperate()"},
		{"three hosts on two networks, min 2", "min=2 h1[d1=X]" + ad1 + " h2[d3=X]" + ad2 + " h3[d5=X]" + ad3, "too_good"},
		{"trimming must keep the second network", "min=2 h1[d1=X]" + ad1 + " h2[d3=X]" + ad2 + " h3[d5=_]" + ad3, "ideal(5) desperate()"},
		{"min 1", "min=1 h1[d1=X]" + ad1 + " h3[d5=_]" + ad3, "all_good"},
		// Differs from the plugin, which offers desperate(2,4,9): two
		// copies on two hosts already, and only a new network helps.
		{"no piling up while a network is down", "min=2 h1[d1=X d2=_]" + ad1 + " h2[d3=X d4=_]" + ad2 + " h5[d9=_]@192.168.0.4 h3=down[d5=_]" + ad3, "no_answer"},
		{"nothing to suggest", "min=2 h1[d1=X]" + ad1 + " h3=down[d5=_]" + ad3, "no_answer"},
	})
	// The plugin's "mess with netmasks": zones split one /16.
	runPolicyCases(t, pol, map[string]string{
		"network_zones": "a,b", "zone_a": "146.101.246.0/24", "zone_b": "146.101.142.0/24",
	}, []policyCase{
		{"zones split a /16", "min=2 h1[d1=_ d2=X]" + ad6 + " h2[d3=_ d4=_]" + ad5 + " h3[d5=_ d6=_]" + ad4 + " h4[d7=_ d8=_]" + ad3, "ideal(3,4,5,6,7,8) desperate(1)"},
	})
	// A zone of two networks is one network (the plugin counted two).
	runPolicyCases(t, pol, map[string]string{"network_zones": "a", "zone_a": "192.168.0.0/16 10.0.0.0/16"}, []policyCase{
		{"zone of two CIDRs", "min=2 h1[d1=X]" + ad1 + " h3[d5=_]" + ad3 + " h4[d7=_]" + ad5, "ideal(7) desperate(5)"},
	})
}

func TestMultipleNetworksDesperateOrder(t *testing.T) {
	// A new host on the same network comes before a second device of a host
	// that holds a copy.
	snap, on := netTopo(t, "h1[d1=X d2=_]"+ad1+" h2[d3=_ d4=_]"+ad2, nil)
	for seed := range uint64(20) {
		_, _, desp := Policy{Kind: MultipleNetworks}.evaluate(placement{snap: snap, on: on, min: 2}, rand.New(rand.NewPCG(seed, 1)))
		if len(desp) != 3 || desp[2] != 2 {
			t.Fatalf("desperate = %v, want devices 3 and 4 before 2", desp)
		}
	}
}

// TestHostsPerNetwork carries over the plugin's t/hosts-per-zone-replpol.t
// (one zone "one" holding every host, HostsPerNetwork(one=min)) and adds
// cases with two zones.
func TestHostsPerNetwork(t *testing.T) {
	one := func(min int) Policy {
		return Policy{Kind: HostsPerNetwork, PerZone: []ZoneCount{{"one", min}}}
	}
	runPolicyCases(t, one, map[string]string{"network_zones": "one", "zone_one": "127.0.0.0/16"}, []policyCase{
		{"all good", "min=2 h1[d1=X d2=_] h2[d3=X d4=_]", "all_good"},
		{"need host2", "min=2 h1[d1=X d2=_] h2[d3=_ d4=_]", "ideal(3,4) desperate(2)"},
		{"need host2, even though 2 on host1", "min=2 h1[d1=X d2=X] h2[d3=_ d4=_]", "ideal(3,4) desperate()"},
		{"anywhere", "min=2 h1[d1=_ d2=_] h2[d3=_ d4=_]", "ideal(1,2,3,4) desperate()"},
		{"host2 down", "min=2 h1[d1=X d2=_] h2=down[d3=_ d4=_]", "ideal() desperate(2)"},
		{"host2 down, host3 up", "min=2 h1[d1=X d2=_] h2=down[d3=_ d4=_] h3[d5=_ d6=_]", "ideal(5,6) desperate(2)"},
		{"non-dead disk on host1", "min=2 h1[d1=_ d2=X,dead] h2=alive[d3=X d4=_]", "ideal(1) desperate(4)"},
		{"3 wanted, 2 hosts", "min=3 h1[d1=_ d2=X] h2[d3=X d4=_]", "ideal() desperate(1,4)"},
		{"3 wanted, third host", "min=3 h1[d1=_ d2=X] h2[d3=X d4=_] h3[d5=_]", "ideal(5) desperate(1,4)"},
		{"3 wanted, third host down", "min=3 h1[d1=_ d2=X] h2[d3=X d4=_] h3=down[d5=_]", "ideal() desperate(1,4)"},
		{"too good, hosts > wanted", "min=2 h1[d1=X d2=_] h2[d3=X d4=_] h3[d5=X]", "too_good"},
		{"too good, hosts == wanted", "min=2 h1[d1=X d2=X] h2[d3=X d4=_]", "too_good"},
		{"3 copies on the only 2 hosts", "min=3 h1[d1=_ d2=X] h2[d3=X d4=X]", "all_good"},
		// Differs from the plugin (desperate(3)): the zone has its two
		// copies, and only another host helps.
		{"no piling up while a host is down", "min=2 h1[d1=X d2=X d3=_] h2=down[d4=_]", "no_answer"},
	})

	ab := map[string]string{"network_zones": "a, b", "zone_a": "10.1.0.0/16", "zone_b": "10.2.0.0/16"}
	hosts := "h1[d1=%s]@10.1.0.1 h2[d2=%s]@10.1.0.2 h3[d3=%s]@10.2.0.3 h4[d4=%s]@10.2.0.4 h5[d5=%s]@192.168.0.5"
	spec := func(on ...any) string { return fmt.Sprintf(hosts, on...) }
	a1b2 := func(int) Policy {
		return Policy{Kind: HostsPerNetwork, PerZone: []ZoneCount{{"a", 1}, {"b", 2}}}
	}
	runPolicyCases(t, a1b2, ab, []policyCase{
		{"zone b short", spec("X", "_", "_", "_", "_"), "ideal(3,4) desperate()"},
		{"both short", spec("_", "_", "_", "_", "X"), "ideal(1,2,3,4) desperate()"},
		{"satisfied", spec("X", "_", "X", "X", "_"), "all_good"},
		{"copies outside the zones don't count", spec("X", "_", "X", "X", "X"), "all_good"},
		{"zone a over", spec("X", "X", "X", "X", "_"), "too_good"},
	})
	runPolicyCases(t, func(int) Policy {
		return Policy{Kind: HostsPerNetwork, PerZone: []ZoneCount{{"a", 1}, {"c", 1}}}
	}, ab, []policyCase{
		{"zone without hosts", spec("X", "_", "_", "_", "_"), "no_answer"},
	})
	// Without zone settings no host is in a zone.
	runPolicyCases(t, a1b2, nil, []policyCase{
		{"no zones", spec("X", "_", "_", "_", "_"), "no_answer"},
	})
}
