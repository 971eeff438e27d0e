package meta

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
)

// DSN is a parsed MogileFS-style Perl DBI data source name, the db_dsn
// setting of mogilefsd.conf:
//
//	DBI:SQLite:dbname=/var/lib/mogilefs/mogilefs.db   (or DBI:SQLite:/path)
//	DBI:mysql:mogilefs:host=db1;port=3306             (DBD::mysql's positional form)
//	DBI:mysql:database=mogilefs;host=db1;port=3306
//
// The "DBI" and driver names are case-insensitive. Values cannot contain ';'
// (nor ':' for mysql), because those separate the parts.
type DSN struct {
	Driver   string // "sqlite" or "mysql"
	Path     string // sqlite: the database file
	Database string // mysql: the database name
	Host     string // mysql: "" means 127.0.0.1
	Port     int    // mysql: 0 means 3306
	Socket   string // mysql: mysql_socket, a unix socket instead of host:port
	// Params holds the other key=value parts (keys lower-cased), nil if none.
	Params map[string]string
}

// ParseDSN parses a DBI data source name; errors wrap ErrBadDSN.
func ParseDSN(dsn string) (DSN, error) {
	bad := func(why string) (DSN, error) {
		return DSN{}, fmt.Errorf("%w %q: %s", ErrBadDSN, dsn, why)
	}
	scheme, rest, ok := strings.Cut(dsn, ":")
	if !ok || !strings.EqualFold(scheme, "dbi") {
		return bad(`want "DBI:SQLite:..." or "DBI:mysql:..."`)
	}
	driver, rest, _ := strings.Cut(rest, ":")
	switch strings.ToLower(driver) {
	case "sqlite":
		return parseSQLiteDSN(rest, bad)
	case "mysql", "mariadb":
		return parseMySQLDSN(rest, bad)
	default:
		return bad(fmt.Sprintf("unsupported driver %q (want SQLite or mysql)", driver))
	}
}

func parseSQLiteDSN(rest string, bad func(string) (DSN, error)) (DSN, error) {
	d := DSN{Driver: "sqlite"}
	for i, part := range strings.Split(rest, ";") {
		k, v, isKV := strings.Cut(part, "=")
		switch lk := strings.ToLower(k); {
		case isKV && (lk == "dbname" || lk == "db" || lk == "database"):
			d.Path = v
		case i == 0 && !isKV:
			d.Path = part
		case isKV && k != "":
			d.setParam(lk, v)
		case part == "":
		default:
			return bad(fmt.Sprintf("unexpected part %q", part))
		}
	}
	if d.Path == "" {
		return bad("no database file (want DBI:SQLite:dbname=PATH)")
	}
	if strings.Contains(d.Path, ":memory:") || strings.HasPrefix(d.Path, "file:") {
		return bad("the store needs a database file path, not a URI or :memory:")
	}
	return d, nil
}

func parseMySQLDSN(rest string, bad func(string) (DSN, error)) (DSN, error) {
	d := DSN{Driver: "mysql"}
	positional := 0
	for part := range strings.FieldsFuncSeq(rest, func(r rune) bool { return r == ';' || r == ':' }) {
		k, v, isKV := strings.Cut(part, "=")
		if !isKV {
			// DBD::mysql's DBI:mysql:DB:HOST:PORT form.
			switch positional {
			case 0:
				d.Database = part
			case 1:
				d.Host = part
			case 2:
				k, v = "port", part
			default:
				return bad(fmt.Sprintf("unexpected part %q", part))
			}
			positional++
			if k != "port" {
				continue
			}
		}
		switch lk := strings.ToLower(k); lk {
		case "database", "db", "dbname":
			d.Database = v
		case "host", "hostname":
			d.Host = v
		case "port":
			p, err := strconv.Atoi(v)
			if err != nil || p <= 0 || p > 65535 {
				return bad(fmt.Sprintf("bad port %q", v))
			}
			d.Port = p
		case "mysql_socket":
			d.Socket = v
		case "":
			return bad(fmt.Sprintf("empty key in %q", part))
		default:
			d.setParam(lk, v)
		}
	}
	if d.Database == "" {
		return bad("no database name (want DBI:mysql:DBNAME[:host=H;port=P])")
	}
	return d, nil
}

func (d *DSN) setParam(k, v string) {
	if d.Params == nil {
		d.Params = map[string]string{}
	}
	d.Params[k] = v
}

// String renders the DSN in canonical DBI form; ParseDSN(d.String()) == d for
// every DSN that ParseDSN returned.
func (d DSN) String() string {
	var b strings.Builder
	switch d.Driver {
	case "sqlite":
		b.WriteString("DBI:SQLite:dbname=" + d.Path)
	case "mysql":
		b.WriteString("DBI:mysql:database=" + d.Database)
		if d.Host != "" {
			b.WriteString(";host=" + d.Host)
		}
		if d.Port != 0 {
			b.WriteString(";port=" + strconv.Itoa(d.Port))
		}
		if d.Socket != "" {
			b.WriteString(";mysql_socket=" + d.Socket)
		}
	default:
		return "DBI:" + d.Driver + ":"
	}
	for _, k := range slices.Sorted(maps.Keys(d.Params)) {
		b.WriteString(";" + k + "=" + d.Params[k])
	}
	return b.String()
}
