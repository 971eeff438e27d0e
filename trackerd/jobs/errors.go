package jobs

import "errors"

// Sentinel errors of the background jobs.
var (
	// ErrUnknownPolicy is returned by ParsePolicy for a replication policy
	// this tracker cannot run (anything but MultipleHosts, MultipleDevices,
	// MultipleNetworks and HostsPerNetwork, with their arguments well
	// formed). create_class should refuse it; a class already
	// holding one is logged and its files retried with backoff.
	ErrUnknownPolicy = errors.New("jobs: unknown replication policy")

	// ErrFsckRunning is returned by Fsck.Start while fsck_host is set; the
	// tracker answers fsck_running.
	ErrFsckRunning = errors.New("jobs: fsck is already running")

	// ErrRebalRunning is returned by Fsck.Start while a rebalance runs
	// (rebal_host set); the tracker answers rebal_running.
	ErrRebalRunning = errors.New("jobs: rebalance running; cannot run fsck at same time")

	// errSource and errDest classify a failed copy: the source could not be
	// read (try another source) or the destination refused (try another
	// destination).
	errSource = errors.New("jobs: source error")
	errDest   = errors.New("jobs: destination error")
)
