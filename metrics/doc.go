// Package metrics holds the Prometheus side of every mogfs daemon: one HTTP
// server for /metrics (plus extra pages such as the tracker's status page)
// and typed bundles of the metric families each daemon updates.
//
// There is no global state. Each daemon, and each test, builds its own
// *prometheus.Registry and passes it to the constructors here, so several
// trackers in one test process never collide:
//
//	reg := prometheus.NewRegistry()
//	m := metrics.NewTracker(reg)
//	reg.MustRegister(metrics.NewTrackerCollector(func() metrics.TrackerSnapshot { ... }))
//	go metrics.Serve(ctx, cfg.MetricsListen, reg, map[string]http.Handler{"/": statusPage}, log)
//	...
//	m.ObserveRequest("get_paths", "", time.Since(start))
//
// Counters and histograms that events drive (requests, bytes, job outcomes)
// are ordinary vectors in the Tracker, Stord and Mount structs. Values that
// are state rather than events (queue depths, device usage, cache size) are
// read at scrape time from a snapshot function by a prometheus.Collector, so
// no daemon runs an update loop and a scrape never sees a stale copy.
//
// Every name starts with "mogfs_". Label values must come from small fixed
// sets (command names, HTTP methods, queue names, device ids): callers map
// anything a client chose freely (an unknown command, a junk method) to a
// fixed placeholder before it reaches a label, or the series count grows
// without bound.
package metrics
