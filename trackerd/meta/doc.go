// Package meta is the tracker's metadata store: the MogileFS database schema
// (version 17) over embedded SQLite or MySQL/MariaDB, behind one concrete
// *Store.
//
// The tables, columns and indexes are the original's, so an existing
// MogileFS MySQL database is served without migration and mogilefsd (or
// mogstats, or an operator's ad-hoc SQL) can read ours. Two deliberate
// differences, both additive: file.dkey and tempfile.dkey are widened to hold
// keys of 1024 bytes (VARBINARY on MySQL, so key order is byte order on both
// dialects), and the extension table mogfs_attr holds the POSIX attributes
// the mount needs. Open creates or upgrades the schema idempotently;
// OpenReadOnly opens an existing one for tools that only read it (mogstats),
// creating nothing and refusing every write.
//
// Concurrency model. On SQLite all writes go through one connection opened
// with _txlock=immediate (a Go-side queue, so writers in this process never
// see "database is locked"), and reads use a WAL reader pool. On MySQL every
// write transaction is retried on deadlock (1213) and lock-wait timeout
// (1205); rows that decide a write (the old fid of a key, queue rows being
// claimed) are read with FOR UPDATE. Work-queue rows are claimed by moving
// nexttry to now+lease inside one transaction, so two trackers never claim
// the same row and a crashed claimer's rows come due again.
//
// Conventions: every method takes ctx first; "not found" is ErrNotFound (or
// a more specific sentinel from errors.go); uniqueness violations are
// ErrExists; nothing here formats wire errors. Consumers declare the small
// interface they use (jobs.Store, monitor.Store, status.Store); the
// conformance suite metatest runs every method against both databases.
//
// Times are unix seconds in the database (mogfs_attr times are unix
// nanoseconds) and time.Time in the API; nexttry 0 reads back as the zero
// time.
package meta
