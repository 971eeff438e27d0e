package meta

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	sqlite3 "github.com/mattn/go-sqlite3"
)

// sqliteDialect is MogileFS's Store/SQLite.pm flavour: the same tables with
// ENUMs as TEXT, AUTOINCREMENT fids and a lock table for named locks.
type sqliteDialect struct{}

// sqliteBusyMS is how long a connection waits on another process's lock
// (the original uses 5000 ms); writers in this process queue in Go instead.
const sqliteBusyMS = 10000

// sqliteStmtCache is how many prepared statements each connection keeps;
// the store uses a few dozen distinct statements.
const sqliteStmtCache = 64

func openSQLite(ctx context.Context, s *Store, dsn DSN, sync string) error {
	switch sync = strings.ToUpper(sync); sync {
	case "":
		sync = "FULL"
	case "FULL", "NORMAL":
	default:
		return fmt.Errorf("meta: sqlite synchronous %q: want FULL or NORMAL", sync)
	}
	path, err := filepath.Abs(dsn.Path)
	if err != nil {
		return fmt.Errorf("meta: sqlite path %q: %w", dsn.Path, err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("meta: sqlite dir: %w", err)
	}
	// file: URI so that '?' or '#' in the path cannot be read as parameters.
	u := "file:" + (&url.URL{Path: path}).EscapedPath() + "?"
	// WAL lets readers run beside the writer. synchronous=FULL (default)
	// fsyncs the WAL on every commit, so a create_close that returned OK
	// survives power loss, as it does on the original's MySQL with InnoDB
	// defaults; NORMAL (opt-in) drops that fsync, risking only the last
	// commits, never corruption.
	// _stmt_cache_size: go-sqlite3 otherwise compiles every statement with
	// arguments anew (sqlite3_prepare was ~20% of a create_close's CPU).
	common := fmt.Sprintf("_busy_timeout=%d&_journal_mode=WAL&_synchronous=%s&_foreign_keys=0&_stmt_cache_size=%d",
		sqliteBusyMS, sync, sqliteStmtCache)
	// _txlock=immediate: a write transaction takes the write lock at BEGIN,
	// so it can never fail half-way with SQLITE_BUSY on lock upgrade.
	w, err := sql.Open("sqlite3", u+common+"&_txlock=immediate")
	if err != nil {
		return fmt.Errorf("meta: open sqlite: %w", err)
	}
	// One writer connection: SQLite allows one writer at a time anyway, and
	// queueing in database/sql's pool never surfaces "database is locked".
	w.SetMaxOpenConns(1)
	w.SetConnMaxIdleTime(0)
	if err := w.PingContext(ctx); err != nil {
		w.Close()
		return fmt.Errorf("meta: open sqlite %s: %w", path, err)
	}
	// Checkpoints run in the background (checkpoint.go), not inside the
	// COMMIT that crosses SQLite's default 1000-page mark: that commit
	// would copy the WAL into the database and fsync both, holding up
	// every writer queued behind it. The writer still checkpoints itself
	// past sqliteWALBackstop pages, should the background fall behind.
	// (Should database/sql ever reopen the connection, it gets SQLite's
	// default back: slower, not wrong.)
	if _, err := w.ExecContext(ctx, fmt.Sprintf("PRAGMA wal_autocheckpoint=%d", sqliteWALBackstop)); err != nil {
		w.Close()
		return fmt.Errorf("meta: sqlite wal_autocheckpoint: %w", err)
	}
	r, err := sql.Open("sqlite3", u+common)
	if err != nil {
		w.Close()
		return fmt.Errorf("meta: open sqlite: %w", err)
	}
	r.SetMaxOpenConns(8)
	r.SetMaxIdleConns(8)
	s.d, s.w, s.r = sqliteDialect{}, w, r
	s.group = newCommitter(w)
	s.group.startCheckpointer(r, s.log)
	return nil
}

func (sqliteDialect) name() string         { return "sqlite" }
func (sqliteDialect) nowExpr() string      { return "CAST(strftime('%s','now') AS INTEGER)" }
func (sqliteDialect) insertIgnore() string { return "INSERT OR IGNORE" }

// SQLite's substr and instr count characters on TEXT; as a BLOB they count
// bytes, which is what a key prefix's length is (and keys need not be
// valid UTF-8). The result goes back to TEXT so it compares with dkey.
func (sqliteDialect) slashAt(col, from string) string {
	return "instr(substr(CAST(" + col + " AS BLOB), " + from + "), x'2f')"
}
func (d sqliteDialect) pastDir(col string) string {
	return "CAST(substr(CAST(" + col + " AS BLOB), 1, ? + " + d.slashAt(col, "?") + " - 1) || '0' AS TEXT)"
}
func (sqliteDialect) cteHint() string   { return "" }
func (sqliteDialect) forUpdate() string { return "" }
func (sqliteDialect) claimLock() string { return "" }

func (sqliteDialect) clearTableSQL(table string) string { return "DELETE FROM " + table }

func (sqliteDialect) isDup(err error) bool {
	var e sqlite3.Error
	if errors.As(err, &e) {
		return e.ExtendedCode == sqlite3.ErrConstraintUnique || e.ExtendedCode == sqlite3.ErrConstraintPrimaryKey
	}
	return false
}

func (sqliteDialect) isRetryable(err error) bool {
	var e sqlite3.Error
	if errors.As(err, &e) {
		return e.Code == sqlite3.ErrBusy || e.Code == sqlite3.ErrLocked
	}
	return false
}

// upgrade adds the columns that later schema versions added, when a database
// made by an older mogilefsd lacks them (SQLite.pm created most tables at the
// latest layout, so this is rarely needed). The original's VARCHAR(255) dkey
// is already unbounded TEXT with BINARY collation on SQLite.
func (sqliteDialect) upgrade(ctx context.Context, db *sql.DB) error {
	add := []struct{ table, column, decl string }{
		{"class", "replpolicy", "VARCHAR(255)"},
		{"class", "hashtype", "TINYINT UNSIGNED"},
		{"file_to_queue", "arg", "TEXT"},
		{"mogfs_attr", "dirkey", "VARCHAR(1025)"},
		{"mogfs_attr", "ino", "BIGINT NOT NULL DEFAULT 0"},
		{"mogfs_attr", "rdev", "BIGINT NOT NULL DEFAULT 0"},
		{"mogfs_attr", "linkkey", "VARCHAR(1024)"},
	}
	for _, a := range add {
		cols, err := sqliteColumns(ctx, db, a.table)
		if err != nil {
			return err
		}
		if cols[a.column] {
			continue
		}
		q := fmt.Sprintf("ALTER TABLE %s ADD COLUMN %s %s", a.table, a.column, a.decl)
		if _, err := db.ExecContext(ctx, q); err != nil && !strings.Contains(err.Error(), "duplicate column") {
			return fmt.Errorf("meta: upgrade: %s: %w", q, err)
		}
		if a.column == "dirkey" {
			// Directory rows written before dirkey existed (only mogfs
			// trackers write mogfs_attr, and they keep it from now on).
			if _, err := db.ExecContext(ctx, "UPDATE mogfs_attr SET dirkey = path || '/' WHERE isdir = 1"); err != nil {
				return fmt.Errorf("meta: upgrade: fill dirkey: %w", err)
			}
		}
	}
	for _, q := range []string{
		"CREATE INDEX IF NOT EXISTS mogfs_attr_dirkey ON mogfs_attr (dmid, dirkey)",
		"CREATE INDEX IF NOT EXISTS mogfs_attr_linkkey ON mogfs_attr (dmid, linkkey)",
		"DROP INDEX IF EXISTS mogfs_attr_dirs", // replaced by mogfs_attr_dirkey
	} {
		if _, err := db.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("meta: upgrade: %s: %w", q, err)
		}
	}
	return nil
}

func sqliteColumns(ctx context.Context, db *sql.DB, table string) (map[string]bool, error) {
	rows, err := db.QueryContext(ctx, "SELECT name FROM pragma_table_info(?)", table)
	if err != nil {
		return nil, fmt.Errorf("meta: columns of %s: %w", table, err)
	}
	defer rows.Close()
	cols := map[string]bool{}
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			return nil, err
		}
		cols[strings.ToLower(n)] = true
	}
	return cols, rows.Err()
}

func (sqliteDialect) tableExistsSQL() string {
	return "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = ?"
}
