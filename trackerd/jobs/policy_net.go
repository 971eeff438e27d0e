package jobs

// The MogileFS-Network plugin's policies, MultipleNetworks and
// HostsPerNetwork, over the network zones of the monitor's snapshot
// (monitor.Snapshot.Zones, from the network_zones and zone_<name>
// settings). Where they differ from the plugin, the comment says so.

import (
	"math/rand/v2"
	"net/netip"

	"mogfs/trackerd/monitor"
)

// network is a group of hosts MultipleNetworks spreads copies over: the
// hosts' zone or, for a host in no zone, the /16 (IPv4) or /48 (IPv6)
// around its address, as the plugin's network_for_ip falls back to the
// host's /16. (The plugin names a network by its netmask, so a zone of two
// CIDRs counted as two networks; here a zone is one network.)
type network struct {
	zone string
	pfx  netip.Prefix // only for hosts in no zone
}

// hostNetworks returns a memoised host → network lookup for one evaluation.
func hostNetworks(snap *monitor.Snapshot) func(hostid int) network {
	memo := map[int]network{}
	return func(hostid int) network {
		if n, ok := memo[hostid]; ok {
			return n
		}
		var n network
		if z := snap.HostZone(hostid); z != "" {
			n.zone = z
		} else if a, err := netip.ParseAddr(snap.Hosts[hostid].IP); err == nil {
			a = a.Unmap()
			bits := 16
			if a.Is6() {
				bits = 48
			}
			n.pfx, _ = a.Prefix(bits)
		}
		memo[hostid] = n
		return n
	}
}

// evalNetworks is MultipleNetworks(N): MultipleHosts(N) that is never
// happy while the copies are on fewer networks than min(N, networks with
// an alive device). Destinations on a new network are ideal; then come new
// hosts on a network that has a copy, then further devices of hosts that
// have one.
//
// Unlike the plugin, a destination that improves nothing is not offered:
// a host already holding a copy only while there are fewer than N copies,
// a new host on a covered network only while fewer than N hosts hold one.
// The plugin offers them while the networks are short, so with one network
// down the replicator would put a copy on every host of the others; here
// the file waits (with backoff) for the network to come back, and the
// surplus copy is trimmed once it has.
func (p Policy) evalNetworks(pl placement, rng *rand.Rand) (verdict, []int, []int) {
	snap := pl.snap
	want := pl.minCopies(p)
	netOf := hostNetworks(snap)
	onSet := map[int]bool{}
	hostsOn := map[int]bool{}
	netsOn := map[network]bool{}
	for _, d := range pl.on {
		h := snap.Devices[d].HostID
		onSet[d], hostsOn[h], netsOn[netOf(h)] = true, true, true
	}
	on := len(onSet)
	totalDisks := 0
	aliveHosts := map[int]bool{}
	aliveNets := map[network]bool{}
	for id, d := range snap.Devices {
		if pl.counts(id) {
			totalDisks++
		}
		if d.Status == "alive" {
			aliveHosts[d.HostID] = true
			aliveNets[netOf(d.HostID)] = true
		}
	}
	if len(netsOn) >= max(1, min(want, len(aliveNets))) {
		// On enough networks: the rest is MultipleHosts.
		switch {
		case want == 1 && on == 1:
			return allGood, nil, nil
		case len(hostsOn) > want, on > want:
			return tooGood, nil, nil
		case len(hostsOn) == want:
			return allGood, nil, nil
		case len(hostsOn) >= len(aliveHosts) && on >= want:
			return allGood, nil, nil
		}
	}
	if on >= 2 && on == totalDisks {
		return allGood, nil, nil
	}
	var ideal, netDesp, hostDesp []int
	for id := range snap.Devices {
		if onSet[id] || pl.skip[id] || !snap.ShouldGetNewFiles(id) {
			continue
		}
		h := snap.Devices[id].HostID
		switch {
		case len(hostsOn) >= len(aliveHosts):
			ideal = append(ideal, id) // every host has a copy: any device will do
		case hostsOn[h]:
			if on < want {
				hostDesp = append(hostDesp, id)
			}
		case netsOn[netOf(h)]:
			if len(hostsOn) < want {
				netDesp = append(netDesp, id)
			}
		default:
			ideal = append(ideal, id)
		}
	}
	ideal = weighted(snap, ideal, rng)
	desperate := append(weighted(snap, netDesp, rng), weighted(snap, hostDesp, rng)...)
	if len(ideal) == 0 && len(desperate) == 0 {
		return noAnswer, nil, nil
	}
	return request, ideal, desperate
}

// evalPerZone is HostsPerNetwork(zone=N,...): for each zone named, N
// copies on distinct hosts of that zone, or, when the zone has fewer than N
// hosts with a device that counts, N copies on its devices. The class's
// mindevcount is not used, and copies outside the zones named neither help
// nor hurt. A zone with more than N copies makes the file too good.
// Destinations lie only in zones short of copies: on a host without a copy
// ideal, on one with a copy desperate.
//
// Unlike the plugin, a host already holding a copy is offered only while
// the zone has fewer than N copies: once it has N copies on too few hosts,
// only another host helps, and the file waits for one (the plugin would
// fill every device of the zone's hosts in the meantime).
func (p Policy) evalPerZone(pl placement, rng *rand.Rand) (verdict, []int, []int) {
	snap := pl.snap
	zoneOf := map[int]string{}
	zone := func(hostid int) string {
		z, ok := zoneOf[hostid]
		if !ok {
			z = snap.HostZone(hostid)
			zoneOf[hostid] = z
		}
		return z
	}
	onSet := map[int]bool{}
	hostsOn := map[int]bool{}
	hostsIn := map[string]map[int]bool{} // zone → hosts holding a copy
	devsIn := map[string]int{}           // zone → copies
	avail := map[string]map[int]bool{}   // zone → hosts with a device that counts
	add := func(m map[string]map[int]bool, z string, h int) {
		if m[z] == nil {
			m[z] = map[int]bool{}
		}
		m[z][h] = true
	}
	for _, d := range pl.on {
		if onSet[d] {
			continue
		}
		h := snap.Devices[d].HostID
		onSet[d], hostsOn[h] = true, true
		devsIn[zone(h)]++
		add(hostsIn, zone(h), h)
	}
	for id, d := range snap.Devices {
		if pl.counts(id) {
			add(avail, zone(d.HostID), d.HostID)
		}
	}
	short := map[string]bool{} // zone → may take a second copy on a host (desperate)
	over := false
	for _, zc := range p.PerZone {
		have := len(hostsIn[zc.Zone])
		if zc.N > len(avail[zc.Zone]) {
			have = devsIn[zc.Zone]
		}
		switch {
		case have < zc.N:
			short[zc.Zone] = devsIn[zc.Zone] < zc.N
		case devsIn[zc.Zone] > zc.N:
			over = true
		}
	}
	if len(short) == 0 {
		if over {
			return tooGood, nil, nil
		}
		return allGood, nil, nil
	}
	var ideal, desperate []int
	for id := range snap.Devices {
		if onSet[id] || pl.skip[id] || !snap.ShouldGetNewFiles(id) {
			continue
		}
		h := snap.Devices[id].HostID
		despOK, ok := short[zone(h)]
		switch {
		case !ok:
		case !hostsOn[h]:
			ideal = append(ideal, id)
		case despOK:
			desperate = append(desperate, id)
		}
	}
	ideal = weighted(snap, ideal, rng)
	desperate = weighted(snap, desperate, rng)
	if len(ideal) == 0 && len(desperate) == 0 {
		return noAnswer, nil, nil
	}
	return request, ideal, desperate
}
