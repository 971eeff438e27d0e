package meta

import (
	"context"
	"crypto/md5"
	"database/sql"
	"database/sql/driver"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/go-sql-driver/mysql"
)

// mysqlDialect is MogileFS's Store/MySQL.pm flavour (InnoDB required).
type mysqlDialect struct {
	skipLocked bool // server has FOR UPDATE SKIP LOCKED (MariaDB >= 10.6, MySQL >= 8.0.1)
}

// MySQL error numbers the store reacts to.
const (
	mysqlErrDup          = 1062 // ER_DUP_ENTRY
	mysqlErrLockWait     = 1205 // ER_LOCK_WAIT_TIMEOUT
	mysqlErrDeadlock     = 1213 // ER_LOCK_DEADLOCK
	mysqlMaxLockNameSize = 64   // GET_LOCK name limit
)

// MySQLConfig is the go-sql-driver configuration for a DBI:mysql DSN: the
// socket, or host (localhost means 127.0.0.1) and port (default 3306), the
// database and the credentials. Tests and tools that need an administrative
// connection to the same server use it too.
func (dsn DSN) MySQLConfig(user, pass string) *mysql.Config {
	c := mysql.NewConfig()
	c.User, c.Passwd, c.DBName = user, pass, dsn.Database
	if dsn.Socket != "" {
		c.Net, c.Addr = "unix", dsn.Socket
		return c
	}
	host, port := dsn.Host, dsn.Port
	if host == "" || host == "localhost" {
		host = "127.0.0.1"
	}
	if port == 0 {
		port = 3306
	}
	c.Net, c.Addr = "tcp", net.JoinHostPort(host, strconv.Itoa(port))
	return c
}

func openMySQL(ctx context.Context, s *Store, dsn DSN, user, pass string) error {
	c := dsn.MySQLConfig(user, pass)
	// RowsAffected counts matched rows, as on SQLite, so an UPDATE that
	// writes the same values is not mistaken for a missing row.
	c.ClientFoundRows = true
	c.Timeout = 10 * time.Second
	c.Collation = "utf8mb4_general_ci"
	connector, err := mysql.NewConnector(c)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrBadDSN, err)
	}
	db := sql.OpenDB(connector)
	db.SetMaxOpenConns(64)
	db.SetMaxIdleConns(16)
	db.SetConnMaxLifetime(time.Hour)
	var version string
	if err := db.QueryRowContext(ctx, "SELECT VERSION()").Scan(&version); err != nil {
		db.Close()
		return fmt.Errorf("meta: connect mysql %s/%s: %w", c.Addr, c.DBName, err)
	}
	s.d, s.w, s.r = mysqlDialect{skipLocked: hasSkipLocked(version)}, db, db
	s.locks = sql.OpenDB(connector)
	s.locks.SetMaxIdleConns(4)
	s.log = s.log.With("server_version", version)
	return nil
}

// hasSkipLocked reports whether a VERSION() string names a server with
// SELECT ... FOR UPDATE SKIP LOCKED.
func hasSkipLocked(version string) bool {
	var major, minor, patch int
	fmt.Sscanf(version, "%d.%d.%d", &major, &minor, &patch)
	if strings.Contains(strings.ToLower(version), "mariadb") {
		return major > 10 || major == 10 && minor >= 6
	}
	return major > 8 || major == 8 && (minor > 0 || patch >= 1)
}

func (mysqlDialect) name() string         { return "mysql" }
func (mysqlDialect) nowExpr() string      { return "UNIX_TIMESTAMP()" }
func (mysqlDialect) insertIgnore() string { return "INSERT IGNORE" }

// dkey and dirkey are VARBINARY: SUBSTRING and LOCATE count bytes.
func (mysqlDialect) slashAt(col, from string) string {
	return "LOCATE('/', SUBSTRING(" + col + ", " + from + "))"
}
func (d mysqlDialect) pastDir(col string) string {
	return "CONCAT(SUBSTRING(" + col + ", 1, ? + " + d.slashAt(col, "?") + " - 1), '0')"
}

// cteHint raises MySQL 8's cte_max_recursion_depth (1,000) for one
// statement; MariaDB's max_recursive_iterations is already unbounded and it
// reads the hint as a comment.
func (mysqlDialect) cteHint() string   { return "/*+ SET_VAR(cte_max_recursion_depth = 1000000) */ " }
func (mysqlDialect) forUpdate() string { return " FOR UPDATE" }

func (d mysqlDialect) claimLock() string {
	if d.skipLocked {
		return " FOR UPDATE SKIP LOCKED"
	}
	return " FOR UPDATE"
}

func (mysqlDialect) clearTableSQL(table string) string { return "TRUNCATE TABLE " + table }

func mysqlErrno(err error) uint16 {
	var e *mysql.MySQLError
	if errors.As(err, &e) {
		return e.Number
	}
	return 0
}

func (mysqlDialect) isDup(err error) bool { return mysqlErrno(err) == mysqlErrDup }

func (mysqlDialect) isRetryable(err error) bool {
	n := mysqlErrno(err)
	return n == mysqlErrDeadlock || n == mysqlErrLockWait
}

