// Package jobs runs the tracker's background work over the shared metadata
// store: job_master-style claiming of the replicate, delete and fsck queues
// (Store.Claim with a 1000 s lease, so a crashed tracker's rows come due
// again), the replicator (replication policies, HTTP copies, trimming of
// extra copies), the delete worker and stale-tempfile sweeper, the reaper for
// dead devices, the drainer that empties devices in state drain, and fsck
// (control commands plus the checking worker).
//
// Several trackers may run Jobs against one database. Queue rows are claimed
// exclusively by Store.Claim, and everything that copies, deletes or repairs
// one fid holds the named lock "mgfs:fid:<fid>:replicate", so two trackers
// never work on the same fid at once.
//
// Each kind of work is one type in its own file with a Run(ctx) loop; Jobs
// wires them together and keeps the counters that Stats reports.
package jobs
