package meta

import (
	"context"
	"database/sql"
	"time"
)

// dialect holds what differs between SQLite and MySQL; everything else is
// shared SQL with ? placeholders. Implemented by sqliteDialect (sqlite.go)
// and mysqlDialect (mysql.go).
type dialect interface {
	name() string
	// nowExpr is an expression for the database's unix time as an integer.
	nowExpr() string
	// insertIgnore is the verb of an insert that keeps an existing row
	// ("INSERT IGNORE" / "INSERT OR IGNORE").
	insertIgnore() string
	// forUpdate is appended to a SELECT whose rows decide a following write
	// in the same transaction (row locks on MySQL; SQLite's immediate
	// transactions already exclude other writers).
	forUpdate() string
	// claimLock is appended to the SELECT of a queue claim (FOR UPDATE SKIP
	// LOCKED where the server has it).
	claimLock() string
	// clearTableSQL empties a table (TRUNCATE on MySQL, like the original).
	clearTableSQL(table string) string
	// tableExistsSQL counts the tables named by its one argument.
	tableExistsSQL() string
	isDup(err error) bool
	isRetryable(err error) bool
	// schema returns the CREATE statements of the latest layout, all
	// idempotent (IF NOT EXISTS).
	schema() []string
	// upgrade brings tables created by older MogileFS versions (or with the
	// narrow dkey) to the latest layout; idempotent.
	upgrade(ctx context.Context, db *sql.DB) error
	// slashAt is the 1-based byte position of the first "/" in column col
	// from the byte position given by one placeholder; 0 when none.
	slashAt(col, from string) string
	// pastDir is the smallest string after every key of the sub-tree that
	// col lies in: col cut before the first "/" after the prefix (whose
	// byte length and length+1 are its two placeholders), then "0" (the
	// byte after "/").
	pastDir(col string) string
	// cteHint starts the outer SELECT of a recursive walk (lifts MySQL's
	// 1,000-step default limit on recursion).
	cteHint() string
	// tryLock takes a named cross-tracker lock without waiting.
	tryLock(ctx context.Context, s *Store, name string, ttl time.Duration) (release func(), ok bool, err error)
}
