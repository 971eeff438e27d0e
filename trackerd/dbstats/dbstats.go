package dbstats

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"

	"mogfs/trackerd/meta"
)

// Names are the statistics mogstats can compute, the values --stats takes
// (comma-separated), in the order its usage lists them.
var Names = []string{"all", "delete-queue", "devices", "domains", "fids", "files", "general-queues",
	"replication", "replication-queue"}

// Config is one run of mogstats.
type Config struct {
	DSN, User, Pass string // the database: db_dsn, db_user, db_pass
	// Stats is the --stats value: a comma list of Names; "" means "all".
	Stats string
	// Verbose prints a line as each statistic starts and ends.
	Verbose bool
	Out     io.Writer
}

// Run prints the statistics cfg asks for to cfg.Out: a "Fetching
// statistics..." line, the verbose notes while it queries, then one
// section per statistic and "done".
func Run(ctx context.Context, cfg Config) error {
	list := cfg.Stats
	if list == "" {
		list = "all"
	}
	want, err := parseStats(list)
	if err != nil {
		return err
	}
	fmt.Fprintf(cfg.Out, "Fetching statistics... (%s)\n", list)
	st, err := meta.OpenReadOnly(ctx, meta.Config{DSN: cfg.DSN, User: cfg.User, Pass: cfg.Pass})
	if err != nil {
		return fmt.Errorf("dbstats: failed to connect to database: %w", err)
	}
	defer st.Close()
	c := collector{st: st, want: want}
	if cfg.Verbose {
		c.verbose = cfg.Out
	}
	r, err := c.collect(ctx)
	if err != nil {
		return fmt.Errorf("dbstats: %w", err)
	}
	r.write(cfg.Out)
	return nil
}

// stats is the set of statistics asked for, "all" expanded.
type stats map[string]bool

func parseStats(list string) (stats, error) {
	want := stats{}
	for name := range strings.SplitSeq(list, ",") {
		if !slices.Contains(Names, name) {
			return nil, fmt.Errorf("%w %q", ErrUnknownStat, name)
		}
		want[name] = true
	}
	if want["all"] {
		for _, n := range Names {
			want[n] = true
		}
	}
	// As the original: "domains" is "files" without the sizes, so it is
	// left out when "files" is asked for.
	if want["files"] {
		want["domains"] = false
	}
	return want, nil
}
