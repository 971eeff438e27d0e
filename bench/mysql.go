package bench

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"

	"github.com/go-sql-driver/mysql"

	"mogfs/trackerd/meta"
)

// MySQLDatabase creates a fresh database mogbench_<random> on the MySQL or
// MariaDB server that dsn (a DBI:mysql DSN) names, so the tracker starts on
// an empty schema, and returns its DSN and a function that drops it.
func MySQLDatabase(ctx context.Context, dsn, user, pass string) (string, func(), error) {
	d, err := meta.ParseDSN(dsn)
	if err != nil {
		return "", nil, err
	}
	if d.Driver != "mysql" {
		return "", nil, fmt.Errorf("bench: %q is not a DBI:mysql DSN", dsn)
	}
	c := d.MySQLConfig(user, pass)
	c.DBName = ""
	conn, err := mysql.NewConnector(c)
	if err != nil {
		return "", nil, fmt.Errorf("bench: %w", err)
	}
	admin := sql.OpenDB(conn)
	var b [6]byte
	rand.Read(b[:])
	name := "mogbench_" + hex.EncodeToString(b[:])
	if _, err := admin.ExecContext(ctx, "CREATE DATABASE "+name+" CHARACTER SET utf8mb4"); err != nil {
		admin.Close()
		return "", nil, fmt.Errorf("bench: create database %s: %w", name, err)
	}
	drop := func() {
		admin.ExecContext(context.Background(), "DROP DATABASE IF EXISTS "+name)
		admin.Close()
	}
	d.Database, d.Params = name, nil
	return d.String(), drop, nil
}
