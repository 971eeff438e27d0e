// Package zones maps IP addresses to network zones, as the MogileFS-Network
// plugin (MogileFS/Network.pm) does: the server setting network_zones names
// the zones ("east, west") and zone_<name> lists each zone's networks
// ("10.1.0.0/16, 192.168.5.0/24"). An address belongs to the zone of the
// longest network that contains it, and to no zone when none does.
//
// The tracker's monitor parses the settings into a Map with every round and
// publishes it in its snapshot; the replication policies MultipleNetworks
// and HostsPerNetwork group hosts by it, and get_paths and create_open put
// the devices in the client's zone first (the plugin's ZoneLocal).
package zones

import (
	"cmp"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"
)

// Setting keys read by Parse.
const (
	// ZonesKey names the zones, comma-separated.
	ZonesKey = "network_zones"
	// NetsPrefix followed by a zone's name is the key listing its networks.
	NetsPrefix = "zone_"
)

// Map is an immutable zone lookup table. A nil *Map has no zones.
type Map struct {
	nets []zoneNet // longest prefix first; equal lengths in network_zones order
}

type zoneNet struct {
	pfx  netip.Prefix
	zone string
}

// Parse builds the Map from the server settings. It returns nil when
// network_zones names no zone. Problems (ErrNoNets, ErrBadNet,
// ErrDuplicateNet, joined) do not make the Map unusable: the bad entries
// are left out, as the plugin warns and skips them.
func Parse(settings map[string]string) (*Map, error) {
	var names []string
	for n := range strings.SplitSeq(settings[ZonesKey], ",") {
		if n = strings.TrimSpace(n); n != "" && !slices.Contains(names, n) {
			names = append(names, n)
		}
	}
	if len(names) == 0 {
		return nil, nil
	}
	m := &Map{}
	var errs []error
	owner := map[netip.Prefix]string{}
	for _, n := range names {
		pfxs, err := ParseNets(settings[NetsPrefix+n])
		if err != nil {
			errs = append(errs, fmt.Errorf("%s%s: %w", NetsPrefix, n, err))
		}
		if len(pfxs) == 0 && err == nil {
			errs = append(errs, fmt.Errorf("%w: %q (set %s%s)", ErrNoNets, n, NetsPrefix, n))
		}
		for _, p := range pfxs {
			if o, dup := owner[p]; dup {
				if o != n {
					errs = append(errs, fmt.Errorf("%w: %s in %q and %q", ErrDuplicateNet, p, o, n))
				}
				continue
			}
			owner[p] = n
			m.nets = append(m.nets, zoneNet{p, n})
		}
	}
	slices.SortStableFunc(m.nets, func(a, b zoneNet) int { return cmp.Compare(b.pfx.Bits(), a.pfx.Bits()) })
	return m, errors.Join(errs...)
}

// ParseNets parses a zone_<name> value: CIDRs or single addresses
// separated by commas or white space. Good entries are returned even when
// others are bad (ErrBadNet).
func ParseNets(v string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	var errs []error
	for _, f := range strings.FieldsFunc(v, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' || r == '\n' || r == '\r' }) {
		p, err := netip.ParsePrefix(f)
		if err != nil {
			a, aerr := netip.ParseAddr(f)
			if aerr != nil || a.Zone() != "" {
				errs = append(errs, fmt.Errorf("%w: %q", ErrBadNet, f))
				continue
			}
			a = a.Unmap()
			p = netip.PrefixFrom(a, a.BitLen())
		}
		if p.Addr().Is4In6() && p.Bits() >= 96 {
			p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
		}
		out = append(out, p.Masked())
	}
	return out, errors.Join(errs...)
}

// Lookup returns the zone of ip, and false when it lies in none.
func (m *Map) Lookup(ip netip.Addr) (string, bool) {
	if m == nil || !ip.IsValid() {
		return "", false
	}
	ip = ip.Unmap()
	for _, n := range m.nets {
		if n.pfx.Contains(ip) {
			return n.zone, true
		}
	}
	return "", false
}

// LookupString is Lookup of a textual address; an unparsable one lies in
// no zone.
func (m *Map) LookupString(ip string) (string, bool) {
	if m == nil {
		return "", false
	}
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return "", false
	}
	return m.Lookup(a)
}
