package meta

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync/atomic"
	"time"
)

// Config says which database Open connects to.
type Config struct {
	DSN    string // DBI:SQLite:dbname=PATH or DBI:mysql:DB:host=H;port=P (db_dsn)
	User   string // db_user (mysql only)
	Pass   string // db_pass (mysql only)
	Logger *slog.Logger
	// Synchronous is SQLite's synchronous pragma: "FULL" (the default: a
	// commit is on disk when it returns, so an OK'd create_close survives
	// power loss) or "NORMAL" (WAL without an fsync per commit; the last
	// commits may roll back on power loss, never corrupt). Ignored on MySQL.
	Synchronous string
	// OnFileChange, when set, is called after a committed change to a
	// fid's copies or existence (AddFileOn, RemoveFileOn, DeleteFile,
	// CloseFile's replaced fid) made through this Store, so a cache of
	// lookups can drop the fid. It must not block.
	OnFileChange func(fid int64)
}

// LogValue keeps the password out of logs.
func (c Config) LogValue() slog.Value {
	pass := ""
	if c.Pass != "" {
		pass = "REDACTED"
	}
	return slog.GroupValue(
		slog.String("dsn", c.DSN),
		slog.String("user", c.User),
		slog.String("pass", pass),
	)
}

// Store is the metadata store over one database. It is safe for concurrent
// use; several Stores (several trackers) may share one database.
type Store struct {
	d dialect
	w *sql.DB // writes; on SQLite a single connection, so writes queue in Go
	r *sql.DB // reads; on MySQL the same pool as w
	// locks holds the connections of held MySQL named locks (nil on
	// SQLite): a separate, unbounded pool, so that many held locks cannot
	// starve queries of connections.
	locks  *sql.DB
	stmts  stmtCache // prepared read statements on r
	log    *slog.Logger
	minFID int64 // MAX(file.fid) at Open: explicit fids must be above it (§3)
	// onFileChange is Config.OnFileChange (nil: none); set at Open.
	onFileChange func(fid int64)
	// queries counts the read statements run (Queries), so tests can
	// assert what an operation costs.
	queries atomic.Int64
	// group runs every write transaction on SQLite (group commit; see
	// group.go); nil on MySQL, whose pool runs transactions side by side.
	group *committer
	// readOnly is set by OpenReadOnly: tx and exec, which every write goes
	// through, and TryLock refuse with ErrReadOnly.
	readOnly bool
}

// Open connects, creates or upgrades the schema, and checks its version.
func Open(ctx context.Context, cfg Config) (*Store, error) {
	dsn, err := ParseDSN(cfg.DSN)
	if err != nil {
		return nil, err
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Store{log: log.With("component", "meta", "dialect", dsn.Driver), onFileChange: cfg.OnFileChange}
	switch dsn.Driver {
	case "sqlite":
		err = openSQLite(ctx, s, dsn, cfg.Synchronous)
	default:
		err = openMySQL(ctx, s, dsn, cfg.User, cfg.Pass)
	}
	if err != nil {
		return nil, err
	}
	if err := s.initSchema(ctx); err != nil {
		s.Close()
		return nil, err
	}
	if err := s.readRow(ctx, "SELECT COALESCE(MAX(fid),0) FROM file").Scan(&s.minFID); err != nil {
		s.Close()
		return nil, fmt.Errorf("meta: max fid: %w", err)
	}
	s.log.Info("metadata store open", "config", cfg, "max_fid", s.minFID)
	return s, nil
}

// Close releases the database.
func (s *Store) Close() error {
	if s.group != nil {
		s.group.close()
	}
	err := errors.Join(s.stmts.close(), s.w.Close())
	if s.r != s.w {
		err = errors.Join(err, s.r.Close())
	}
	if s.locks != nil {
		err = errors.Join(err, s.locks.Close())
	}
	return err
}

// Queries returns how many read statements the store has run: a counter
// for tests and benchmarks that assert an operation's cost.
func (s *Store) Queries() int64 { return s.queries.Load() }

// Dialect returns "sqlite" or "mysql".
func (s *Store) Dialect() string { return s.d.name() }

// DB returns the read pool, for tests and diagnostics that need raw SQL.
func (s *Store) DB() *sql.DB { return s.r }

// Now returns the database's unix time (UNIX_TIMESTAMP / strftime).
func (s *Store) Now(ctx context.Context) (time.Time, error) {
	n, err := s.now(ctx, s.r)
	if err != nil {
		return time.Time{}, err
	}
	return time.Unix(n, 0), nil
}

// fileChanged reports a committed change of fid to Config.OnFileChange.
func (s *Store) fileChanged(fid int64) {
	if s.onFileChange != nil && fid != 0 {
		s.onFileChange(fid)
	}
}

// querier is what *sql.DB, *sql.Conn and *sql.Tx have in common.
type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

func (s *Store) now(ctx context.Context, q querier) (int64, error) {
	if s.group != nil {
		// SQLite's strftime('%s','now') reads this process's clock, so
		// asking Go is the same answer without a statement in the
		// (single, shared) write transaction.
		return time.Now().Unix(), nil
	}
	var n int64
	if err := q.QueryRowContext(ctx, "SELECT "+s.d.nowExpr()).Scan(&n); err != nil {
		return 0, fmt.Errorf("meta: now: %w", err)
	}
	return n, nil
}

// stmtCtx is the context for the statements of a hot write transaction.
// On SQLite (group commit) it drops ctx's cancellation: go-sqlite3 starts a
// goroutine per statement to watch a cancellable context, which on a busy
// tracker costs more than the statements, and an interrupted statement
// would only send the whole group back to run one by one. Each statement
// takes microseconds, and ctx is still checked before the transaction
// starts. On MySQL, where a statement can wait on the network or a row
// lock, ctx is kept.
func (s *Store) stmtCtx(ctx context.Context) context.Context {
	if s.group != nil {
		return context.WithoutCancel(ctx)
	}
	return ctx
}

// maxAttempts bounds the retries of a write that hit a deadlock or busy
// database; each attempt waits a little longer.
const maxAttempts = 12

// tx runs fn in a write transaction, retrying the whole transaction when the
// database reports a deadlock, a lock-wait timeout or a busy file. fn must use
// only tx: on SQLite the writer pool has one connection, which tx holds.
func (s *Store) tx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	if s.readOnly {
		return ErrReadOnly
	}
	for attempt := 1; ; attempt++ {
		err := s.tryTx(ctx, fn)
		if err == nil || !s.d.isRetryable(err) || attempt == maxAttempts {
			return err
		}
		s.log.Debug("retrying transaction", "attempt", attempt, "err", err)
		if err := sleep(ctx, attempt); err != nil {
			return err
		}
	}
}

