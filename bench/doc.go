// Package bench is the mogfs benchmark suite behind scripts/bench and
// cmd/mogbench.
//
// The machines mogfs is developed and tested on are shared and noisy, so an
// absolute time means little from one run to the next. Every figure the
// suite reports therefore stands beside a physical reference measured in the
// same run, on the same machine, interleaved with the workload rep by rep:
//
//   - tracker requests beside `noop` round trips on the same connections,
//   - storage-node and client transfers beside plain file I/O of the same
//     bytes on the same disk (with fsync where the node fsyncs),
//   - the FUSE mount beside the same workload in a plain local directory,
//   - peak memory (VmHWM) beside the same process's peak right after start-up,
//     and, in the million section (run only when asked), trackerd's peak with
//     a million files in its database beside its 100 MB budget.
//
// The ratio (figure / reference) is the number to compare across runs and
// machines. For rates, 1.0 means "as fast as the reference" and 0.25 means
// four times slower; for memory it is the growth over start-up.
//
// Run starts its own cluster (one trackerd, two stord nodes on their own
// loopback addresses, a class with one copy so that background replication
// does not disturb the timings), runs every workload Sizes asks for, and
// returns a Report. A workload that fails is recorded in its row (Row.Err)
// and the run goes on, so one broken component does not hide the others.
package bench
