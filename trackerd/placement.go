package trackerd

import (
	"context"
	"math/rand/v2"
	"net"
	"net/netip"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"mogfs/nodeproto"
	"mogfs/trackerd/meta"
	"mogfs/trackerd/monitor"
)

// hostIP picks the address URLs use for host h (Host.pm::ip): the altip when
// the host has altip and altmask and either the client asked for zone=alt
// or its address lies in altmask; otherwise the hostip.
func hostIP(h meta.Host, clientIP string, zoneAlt bool) string {
	if h.AltIP == "" || h.AltMask == "" {
		return h.IP
	}
	if zoneAlt {
		return h.AltIP
	}
	pfx, err := netip.ParsePrefix(h.AltMask)
	if err != nil {
		return h.IP
	}
	ip, err := netip.ParseAddr(clientIP)
	if err == nil && pfx.Contains(ip.Unmap()) {
		return h.AltIP
	}
	return h.IP
}

// devURL is the URL of fid on devid; get selects http_get_port (reads)
// over http_port (uploads, create_close's HEAD). ok is false when the
// device or its host is unknown.
func devURL(s *monitor.Snapshot, devid int, fid int64, get bool, clientIP string, zoneAlt bool) (string, bool) {
	d, ok := s.Devices[devid]
	if !ok {
		return "", false
	}
	h, ok := s.Hosts[d.HostID]
	if !ok {
		return "", false
	}
	port := h.HTTPPort
	if port == 0 {
		port = 7500
	}
	if get && h.HTTPGetPort != 0 {
		port = h.HTTPGetPort
	}
	return "http://" + net.JoinHostPort(hostIP(h, clientIP, zoneAlt), strconv.Itoa(port)) + nodeproto.FIDPath(devid, fid), true
}

// clientZone is the network zone of the client's address, "" for none.
func clientZone(s *monitor.Snapshot, clientIP string) string {
	z, _ := s.Zones.LookupString(clientIP)
	return z
}

// weighted is an item with a weight for weightedShuffle.
type weighted struct {
	devid  int
	weight float64
}

// weightedShuffle is Util.pm::weighted_list: repeatedly pick an item with
// probability weight/sum and remove it; items with weight <= 0 are dropped.
func weightedShuffle(items []weighted) []int {
	live := items[:0:0]
	var sum float64
	for _, it := range items {
		if it.weight > 0 {
			live = append(live, it)
			sum += it.weight
		}
	}
	out := make([]int, 0, len(live))
	for len(live) > 0 {
		x := rand.Float64() * sum
		i := 0
		for ; i < len(live)-1; i++ {
			x -= live[i].weight
			if x < 0 {
				break
			}
		}
		out = append(out, live[i].devid)
		sum -= live[i].weight
		live = append(live[:i], live[i+1:]...)
	}
	return out
}

// pickDevices chooses up to n devices for a new file (behaviours.md §4):
// devices with room for size (when known), that should get new files,
// the 20 with most free space, in a random order weighted by free space,
// those of hosts the monitor sees slow last, those in the client's network
// zone first (the ZoneLocal plugin; zone "" for none), on distinct hosts
// first. Unlike the original (whose
// distinct-host check compares devids with hostids, see
// tracker-protocol.md §3.1) we enforce distinct hosts, and only then fill
// up with further devices of hosts already chosen so that a client still
// has a fall-back.
func pickDevices(s *monitor.Snapshot, size int64, n int, zone string) []int {
	all := make([]int, 0, len(s.Devices))
	for id := range s.Devices {
		all = append(all, id)
	}
	cands := all
	if size > 0 {
		var known, unknown []int
		for _, id := range all {
			free := s.MBFree(id)
			switch {
			case free < 0:
				unknown = append(unknown, id)
			case free*1048576 > size:
				known = append(known, id)
			}
		}
		cands = known
		if len(cands) == 0 {
			cands = unknown
		}
	}
	ok := cands[:0:0]
	for _, id := range cands {
		if s.ShouldGetNewFiles(id) {
			ok = append(ok, id)
		}
	}
	sort.Slice(ok, func(i, j int) bool {
		pi, pj := s.PercentFree(ok[i]), s.PercentFree(ok[j])
		if pi != pj {
			return pi > pj
		}
		return ok[i] < ok[j]
	})
	if len(ok) > 20 {
		ok = ok[:20]
	}
	items := make([]weighted, len(ok))
	for i, id := range ok {
		items[i] = weighted{id, 100 * s.PercentFree(id)}
	}
	order := s.ZoneFirst(s.SlowLast(weightedShuffle(items)), zone)
	var picked []int
	hosts := map[int]bool{}
	for _, id := range order {
		if len(picked) == n {
			return picked
		}
		h := s.Devices[id].HostID
		if !hosts[h] {
			hosts[h] = true
			picked = append(picked, id)
		}
	}
	for _, id := range order {
		if len(picked) == n {
			break
		}
		if !contains(picked, id) {
			picked = append(picked, id)
		}
	}
	return picked
}

func contains(s []int, v int) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// headSize returns the Content-Length of url via HEAD. A 2xx without
// Content-Length counts as 0 (the original's lighttpd special case).
func (fc *fileCmds) headSize(ctx context.Context, url string) (int64, error) {
	size, err := fc.nodes.Head(ctx, url)
	return max(size, 0), err
}

// mkcol creates the fid's directories on a device, best effort
// (create_open step 6). stord creates parent directories on PUT anyway, so
// this runs off the request path and its failures are only logged at debug.
// Like the original (Device.pm::create_directory) a directory made once is
// not asked for again for an hour: consecutive fids share their directories,
// so this is a few MKCOLs per thousand uploads instead of three per copy.
func (fc *fileCmds) mkcol(ctx context.Context, url string) {
	u := strings.TrimPrefix(url, "http://")
	slash := strings.IndexByte(u, '/')
	if slash < 0 {
		return
	}
	base, p := "http://"+u[:slash], u[slash:]
	parts := strings.Split(strings.TrimPrefix(p, "/"), "/") // devN b mmm ttt file
	if len(parts) < 5 {
		return
	}
	dir := "/" + parts[0]
	for _, seg := range parts[1:4] {
		dir += "/" + seg
		if fc.mkcols.fresh(base + dir) {
			continue
		}
		c, err := fc.nodes.Do(ctx, "MKCOL", base+dir)
		if err != nil {
			fc.log.Debug("mkcol failed", "url", base+dir, "err", err)
			return
		}
		// 2xx: made or already there. 400/501: a node that does not know
		// MKCOL (Perlbal), which creates directories on PUT: also done.
		if c/100 == 2 || c == 400 || c == 501 {
			fc.mkcols.add(base + dir)
		}
	}
}

// mkcolTTL is how long a directory made by MKCOL is trusted to exist.
const mkcolTTL = time.Hour

// mkcolCache remembers recently made directories (URL -> when).
type mkcolCache struct {
	mu   sync.Mutex // guards made
	made map[string]time.Time
}

func (c *mkcolCache) fresh(url string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	at, ok := c.made[url]
	return ok && time.Since(at) < mkcolTTL
}

func (c *mkcolCache) add(url string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.made == nil || len(c.made) > 100_000 {
		c.made = map[string]time.Time{} // bounded: start over rather than grow
	}
	c.made[url] = time.Now()
}