// upgrade applies the ALTERs of MySQL.pm's upgrade_* steps (schema versions
// 9-17) that a database made by an older mogilefsd still needs, and widens
// dkey. Each step checks information_schema first, so it is idempotent.
func (mysqlDialect) upgrade(ctx context.Context, db *sql.DB) error {
	type col struct{ dataType, columnType string }
	cols := map[string]col{} // "table.column" -> type
	rows, err := db.QueryContext(ctx, `SELECT TABLE_NAME, COLUMN_NAME, DATA_TYPE, COLUMN_TYPE
		FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE()`)
	if err != nil {
		return fmt.Errorf("meta: upgrade: read columns: %w", err)
	}
	for rows.Next() {
		var t, c, dt, ct string
		if err := rows.Scan(&t, &c, &dt, &ct); err != nil {
			rows.Close()
			return fmt.Errorf("meta: upgrade: %w", err)
		}
		cols[strings.ToLower(t+"."+c)] = col{strings.ToLower(dt), strings.ToLower(ct)}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("meta: upgrade: %w", err)
	}
	var alters []string
	if _, ok := cols["class.replpolicy"]; !ok {
		alters = append(alters, "ALTER TABLE class ADD COLUMN replpolicy VARCHAR(255)")
	}
	if _, ok := cols["class.hashtype"]; !ok {
		alters = append(alters, "ALTER TABLE class ADD COLUMN hashtype TINYINT UNSIGNED")
	}
	if _, ok := cols["file_to_queue.arg"]; !ok {
		alters = append(alters, "ALTER TABLE file_to_queue ADD COLUMN arg TEXT")
	}
	if !strings.Contains(cols["host.status"].columnType, "'readonly'") {
		alters = append(alters, "ALTER TABLE host MODIFY COLUMN status ENUM('alive','dead','down','readonly')")
	}
	if !strings.Contains(cols["device.status"].columnType, "'drain'") {
		alters = append(alters, "ALTER TABLE device MODIFY COLUMN status ENUM('alive','dead','down','readonly','drain')")
	}
	for _, c := range []string{"mb_total", "mb_used"} {
		if cols["device."+c].dataType == "mediumint" {
			alters = append(alters, "ALTER TABLE device MODIFY COLUMN "+c+" INT UNSIGNED")
		}
	}
	if cols["server_settings.value"].dataType != "text" {
		alters = append(alters, "ALTER TABLE server_settings MODIFY COLUMN value TEXT")
	}
	for _, t := range []string{"file", "tempfile"} {
		if cols[t+".dkey"].columnType != "varbinary(1024)" {
			// Widened and made binary: 1024-byte keys, byte-order ListKeys.
			alters = append(alters, "ALTER TABLE "+t+" MODIFY COLUMN dkey VARBINARY(1024)")
		}
	}
	if _, ok := cols["mogfs_attr.dirkey"]; !ok {
		// A mogfs_attr of an older mogfs: the directory walk's column and
		// index replace the (dmid, isdir, path) index.
		alters = append(alters, "ALTER TABLE mogfs_attr ADD COLUMN dirkey VARBINARY(1025), ADD INDEX mogfs_attr_dirkey (dmid, dirkey), DROP INDEX mogfs_attr_dirs",
			"UPDATE mogfs_attr SET dirkey = CONCAT(path, '/') WHERE isdir = 1")
	}
	for _, c := range []string{"ino", "rdev"} {
		if _, ok := cols["mogfs_attr."+c]; !ok {
			alters = append(alters, "ALTER TABLE mogfs_attr ADD COLUMN "+c+" BIGINT NOT NULL DEFAULT 0")
		}
	}
	if _, ok := cols["mogfs_attr.linkkey"]; !ok {
		alters = append(alters, "ALTER TABLE mogfs_attr ADD COLUMN linkkey VARBINARY(1024), ADD INDEX mogfs_attr_linkkey (dmid, linkkey)")
	}
	for _, q := range alters {
		if _, err := db.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("meta: upgrade: %s: %w", q, err)
		}
	}
	return nil
}

// tryLock is GET_LOCK(name, 0) on a dedicated connection: MySQL named locks
// belong to the connection, so the connection is held until release (or
// until it dies, which frees the lock; ttl is not needed). Names longer than
// the server's 64-character limit are hashed.
func (mysqlDialect) tryLock(ctx context.Context, s *Store, name string, _ time.Duration) (func(), bool, error) {
	if len(name) > mysqlMaxLockNameSize {
		sum := md5.Sum([]byte(name))
		name = "mogfs:" + hex.EncodeToString(sum[:])
	}
	conn, err := s.locks.Conn(ctx)
	if err != nil {
		return nil, false, fmt.Errorf("meta: lock %s: %w", name, err)
	}
	var got sql.NullInt64
	if err := conn.QueryRowContext(ctx, "SELECT GET_LOCK(?, 0)", name).Scan(&got); err != nil {
		conn.Close()
		return nil, false, fmt.Errorf("meta: lock %s: %w", name, err)
	}
	if got.Int64 != 1 {
		conn.Close()
		return nil, false, nil
	}
	release := func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if _, err := conn.ExecContext(ctx, "DO RELEASE_LOCK(?)", name); err != nil {
			// The lock dies with the connection; make sure it is not reused.
			conn.Raw(func(any) error { return driver.ErrBadConn })
			s.log.Warn("release lock", "lock", name, "err", err)
		}
		conn.Close()
	}
	return release, true, nil
}

func (mysqlDialect) tableExistsSQL() string {
	return "SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ?"
}
