// Command mogbench runs the mogfs benchmark suite (package bench) and prints
// one table in which every figure stands beside a physical reference
// measured in the same run. scripts/bench builds the binaries and runs it.
//
//	mogbench [--quick] [--million] [--db sqlite|mysql] [--json PATH] [--bin DIR] [--dir DIR] [--only SECTIONS]
//
// --million adds the million section (a million files written into the
// tracker's database, then the tracker's hot paths and memory at that
// size); --only million runs it alone.
// --db mysql reads the server from MOGFS_TEST_MYSQL_DSN, _USER and _PASS
// (eval "$(scripts/mariadb.sh env)") and benchmarks on a fresh database.
// It uses the flag package rather than internal/config: it is a developer
// tool with boolean switches, not a daemon with a mogilefsd.conf.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"mogfs/bench"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "mogbench:", err)
		os.Exit(1)
	}
}

func run() error {
	quick := flag.Bool("quick", false, "smaller sizes and 3 reps (under 5 minutes on 2 cores)")
	tiny := flag.Bool("tiny", false, "minimal sizes and 1 rep (a smoke test of the suite itself)")
	db := flag.String("db", "sqlite", "tracker metadata database: sqlite or mysql")
	jsonPath := flag.String("json", "", "write the JSON report here (default bench/results/<timestamp>.json, also copied to bench/results/latest.json)")
	bin := flag.String("bin", "bin", "directory with trackerd, stord and mogfs")
	dir := flag.String("dir", "", "scratch directory on the disk under test (default a new one in $TMPDIR, removed afterwards)")
	gosrc := flag.String("gosrc", "", "source tree for the tar workload (default $(go env GOROOT)/src)")
	only := flag.String("only", "", "comma-separated sections to run (tracker,stord,client,mount,scale,million; default all but million)")
	million := flag.Bool("million", false, "also run the million section: the tracker's hot paths and peak RSS with 1,000,000 files in its database (about a minute more)")
	verbose := flag.Bool("v", true, "print each rep's figures on stderr")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	cfg := bench.Config{Bin: *bin, Sizes: bench.Full(), Mode: "full", GoSrc: *gosrc,
		Logger: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))}
	switch {
	case *tiny:
		cfg.Sizes, cfg.Mode = bench.Tiny(), "tiny"
	case *quick:
		cfg.Sizes, cfg.Mode = bench.Quick(), "quick"
	}
	if *only != "" {
		cfg.Only = strings.Split(*only, ",")
	}
	cfg.Million = *million
	if *verbose {
		cfg.Progress = os.Stderr
	}
	if cfg.GoSrc == "" {
		if out, err := exec.Command("go", "env", "GOROOT").Output(); err == nil {
			cfg.GoSrc = filepath.Join(strings.TrimSpace(string(out)), "src")
		}
	}
	switch *db {
	case "sqlite":
	case "mysql":
		dsn := os.Getenv("MOGFS_TEST_MYSQL_DSN")
		if dsn == "" {
			return fmt.Errorf("--db mysql needs MOGFS_TEST_MYSQL_DSN (eval \"$(scripts/mariadb.sh env)\")")
		}
		user, pass := os.Getenv("MOGFS_TEST_MYSQL_USER"), os.Getenv("MOGFS_TEST_MYSQL_PASS")
		fresh, drop, err := bench.MySQLDatabase(ctx, dsn, user, pass)
		if err != nil {
			return err
		}
		defer drop()
		cfg.DSN, cfg.DBUser, cfg.DBPass = fresh, user, pass
	default:
		return fmt.Errorf("--db %q: want sqlite or mysql", *db)
	}
	cfg.Dir = *dir
	if cfg.Dir == "" {
		d, err := os.MkdirTemp("", "mogbench-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(d)
		cfg.Dir = d
	}
	rep, err := bench.Run(ctx, cfg)
	if err != nil {
		return err
	}
	if err := rep.WriteTable(os.Stdout); err != nil {
		return err
	}
	paths := []string{*jsonPath}
	if *jsonPath == "" {
		res := filepath.Join("bench", "results")
		paths = []string{filepath.Join(res, rep.Machine.Date.Format("20060102-150405")+".json"), filepath.Join(res, "latest.json")}
	}
	for _, p := range paths {
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		f, err := os.Create(p)
		if err != nil {
			return err
		}
		err = rep.WriteJSON(f)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return err
		}
	}
	fmt.Fprintf(os.Stderr, "mogbench: JSON report in %s (%s)\n", strings.Join(paths, ", "), time.Duration(rep.Elapsed*float64(time.Second)).Round(time.Second))
	if failed := rep.Failed(); len(failed) > 0 {
		return fmt.Errorf("%d rows failed", len(failed))
	}
	return nil
}
