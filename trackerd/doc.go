// Package trackerd is the MogileFS tracker (mogilefsd): the line protocol
// server on port 7001 and the glue that runs the metadata store, the monitor
// and the background jobs in one process.
//
// Model. Each client connection gets a goroutine that reads request lines,
// runs them strictly in order (pipelining allowed) and buffers the replies,
// flushing only when no further complete request is already buffered, so a
// pipelining client costs one write per batch. There is no worker pool: the
// original queued requests behind 20 worker processes, we let the Go
// scheduler and the database pool bound the concurrency instead.
//
// Hot-path state lives in memory: domains, classes and server settings are an
// immutable snapshot (nsCache) reloaded every few seconds so that changes made
// by other trackers sharing the database show up within about 4 s, as with the
// original's monitor DB poll, while a tracker's own change reloads it at once.
// Hosts, devices and their observed states come from the monitor's snapshot.
// So get_paths costs one indexed query (file JOIN file_on), or none when
// the key was looked up within get_paths_cache_ttl (2 s; see pathcache.go
// for the staleness this allows across trackers, the same as the
// original's memcache support), and create_open one insert. On SQLite all
// writes go through one group-commit goroutine (meta/group.go), so
// concurrent create_close calls share an fsync under synchronous=FULL.
//
// Observability. With metrics_listen set, the tracker serves /metrics from
// its own Prometheus registry (several trackers may share a process), the
// status page at / and /status, and /status.json; jobs report failures
// into a status.ErrorLog shown there (observe.go).
//
// Signed storage URLs. With storage_secret set, the storage URLs in
// replies are signed in one place after the command (sign.go), and the
// tracker's own node requests by the HTTP clients that send them.
//
// Errors. Handlers return *protocol.Error for wire errors; any other error
// becomes "ERR failure Operation+failed" (logged), and a panic in a handler is
// recovered per request with the same reply, as the Perl tracker turns an
// exception into that line.
package trackerd
