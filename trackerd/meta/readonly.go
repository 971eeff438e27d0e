package meta

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
)

// OpenReadOnly opens an existing MogileFS database for reading only, for
// tools that inspect it beside running trackers (mogstats reads its slow
// statistics this way, as the original reads the database directly). Unlike
// Open it creates, upgrades and records nothing: on SQLite the file is
// opened read-only, so a wrong path is an error rather than a new empty
// database; on MySQL it needs only SELECT, so it can point at a replica or
// a read-only account. Every write method of the returned Store, and
// TryLock, fails with ErrReadOnly. A database without a MogileFS schema is
// ErrSchemaVersion.
func OpenReadOnly(ctx context.Context, cfg Config) (*Store, error) {
	dsn, err := ParseDSN(cfg.DSN)
	if err != nil {
		return nil, err
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Store{log: log.With("component", "meta", "dialect", dsn.Driver), readOnly: true}
	switch dsn.Driver {
	case "sqlite":
		err = openSQLiteReadOnly(ctx, s, dsn)
	default:
		err = openMySQL(ctx, s, dsn, cfg.User, cfg.Pass)
	}
	if err != nil {
		return nil, err
	}
	v, found, err := s.storedVersion(ctx)
	switch {
	case err != nil:
		s.Close()
		return nil, err
	case !found:
		s.Close()
		return nil, fmt.Errorf("%w: no schema_version in server_settings: not a MogileFS database", ErrSchemaVersion)
	case v > SchemaVersion:
		s.Close()
		return nil, fmt.Errorf("%w: database has %d, this version knows up to %d", ErrSchemaVersion, v, SchemaVersion)
	}
	return s, nil
}

// openSQLiteReadOnly opens one pool with mode=ro for both reads and (refused)
// writes. A reader of a WAL database needs no write access: SQLite reads
// the -wal and -shm files a running tracker keeps, or the database alone
// when there are none.
func openSQLiteReadOnly(ctx context.Context, s *Store, dsn DSN) error {
	path, err := filepath.Abs(dsn.Path)
	if err != nil {
		return fmt.Errorf("meta: sqlite path %q: %w", dsn.Path, err)
	}
	if _, err := os.Stat(path); err != nil {
		return fmt.Errorf("meta: open sqlite read-only: %w", err)
	}
	u := "file:" + (&url.URL{Path: path}).EscapedPath() +
		fmt.Sprintf("?mode=ro&_busy_timeout=%d&_stmt_cache_size=%d", sqliteBusyMS, sqliteStmtCache)
	db, err := sql.Open("sqlite3", u)
	if err != nil {
		return fmt.Errorf("meta: open sqlite: %w", err)
	}
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return fmt.Errorf("meta: open sqlite %s read-only: %w", path, err)
	}
	db.SetMaxOpenConns(8)
	db.SetMaxIdleConns(8)
	s.d, s.w, s.r = sqliteDialect{}, db, db
	return nil
}
