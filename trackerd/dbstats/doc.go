// Package dbstats is the work of the mogstats tool: the slow statistics of
// MogileFS-Utils' mogstats, read directly from a MogileFS database (SQLite
// or MySQL/MariaDB) and printed in the original's layout.
//
// The database is opened with meta.OpenReadOnly, so mogstats can run beside
// the trackers, or against a replica, and never changes anything. The
// option handling (--db_dsn, --stats, config files) is client/cli's Stats;
// this package sits under trackerd because it needs the database drivers,
// which the client library must not depend on.
//
// As the original, Run first runs the queries of every statistic asked for,
// in the original's order and with a "... X stats..." note around each under
// --verbose, then prints the sections in the original's print order, each
// with the original's printf formats, names sorted as Perl sorts them.
// Rows are named by domain and class name (a classid without a class row
// has an empty name), devices by devid and host name.
package dbstats
