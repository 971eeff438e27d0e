package monitor

import "errors"

// Sentinel errors of the monitor.
var (
	// ErrBadUsage is returned by ParseUsage when the usage file lacks a
	// non-zero numeric "used" or "total" field; the monitor then keeps the
	// device's previous usage and logs the device check as failed, as the
	// original does.
	ErrBadUsage = errors.New("monitor: bad usage file")
)