func (s *Store) tryTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	if s.group != nil {
		return s.group.do(ctx, fn)
	}
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		tx.Rollback()
		return err
	}
	return tx.Commit()
}

// exec runs one write statement with the same retries as tx.
func (s *Store) exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if s.readOnly {
		return nil, ErrReadOnly
	}
	if s.group != nil {
		var res sql.Result
		err := s.tx(ctx, func(tx *sql.Tx) error {
			var err error
			res, err = tx.ExecContext(ctx, query, args...)
			return err
		})
		return res, err
	}
	for attempt := 1; ; attempt++ {
		res, err := s.w.ExecContext(ctx, query, args...)
		if err == nil || !s.d.isRetryable(err) || attempt == maxAttempts {
			return res, err
		}
		if err := sleep(ctx, attempt); err != nil {
			return nil, err
		}
	}
}

// sleep waits a jittered, growing delay before retry number attempt.
func sleep(ctx context.Context, attempt int) error {
	d := time.Duration(attempt*attempt)*5*time.Millisecond + rand.N(10*time.Millisecond)
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// execOne runs a write that must touch exactly one row, or ErrNotFound.
func (s *Store) execOne(ctx context.Context, op string, query string, args ...any) error {
	res, err := s.exec(ctx, query, args...)
	if err != nil {
		return fmt.Errorf("meta: %s: %w", op, s.mapErr(err))
	}
	return mustAffect(res, op)
}

func mustAffect(res sql.Result, op string) error {
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("meta: %s: %w", op, err)
	}
	if n == 0 {
		return fmt.Errorf("meta: %s: %w", op, ErrNotFound)
	}
	return nil
}

// mapErr turns a unique-constraint violation into ErrExists (keeping the
// driver error in the chain for the log).
func (s *Store) mapErr(err error) error {
	if err != nil && s.d.isDup(err) {
		return fmt.Errorf("%w: %w", ErrExists, err)
	}
	return err
}

// unix converts a stored unix time; 0 (and NULL) is the zero time.
func unix(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(n, 0)
}

// unixOrZero stores the zero time as 0.
func unixOrZero(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.Unix()
}

// nullInt stores 0 as NULL.
func nullInt(v int64) sql.NullInt64 { return sql.NullInt64{Int64: v, Valid: v != 0} }

// nullStr stores "" as NULL.
func nullStr(v string) sql.NullString { return sql.NullString{String: v, Valid: v != ""} }
