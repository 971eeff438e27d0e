package monitor

import (
	"net"
	"strconv"
	"time"

	"mogfs/trackerd/meta"
	"mogfs/trackerd/zones"
)

// Observed device states (memory only, behaviours.md §2.2).
const (
	StateWriteable   = "writeable"
	StateReadable    = "readable"
	StateUnreachable = "unreachable"
)

// DevObs is what the monitor observed about one device.
type DevObs struct {
	// State is StateWriteable, StateReadable, StateUnreachable, or "" when
	// the device has not been probed (not monitored, or no round yet).
	State string
	// Utilization is the iostat %util string from the side channel, e.g.
	// "3.50", "-" when the node does not know, "" when no data.
	Utilization string
	// RejectBadMD5 reports that the node refused a PUT with a wrong
	// Content-MD5, so it verifies uploads itself.
	RejectBadMD5 bool
}

// Snapshot is an immutable view of the hosts, devices and what the monitor
// observed about them. Callers must not modify its maps.
type Snapshot struct {
	Hosts   map[int]meta.Host
	Devices map[int]meta.Device // usage fields overlaid with the latest probe
	Dev     map[int]DevObs
	// HostReachable reports that some device of the host answered its
	// usage probe in the last round.
	HostReachable map[int]bool
	// Round counts completed probe rounds (0 before the first).
	Round uint64
	// Zones maps addresses to the network zones of the network_zones and
	// zone_<name> server settings, as read in the last round or Refresh;
	// nil when no zone is set.
	Zones *zones.Map
	// HostLatency is each reachable host's usage-probe latency, smoothed
	// over rounds (latency.go).
	HostLatency map[int]time.Duration

	minFreeMB int64
	slow      map[int]bool   // hosts HostSlow reports
	hostZone  map[int]string // each host's zone, worked out once at publication (nil: work it out per call)
}

func (s *Snapshot) devHost(devid int) (meta.Device, meta.Host, bool) {
	d, ok := s.Devices[devid]
	if !ok {
		return meta.Device{}, meta.Host{}, false
	}
	h, ok := s.Hosts[d.HostID]
	return d, h, ok
}

// HostZone returns the network zone of the host's IP, "" when it lies in
// none (or the host is unknown, or no zone is set).
func (s *Snapshot) HostZone(hostid int) string {
	if s.hostZone != nil {
		return s.hostZone[hostid]
	}
	h, ok := s.Hosts[hostid]
	if !ok {
		return ""
	}
	z, _ := s.Zones.LookupString(h.IP)
	return z
}

// ZoneFirst returns devids with the devices whose host lies in zone first,
// each group in the order given: the ZoneLocal plugin's
// prioritize_devs_current_zone. With zone "" it returns devids as they are;
// it never modifies devids.
func (s *Snapshot) ZoneFirst(devids []int, zone string) []int {
	if zone == "" || s.Zones == nil {
		return devids
	}
	in := make([]int, 0, len(devids))
	var out []int
	for _, id := range devids {
		if s.HostZone(s.Devices[id].HostID) == zone {
			in = append(in, id)
		} else {
			out = append(out, id)
		}
	}
	return append(in, out...)
}

// CanReadFrom reports whether the admin states allow reading from the device:
// host alive or readonly and device alive, readonly or drain. It also decides
// whether the monitor probes the device.
func (s *Snapshot) CanReadFrom(devid int) bool {
	d, h, ok := s.devHost(devid)
	return ok && canReadFrom(h, d)
}

func canReadFrom(h meta.Host, d meta.Device) bool {
	hostOK := h.Status == "alive" || h.Status == "readonly"
	devOK := d.Status == "alive" || d.Status == "readonly" || d.Status == "drain"
	return hostOK && devOK
}

// ShouldReadFrom is CanReadFrom plus the host observed reachable and the
// device observed readable or writeable.
func (s *Snapshot) ShouldReadFrom(devid int) bool {
	if !s.CanReadFrom(devid) {
		return false
	}
	d := s.Devices[devid]
	st := s.Dev[devid].State
	return s.HostReachable[d.HostID] && (st == StateReadable || st == StateWriteable)
}

// CanDeleteFrom reports whether replicas may be removed from the device: host
// alive and device alive or drain.
func (s *Snapshot) CanDeleteFrom(devid int) bool {
	d, h, ok := s.devHost(devid)
	return ok && h.Status == "alive" && (d.Status == "alive" || d.Status == "drain")
}

// ShouldGetNewFiles reports whether the device may receive new files or
// replicas: device alive and observed writeable, host alive and observed
// reachable, and, when the usage is known, at least MinFreeMB free.
func (s *Snapshot) ShouldGetNewFiles(devid int) bool {
	d, h, ok := s.devHost(devid)
	if !ok || d.Status != "alive" || h.Status != "alive" {
		return false
	}
	if s.Dev[devid].State != StateWriteable || !s.HostReachable[h.ID] {
		return false
	}
	if d.HaveUsage && d.MBTotal > 0 && d.MBTotal-d.MBUsed < s.minFreeMB {
		return false
	}
	return true
}

// ShouldHaveFiles reports whether copies on the device count: any known
// device not in state dead.
func (s *Snapshot) ShouldHaveFiles(devid int) bool {
	d, ok := s.Devices[devid]
	return ok && d.Status != "dead"
}

// IsWriteable reports whether the device was observed writeable.
func (s *Snapshot) IsWriteable(devid int) bool { return s.Dev[devid].State == StateWriteable }

// PercentFree is the free fraction 1 − used/total in [0,1] (the original's
// percent_free, used ×100 as a weight), 0 when the usage is unknown.
func (s *Snapshot) PercentFree(devid int) float64 {
	d, ok := s.Devices[devid]
	if !ok || !d.HaveUsage || d.MBTotal <= 0 {
		return 0
	}
	f := 1 - float64(d.MBUsed)/float64(d.MBTotal)
	if f < 0 {
		return 0
	}
	return f
}

// MBFree is mb_total − mb_used, or -1 when the usage is unknown.
func (s *Snapshot) MBFree(devid int) int64 {
	d, ok := s.Devices[devid]
	if !ok || !d.HaveUsage {
		return -1
	}
	return d.MBTotal - d.MBUsed
}

// HostPort returns "ip:http_port" of the device's host, where files are PUT,
// DELETEd and MKCOLed ("" for an unknown device).
func (s *Snapshot) HostPort(devid int) string {
	_, h, ok := s.devHost(devid)
	if !ok {
		return ""
	}
	return net.JoinHostPort(h.IP, strconv.Itoa(httpPort(h)))
}

// GetHostPort returns "ip:port" for reads: http_get_port when set, else
// http_port ("" for an unknown device).
func (s *Snapshot) GetHostPort(devid int) string {
	_, h, ok := s.devHost(devid)
	if !ok {
		return ""
	}
	return net.JoinHostPort(h.IP, strconv.Itoa(getPort(h)))
}

func httpPort(h meta.Host) int {
	if h.HTTPPort == 0 {
		return 7500
	}
	return h.HTTPPort
}

func getPort(h meta.Host) int {
	if h.HTTPGetPort != 0 {
		return h.HTTPGetPort
	}
	return httpPort(h)
}
