// Package monitor watches the storage nodes for the tracker, as MogileFS's
// Worker/Monitor.pm and IOStatWatcher.pm do.
//
// Every round (Config.Interval, 2.5 s by default) the monitor reloads the host
// and device tables from the metadata store and probes every device the
// tracker may read from (Snapshot.CanReadFrom): it GETs /devN/usage (host and
// device reachability, disk usage written back to the database at most every
// 15 s by one tracker at a time under the lock "mgfs:device_update"), and
// every Config.WriteTestEvery it runs the write test (PUT then GET of a small
// file, deciding "writeable" or "readable") followed by the Content-MD5 probe
// (reject_bad_md5). The usage also decides without a write test, in the
// round that fetched it: a device whose file system is mounted read-only
// (stord's "readonly: 1") is readable at once, one with less than
// MinFreeMB free is not tested (it gets no files anyway), and either is
// tested in the first round after it recovers. A usage that cannot be
// fetched (a device directory that is gone answers 404) makes the device
// unreachable. A persistent side-channel connection per host (`watch`)
// feeds the iostat utilization of each device. The round also reads the
// network zones (the network_zones and zone_<name> server settings, see
// package zones), so that hosts and their zones come from one view; the
// plugin reloads them every minute, the monitor every round.
//
// What the monitor learned is published as an immutable *Snapshot swapped in
// atomically after each round, so readers (create_open, get_paths and the
// background jobs) never lock: they call Monitor.Snapshot and use its
// predicates. Observed states live in memory only, as in the original.
package monitor
