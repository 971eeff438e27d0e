package jobs

import (
	"errors"
	"math/rand/v2"
	"reflect"
	"testing"

	"mogfs/trackerd/meta"
	"mogfs/trackerd/monitor"
)

func TestParsePolicy(t *testing.T) {
	tests := []struct {
		in   string
		want Policy
		err  bool
	}{
		{"", Policy{Kind: MultipleHosts}, false},
		{"MultipleHosts()", Policy{Kind: MultipleHosts}, false},
		{"MultipleHosts(3)", Policy{Kind: MultipleHosts, N: 3}, false},
		{" MultipleDevices( 2 ) ", Policy{Kind: MultipleDevices, N: 2}, false},
		{"MogileFS::ReplicationPolicy::MultipleDevices()", Policy{Kind: MultipleDevices}, false},
		{"MultipleNetworks()", Policy{Kind: MultipleNetworks}, false},
		{"MogileFS::ReplicationPolicy::MultipleNetworks(3)", Policy{Kind: MultipleNetworks, N: 3}, false},
		{"HostsPerNetwork(near=2)", Policy{Kind: HostsPerNetwork, PerZone: []ZoneCount{{"near", 2}}}, false},
		{" HostsPerNetwork( near = 2 , far=1,dr-site.x=0 ) ", Policy{Kind: HostsPerNetwork, PerZone: []ZoneCount{{"near", 2}, {"far", 1}, {"dr-site.x", 0}}}, false},
		{"HostsPerNetwork()", Policy{}, true},        // wants nothing
		{"HostsPerNetwork(a=0)", Policy{}, true},     // wants nothing
		{"HostsPerNetwork(a=1,a=2)", Policy{}, true}, // a zone twice
		{"HostsPerNetwork(a=1,)", Policy{}, true},
		{"HostsPerNetwork(a b=1)", Policy{}, true},
		{"HostsPerNetwork(a=256)", Policy{}, true},
		{"HostsPerNetwork(3)", Policy{}, true},
		{"MultipleNetworks(a=1)", Policy{}, true},
		{"MultipleHosts(+2)", Policy{}, true},
		{"Union(MultipleHosts(),MultipleDevices())", Policy{}, true},
		{"MultipleHosts", Policy{}, true},
		{"MultipleHosts(x)", Policy{}, true},
		{"MultipleHosts(999)", Policy{}, true},
	}
	for _, tc := range tests {
		got, err := ParsePolicy(tc.in)
		if tc.err {
			if !errors.Is(err, ErrUnknownPolicy) {
				t.Errorf("ParsePolicy(%q) err = %v, want ErrUnknownPolicy", tc.in, err)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("ParsePolicy(%q) = %+v, %v, want %+v", tc.in, got, err, tc.want)
		}
	}
}

func FuzzParsePolicy(f *testing.F) {
	for _, s := range []string{"", "MultipleHosts()", "MultipleHosts(3)", "MultipleDevices(2)", "MultipleNetworks(2)", "HostsPerNetwork(a=1, b=2)"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := ParsePolicy(s)
		if err != nil {
			return
		}
		// Round trip: the canonical form parses to the same policy.
		q, err := ParsePolicy(p.String())
		if err != nil || !reflect.DeepEqual(q, p) {
			t.Fatalf("ParsePolicy(%q) = %+v; reparse of %q = %+v, %v", s, p, p.String(), q, err)
		}
	})
}

// topo builds a snapshot: hosts[i] is the number of alive, writeable devices
// on host i+1; devids are numbered from 1 across hosts.
func topo(hosts ...int) *monitor.Snapshot {
	s := &monitor.Snapshot{
		Hosts: map[int]meta.Host{}, Devices: map[int]meta.Device{},
		Dev: map[int]monitor.DevObs{}, HostReachable: map[int]bool{},
	}
	id := 1
	for h, n := range hosts {
		hid := h + 1
		s.Hosts[hid] = meta.Host{ID: hid, IP: "127.0.0.1", Status: "alive"}
		s.HostReachable[hid] = true
		for range n {
			s.Devices[id] = meta.Device{ID: id, HostID: hid, Status: "alive", HaveUsage: true, MBTotal: 1000, MBUsed: 100 + int64(id)}
			s.Dev[id] = monitor.DevObs{State: monitor.StateWriteable}
			id++
		}
	}
	return s
}

