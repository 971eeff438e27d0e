package bench

import "errors"

// ErrNoBinary is returned by Run when Config.Bin lacks trackerd, stord or
// mogfs; build them first (go build -o bin/ ./cmd/...).
var ErrNoBinary = errors.New("bench: binary missing")

// ErrNotReady is returned by Run when the cluster it started did not come
// up (a daemon exited, or the devices never became writeable); the error
// carries the tail of the daemon's log.
var ErrNotReady = errors.New("bench: cluster not ready")

// ErrSkipped marks a row whose workload could not run on this machine (no
// FUSE, not root). It is recorded in Row.Err, never returned by Run.
var ErrSkipped = errors.New("bench: skipped")
