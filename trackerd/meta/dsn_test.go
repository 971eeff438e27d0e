package meta_test

import (
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"strings"
	"testing"

	"mogfs/trackerd/meta"
)

func TestParseDSN(t *testing.T) {
	t.Parallel()
	cases := []struct {
		in   string
		want meta.DSN
	}{
		{"DBI:SQLite:dbname=/var/lib/mogilefs.db", meta.DSN{Driver: "sqlite", Path: "/var/lib/mogilefs.db"}},
		{"dbi:sqlite:/tmp/x.db", meta.DSN{Driver: "sqlite", Path: "/tmp/x.db"}},
		{"DBI:SQLite:db=rel/x.db;foo=bar", meta.DSN{Driver: "sqlite", Path: "rel/x.db", Params: map[string]string{"foo": "bar"}}},
		{"DBI:mysql:mogilefs", meta.DSN{Driver: "mysql", Database: "mogilefs"}},
		{"DBI:mysql:mogilefs_test:host=127.0.0.1;port=3307",
			meta.DSN{Driver: "mysql", Database: "mogilefs_test", Host: "127.0.0.1", Port: 3307}},
		{"DBI:mysql:database=mfs;host=db1;port=3306",
			meta.DSN{Driver: "mysql", Database: "mfs", Host: "db1", Port: 3306}},
		{"DBI:MySQL:mfs:db1:3306", meta.DSN{Driver: "mysql", Database: "mfs", Host: "db1", Port: 3306}},
		{"DBI:mysql:db=mfs;mysql_socket=/run/mysqld.sock;mysql_connect_timeout=3",
			meta.DSN{Driver: "mysql", Database: "mfs", Socket: "/run/mysqld.sock", Params: map[string]string{"mysql_connect_timeout": "3"}}},
		{"DBI:MariaDB:database=mfs", meta.DSN{Driver: "mysql", Database: "mfs"}},
	}
	for _, c := range cases {
		t.Run(c.in, func(t *testing.T) {
			got, err := meta.ParseDSN(c.in)
			if err != nil || !reflect.DeepEqual(got, c.want) {
				t.Fatalf("ParseDSN(%q) = %+v, %v; want %+v", c.in, got, err, c.want)
			}
			again, err := meta.ParseDSN(got.String())
			if err != nil || !reflect.DeepEqual(again, got) {
				t.Fatalf("ParseDSN(%q) = %+v, %v; want round trip %+v", got.String(), again, err, got)
			}
		})
	}
	for _, bad := range []string{
		"", "SQLite:x", "DBI:Pg:dbname=x", "DBI:SQLite:", "DBI:SQLite:dbname=", "DBI:SQLite::memory:",
		"DBI:mysql:", "DBI:mysql:host=x", "DBI:mysql:db:h:notaport", "DBI:mysql:db;port=0",
		"DBI:mysql:db;port=70000", "DBI:mysql:a:b:3306:extra", "DBI:mysql:db;=x",
	} {
		if _, err := meta.ParseDSN(bad); !errors.Is(err, meta.ErrBadDSN) {
			t.Errorf("ParseDSN(%q) error = %v, want ErrBadDSN", bad, err)
		}
	}
}

func FuzzParseDSN(f *testing.F) {
	for _, s := range []string{
		"DBI:SQLite:dbname=/x.db", "DBI:SQLite:/x;a=b", "DBI:mysql:db:host=h;port=1", "DBI:mysql:db:h:3306",
		"dbi:mysql:database=d;mysql_socket=/s;x=y=z", "DBI:mysql:;;::", "DBI:SQLite:;;dbname=a;db=b",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := meta.ParseDSN(s)
		if err != nil {
			if !errors.Is(err, meta.ErrBadDSN) {
				t.Fatalf("ParseDSN(%q) error %v does not wrap ErrBadDSN", s, err)
			}
			return
		}
		again, err := meta.ParseDSN(d.String())
		if err != nil || !reflect.DeepEqual(again, d) {
			t.Fatalf("ParseDSN(%q) = %+v; its String %q parses to %+v, %v", s, d, d.String(), again, err)
		}
	})
}

func TestConfigLogValueRedactsPassword(t *testing.T) {
	t.Parallel()
	var b strings.Builder
	log := slog.New(slog.NewTextHandler(&b, nil))
	log.Info("open", "config", meta.Config{DSN: "DBI:mysql:x", User: "u", Pass: "sekrit"})
	if strings.Contains(b.String(), "sekrit") || !strings.Contains(b.String(), "REDACTED") {
		t.Fatalf("log line %q leaks the password or lacks REDACTED", b.String())
	}
	if s := fmt.Sprint(meta.Config{Pass: "sekrit"}.LogValue()); strings.Contains(s, "sekrit") {
		t.Fatalf("LogValue() = %s", s)
	}
}