func TestPolicyEvaluate(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	tests := []struct {
		name      string
		snap      *monitor.Snapshot
		pol       Policy
		min       int
		on        []int
		want      verdict
		idealHost int // if >0, every ideal device must not be on a host holding a copy
	}{
		{"one copy two hosts", topo(1, 1), Policy{Kind: MultipleHosts}, 2, []int{1}, request, 1},
		{"two hosts satisfied", topo(1, 1), Policy{Kind: MultipleHosts}, 2, []int{1, 2}, allGood, 0},
		{"one host desperate", topo(2), Policy{Kind: MultipleHosts}, 2, []int{1}, request, 0},
		{"one host two devs done", topo(2), Policy{Kind: MultipleHosts}, 2, []int{1, 2}, allGood, 0},
		{"too many hosts", topo(1, 1, 1), Policy{Kind: MultipleHosts}, 2, []int{1, 2, 3}, tooGood, 0},
		{"too many devices", topo(3, 1), Policy{Kind: MultipleHosts}, 2, []int{1, 2, 4}, tooGood, 0},
		{"same host copies want other host", topo(2, 1), Policy{Kind: MultipleHosts}, 2, []int{1, 2}, request, 1},
		{"explicit N overrides mindevcount", topo(1, 1, 1), Policy{Kind: MultipleHosts, N: 3}, 2, []int{1, 2}, request, 1},
		{"min 1", topo(1, 1), Policy{Kind: MultipleHosts}, 1, []int{2}, allGood, 0},
		{"devices happy", topo(3), Policy{Kind: MultipleDevices}, 2, []int{1, 3}, allGood, 0},
		{"devices want one", topo(3), Policy{Kind: MultipleDevices}, 2, []int{1}, request, 0},
		{"devices too good", topo(3), Policy{Kind: MultipleDevices}, 2, []int{1, 2, 3}, tooGood, 0},
		{"nowhere to go", topo(1), Policy{Kind: MultipleHosts}, 2, []int{1}, noAnswer, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v, ideal, desperate := tc.pol.evaluate(placement{snap: tc.snap, on: tc.on, min: tc.min}, rng)
			if v != tc.want {
				t.Fatalf("evaluate(on %v) = %v, want %v (ideal %v desperate %v)", tc.on, v, tc.want, ideal, desperate)
			}
			if tc.idealHost > 0 {
				if len(ideal) == 0 {
					t.Fatalf("evaluate(on %v): no ideal devices", tc.on)
				}
				onHosts := map[int]bool{}
				for _, d := range tc.on {
					onHosts[tc.snap.Devices[d].HostID] = true
				}
				for _, d := range ideal {
					if onHosts[tc.snap.Devices[d].HostID] {
						t.Errorf("ideal device %d is on a host already holding a copy", d)
					}
				}
			}
			for _, d := range append(ideal, desperate...) {
				if containsInt(tc.on, d) {
					t.Errorf("suggested device %d already holds the file", d)
				}
			}
		})
	}
}

func TestPolicyDrainDoesNotCount(t *testing.T) {
	s := topo(1, 1, 1)
	d := s.Devices[2]
	d.Status = "drain"
	s.Devices[2] = d
	pol := Policy{Kind: MultipleHosts}
	pl := placement{snap: s, min: 2}
	for _, id := range []int{1, 2} {
		if pl.counts(id) {
			pl.on = append(pl.on, id)
		}
	}
	v, ideal, _ := pol.evaluate(pl, rand.New(rand.NewPCG(1, 2)))
	if v != request || len(ideal) != 1 || ideal[0] != 3 {
		t.Fatalf("evaluate with a drain copy = %v ideal %v, want request to dev 3", v, ideal)
	}
}

func TestWeightedDropsUnknownUsage(t *testing.T) {
	s := topo(3)
	d := s.Devices[2]
	d.HaveUsage = false
	s.Devices[2] = d
	got := weighted(s, []int{1, 2, 3}, rand.New(rand.NewPCG(3, 4)))
	if len(got) != 2 || containsInt(got, 2) {
		t.Errorf("weighted = %v, want devices 1 and 3 only", got)
	}
}

func TestBackoff(t *testing.T) {
	for fc, base := range map[int]float64{0: 15, 1: 60, 2: 300, 8: 86400, 50: 86400} {
		got := backoff(fc).Seconds()
		if got < base*0.8 || got > base*1.2 {
			t.Errorf("backoff(%d) = %vs, want %v ±20%%", fc, got, base)
		}
	}
}
