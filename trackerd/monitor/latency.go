package monitor

import (
	"slices"
	"time"
)

// A slow host is one whose usage probe the monitor sees answered far later
// than its peers': its link is narrow or congested, or the node is
// overloaded. Reads should go there last (get_paths orders its copies
// after the others, see Snapshot.SlowLast); it stays readable and
// writeable, since it does answer. The original has nothing like it.
//
// Each round records, per host, the fastest usage probe of its devices
// (the fastest, so that one busy disk does not brand a host), smoothed
// over rounds; a host is slow when its latency is at least slowFactor
// times the median host's and at least slowFloor. The floor keeps hosts
// that are all fast (loopback, one switch) from being told apart by noise;
// the factor keeps a tracker far from every node (all of them slow alike)
// from ordering any of them last.
const (
	slowFactor = 4
	slowFloor  = 50 * time.Millisecond
)

// smoothLatency folds a round's sample into a host's latency: the mean of
// the two, so that a host turning slow (or fast again) shows within two or
// three rounds while one odd probe only half counts. prev 0 is no history.
func smoothLatency(prev, sample time.Duration) time.Duration {
	if prev <= 0 {
		return sample
	}
	return (prev + sample) / 2
}

// slowHosts returns the hosts whose latency marks them slow.
func slowHosts(lat map[int]time.Duration) map[int]bool {
	if len(lat) < 2 {
		return nil
	}
	all := make([]time.Duration, 0, len(lat))
	for _, l := range lat {
		all = append(all, l)
	}
	slices.Sort(all)
	median := all[(len(all)-1)/2] // the lower median: with two hosts, the faster
	var slow map[int]bool
	for id, l := range lat {
		if l >= slowFloor && l >= slowFactor*median {
			if slow == nil {
				slow = map[int]bool{}
			}
			slow[id] = true
		}
	}
	return slow
}

// HostSlow reports whether the monitor saw the host answer its probes
// much later than the other hosts (see slowFactor).
func (s *Snapshot) HostSlow(hostid int) bool { return s.slow[hostid] }

// SlowLast returns devids with the devices of slow hosts last, each group
// in the order given; it never modifies devids.
func (s *Snapshot) SlowLast(devids []int) []int {
	if len(s.slow) == 0 {
		return devids
	}
	fast := make([]int, 0, len(devids))
	var slow []int
	for _, id := range devids {
		if s.slow[s.Devices[id].HostID] {
			slow = append(slow, id)
		} else {
			fast = append(fast, id)
		}
	}
	return append(fast, slow...)
}
