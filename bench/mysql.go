package bench

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"net"
	"strconv"

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
	c := mysql.NewConfig()
	c.User, c.Passwd = user, pass
	if d.Socket != "" {
		c.Net, c.Addr = "unix", d.Socket
	} else {
		host, port := d.Host, d.Port
		if host == "" || host == "localhost" {
			host = "127.0.0.1"
		}
		if port == 0 {
			port = 3306
		}
		c.Net, c.Addr = "tcp", net.JoinHostPort(host, strconv.Itoa(port))
	}
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
