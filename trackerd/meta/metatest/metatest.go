// Package metatest is the conformance suite of the metadata store, run on
// SQLite always and on MariaDB when the test server is configured, plus the
// helpers other packages' tests use to get a real, private Store.
//
// MariaDB cases need the test server's environment:
//
//	scripts/mariadb.sh start && eval "$(scripts/mariadb.sh env)"
//	go test -race ./trackerd/meta/...
//
// Without MOGFS_TEST_MYSQL_DSN they skip, and under CI=true they fail.
// Each test gets its own database (mogfs_t_<random>), dropped afterwards.
package metatest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
	_ "github.com/mattn/go-sqlite3" // RawDB's "sqlite3" driver

	"mogfs/internal/testenv"
	"mogfs/trackerd/meta"
)

// NewDB returns the Config of a fresh, empty database that is removed when
// the test ends; the suite opens (and re-opens) it with meta.Open.
type NewDB func(t testing.TB) meta.Config

// SQLiteConfig is a NewDB over a SQLite file in t.TempDir().
func SQLiteConfig(t testing.TB) meta.Config {
	t.Helper()
	return meta.Config{
		DSN:    "DBI:SQLite:dbname=" + filepath.Join(t.TempDir(), "mogilefs.db"),
		Logger: testLogger(t),
	}
}

// MySQLConfig is a NewDB over a new database mogfs_t_<random> on the test
// MariaDB server (internal/testenv.MariaDBDSN: skipped when none is
// configured, failed under CI=true), dropped in t.Cleanup.
func MySQLConfig(t testing.TB) meta.Config {
	t.Helper()
	dsnStr, user, pass := testenv.MariaDBDSN(t)
	dsn, err := meta.ParseDSN(dsnStr)
	if err != nil {
		t.Fatalf("metatest: MOGFS_TEST_MYSQL_DSN: %v", err)
	}
	admin := adminDB(t, dsn, user, pass, "")
	var b [6]byte
	rand.Read(b[:])
	name := "mogfs_t_" + hex.EncodeToString(b[:])
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := admin.ExecContext(ctx, "CREATE DATABASE "+name+" CHARACTER SET utf8mb4"); err != nil {
		t.Fatalf("metatest: create database %s: %v", name, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if _, err := admin.ExecContext(ctx, "DROP DATABASE IF EXISTS "+name); err != nil {
			t.Errorf("metatest: drop database %s: %v", name, err)
		}
		admin.Close()
	})
	d := dsn
	d.Database, d.Params = name, nil
	return meta.Config{DSN: d.String(), User: user, Pass: pass, Logger: testLogger(t)}
}

// adminDB connects to the server of dsn, to database dbname if not "".
func adminDB(t testing.TB, dsn meta.DSN, user, pass, dbname string) *sql.DB {
	t.Helper()
	c := dsn.MySQLConfig(user, pass)
	c.DBName = dbname
	conn, err := mysql.NewConnector(c)
	if err != nil {
		t.Fatalf("metatest: %v", err)
	}
	return sql.OpenDB(conn)
}

// Open opens cfg and closes the store in t.Cleanup.
func Open(t testing.TB, cfg meta.Config) *meta.Store {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	s, err := meta.Open(ctx, cfg)
	if err != nil {
		t.Fatalf("metatest: open %s: %v", cfg.DSN, err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// NewSQLite returns a Store over a private SQLite database, closed and
// removed when the test ends.
func NewSQLite(t testing.TB) *meta.Store {
	t.Helper()
	return Open(t, SQLiteConfig(t))
}

// NewMySQL returns a Store over a private database on the test MariaDB
// server, dropped when the test ends (skips, or fails under CI=true, when no
// server is configured).
func NewMySQL(t testing.TB) *meta.Store {
	t.Helper()
	return Open(t, MySQLConfig(t))
}

// testLogger logs warnings and errors to the test's output.
func testLogger(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))
}

// mustT fails the test on err.
func must(t testing.TB, err error, format string, args ...any) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", fmt.Sprintf(format, args...), err)
	}
}

// RawDB opens the database of cfg directly with its driver, bypassing the
// store (for seeding a database made by the original MogileFS, or checking
// what the store wrote). It is closed in t.Cleanup.
func RawDB(t testing.TB, cfg meta.Config) *sql.DB {
	t.Helper()
	dsn, err := meta.ParseDSN(cfg.DSN)
	if err != nil {
		t.Fatalf("metatest: %v", err)
	}
	var db *sql.DB
	if dsn.Driver == "sqlite" {
		db, err = sql.Open("sqlite3", "file:"+dsn.Path+"?_busy_timeout=10000")
		if err != nil {
			t.Fatalf("metatest: %v", err)
		}
	} else {
		db = adminDB(t, dsn, cfg.User, cfg.Pass, dsn.Database)
	}
	t.Cleanup(func() { db.Close() })
	return db
}
