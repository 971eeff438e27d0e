package cli

import (
	"context"
	"errors"
	"io"
	"slices"
	"strings"
)

// StatsOptions is one run of mogstats as its options ask.
type StatsOptions struct {
	DSN, User, Pass string // --db_dsn, --db_user, --db_pass
	Stats           string // --stats as given, checked against StatsBackend.Names; "" means all
	Verbose         bool
	Out             io.Writer
}

// StatsBackend is what mogstats needs besides its options: the statistics
// it knows and the code that computes them from the database. cmd/mogstats
// fills it from trackerd/dbstats, which this package cannot import: the
// database drivers would make the client library depend on cgo SQLite.
type StatsBackend struct {
	Names []string // valid --stats values, in the order the usage lists them
	Run   func(ctx context.Context, o StatsOptions) error
}

// statsSpec is mogstats' options: the original's, with no tracker ones.
var statsSpec = Spec{"config": false, "lib": false, "help": true, "verbose": true,
	"stats": false, "db_dsn": false, "db_user": false, "db_pass": false}

const statsUsage = `Usage: mogstats --db_dsn=DSN [--db_user=USER] [--db_pass=PASS] [--stats=STAT[,STAT...]] [--verbose]

Computes statistics directly from the MogileFS database, reading it and
changing nothing; some take long on a large database, so it may point at a
replica. DSN is DBI:SQLite:dbname=PATH or DBI:mysql:DB[:host=H;port=P].
Every option may also be set in /etc/mogilefs/mogilefs.conf,
~/.mogilefs.conf or --config=FILE (db_dsn = ..., stats = ...). Without
--stats, all.

    mogstats --db_dsn="DBI:mysql:mfs:host=mfshost" --db_user="mfs" \
             --db_pass="mfs" --verbose --stats="devices,files"
    mogstats --stats="all"
    mogstats [all options in ~/.mogilefs.conf]

valid stats: `

// Stats is mogstats.
func Stats(ctx context.Context, args []string, env Env, b StatsBackend) int {
	t, rc := parseTool("mogstats", statsUsage+strings.Join(b.Names, ", "), args, env, statsSpec, "db_dsn")
	if t == nil {
		return rc
	}
	o := t.opts
	if o["stats"] != "" {
		for name := range strings.SplitSeq(o["stats"], ",") {
			if !slices.Contains(b.Names, name) {
				return t.usageErr("Invalid stat " + name)
			}
		}
	}
	if b.Run == nil {
		return t.fail(errors.New("no statistics backend"))
	}
	err := b.Run(ctx, StatsOptions{DSN: o["db_dsn"], User: o["db_user"], Pass: o["db_pass"], Stats: o["stats"],
		Verbose: o["verbose"] != "" && o["verbose"] != "0", Out: env.Stdout})
	if err != nil {
		return t.fail(err)
	}
	return 0
}
