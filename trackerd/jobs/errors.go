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

	// ErrBadRebalPolicy wraps what is wrong with a rebalance policy; the
	// tracker answers bad_rebal_pol with the message.
	ErrBadRebalPolicy = errors.New("jobs: bad rebalance policy")

	// ErrNoSetRebal is returned by Rebalance.SetPolicy while a run is going
	// (no_set_rebal).
	ErrNoSetRebal = errors.New("jobs: cannot change rebalance policy while rebalance is running")

	// ErrNoRebalPolicy is returned when a rebalance needs a policy and none
	// was set (no_rebal_policy).
	ErrNoRebalPolicy = errors.New("jobs: no rebalance policy")

	// ErrRebalAlready is returned by Rebalance.Start while a run is going
	// (rebal_running).
	ErrRebalAlready = errors.New("jobs: rebalance is already running")

	// ErrRebalNotStarted is returned by Rebalance.Stop when no run is going
	// (rebal_not_started).
	ErrRebalNotStarted = errors.New("jobs: rebalance not started")

	// ErrNoRebalState is returned by Rebalance.Status before any run
	// (no_rebal_state).
	ErrNoRebalState = errors.New("jobs: no rebalance state")

	// errSource and errDest classify a failed copy: the source could not be
	// read (try another source) or the destination refused (try another
	// destination).
	errSource = errors.New("jobs: source error")
	errDest   = errors.New("jobs: destination error")
)
