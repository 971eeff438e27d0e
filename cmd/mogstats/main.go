// Command mogstats is the MogileFS-Utils tool of the same name, for mogfs
// (and any MogileFS database): statistics read directly from the metadata
// database, SQLite or MySQL/MariaDB. Run it with --help for its options;
// the options are handled by mogfs/client/cli and the database is read by
// mogfs/trackerd/dbstats.
//
// Its options are Getopt::Long style (--name=value or --name value, anywhere
// among the arguments) rather than internal/config's flag table, as the
// other tools' are.
package main

import (
	"context"

	"mogfs/client/cli"
	"mogfs/trackerd/dbstats"
)

func main() {
	cli.Main(func(ctx context.Context, args []string, env cli.Env) int {
		return cli.Stats(ctx, args, env, cli.StatsBackend{Names: dbstats.Names, Run: run})
	})
}

func run(ctx context.Context, o cli.StatsOptions) error {
	return dbstats.Run(ctx, dbstats.Config{DSN: o.DSN, User: o.User, Pass: o.Pass, Stats: o.Stats, Verbose: o.Verbose, Out: o.Out})
}
