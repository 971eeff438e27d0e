package zones

import "errors"

// Problems Parse reports about the zone settings. None of them stops the
// other zones from working: Parse returns the usable Map together with
// every problem joined, for the caller to log.
var (
	// ErrNoNets is reported for a zone named in network_zones without a
	// zone_<name> setting (or with an empty one). The zone matches no
	// address until the setting is made.
	ErrNoNets = errors.New("zones: zone has no networks")

	// ErrBadNet is returned by ParseNets, and reported by Parse, for an
	// entry of a zone_<name> value that is neither a CIDR nor an address.
	// Parse skips the entry; set_server_setting refuses the value.
	ErrBadNet = errors.New("zones: bad network")

	// ErrDuplicateNet is reported for a network listed in two zones. The
	// zone named first in network_zones gets it.
	ErrDuplicateNet = errors.New("zones: network in two zones")
)
