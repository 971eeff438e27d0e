// Package status is the tracker's HTML status page for operators, and the
// same data as JSON.
//
// Handler(src) serves "/", "/status" (HTML, refreshing itself every
// RefreshSeconds with a meta tag, no JavaScript) and "/status.json". The
// tracker mounts it next to /metrics on its metrics_listen address:
//
//	metrics.Serve(ctx, cfg.MetricsListen, reg, map[string]http.Handler{"/": status.Handler(src)}, log)
//
// # What the Source must provide
//
// Each page load calls src.StatusSnapshot(ctx) once, with a context that
// ends after SourceTimeout, and renders the Snapshot it returns; an error
// becomes a 500 page. The Source should answer from memory plus a handful
// of indexed queries, because operators leave the page open and it reloads
// every few seconds. The fields:
//
//   - Tracker.Version (build version), Tracker.Started (process start),
//     Tracker.MonitorRound (monitor.Snapshot.Round). Now and UptimeSeconds
//     may be left zero: the handler fills them.
//   - Hosts: every row of the host table (meta.Host ID, Name, IP, HTTPPort,
//     Status) with Reachable from monitor.Snapshot.HostReachable.
//   - Devices: every row of the device table (ID, HostID, Status, Weight,
//     and HaveUsage/MBTotal/MBUsed as overlaid by the monitor snapshot),
//     Host = the host's name, State = monitor.Snapshot.Dev[devid].State,
//     Utilization = the parsed DevObs.Utilization (nil when "" or "-"; see
//     metrics.ParseUtilization), Files = a copy count when it is cheap
//     (COUNT(*) of file_on per device), else nil.
//   - Queues: meta.Store.QueueDepth of QueueReplicate, QueueDelete,
//     QueueFSCK and QueueRebalance.
//   - JobErrors: recent failures of background jobs. An ErrorLog, filled
//     by the jobs through Add, gives them with Recent; the page shows the
//     newest MaxJobErrors.
//   - Domains: every domain with its classes, including the implicit
//     "default" class (classid 0) when it has no row; MinDevCount,
//     ReplPolicy ("" is shown as given; StoreSource writes
//     "MultipleHosts()"), HashType ("", "MD5", "SHA-1"), and file counts
//     (nil when not counted).
//
// StoreSource implements all of this over a *meta.Store and the monitor's
// snapshot function, caching the COUNT(*) queries for CountEvery, so the
// tracker can use it as is:
//
//	src := &status.StoreSource{Store: store, Monitor: mon.Snapshot, Errors: errLog,
//		Version: version, Started: start, DefaultMinDevCount: cfg.DefaultMinDevCount}
//
// The lists may come in any order; the handler sorts hosts and devices by
// id, domains and classes by name and errors newest first. Every string is
// escaped by html/template, so a domain or host named "<script>" shows as
// text.
package status
