package bench

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"slices"
	"time"
)

// Sizes scales every workload. Quick, Full and Tiny are the presets.
type Sizes struct {
	Reps       int           // repetitions of every workload (median, min, max over them)
	Keys       int           // keys preloaded for get_paths and list_keys
	OpTime     time.Duration // length of one sample of a tracker request loop
	NodeBig    int64         // one object PUT/GET to a storage node
	Small      int           // 4 KiB objects (storage node) and files (client) per rep
	ClientBig  int64         // one file stored and fetched through the client
	MountSeq   int64         // one file written and read through the mount
	RandReads  int           // 4 KiB random reads per rep
	SmallFiles int           // small files created per rep on the mount
	TreeFiles  int           // files of $GOROOT/src extracted per rep (0 = all)
	// The scale section: a directory of ScaleEntries entries beside one
	// of 1,000, ScaleSample of each operation a rep, and find over
	// ScaleFindKeys keys in directories of 100.
	ScaleEntries, ScaleSample, ScaleFindKeys int
	// Million is how many files the million section writes into the
	// tracker's database before measuring a tracker on it (the section
	// runs only when asked for: Config.Million).
	Million int
}

// Quick is the --quick preset: under five minutes on two cores.
func Quick() Sizes {
	return Sizes{Reps: 3, Keys: 5000, OpTime: time.Second, NodeBig: 64 << 20, Small: 1000,
		ClientBig: 256 << 20, MountSeq: 256 << 20, RandReads: 5000, SmallFiles: 2000, TreeFiles: 400,
		ScaleEntries: 20_000, ScaleSample: 200, ScaleFindKeys: 100_000, Million: 1_000_000}
}

// Full is the default preset.
func Full() Sizes {
	return Sizes{Reps: 5, Keys: 100_000, OpTime: 3 * time.Second, NodeBig: 256 << 20, Small: 5000,
		ClientBig: 1 << 30, MountSeq: 1 << 30, RandReads: 20_000, SmallFiles: 10_000, TreeFiles: 0,
		ScaleEntries: 100_000, ScaleSample: 1000, ScaleFindKeys: 1_000_000, Million: 1_000_000}
}

// Tiny runs every workload once at minimal size, for the package's test.
func Tiny() Sizes {
	return Sizes{Reps: 1, Keys: 200, OpTime: 100 * time.Millisecond, NodeBig: 1 << 20, Small: 50,
		ClientBig: 1 << 20, MountSeq: 4 << 20, RandReads: 200, SmallFiles: 50, TreeFiles: 50,
		ScaleEntries: 2000, ScaleSample: 20, ScaleFindKeys: 1000, Million: 5000}
}

// Config configures Run.
type Config struct {
	// Bin holds the trackerd, stord and mogfs binaries.
	Bin string
	// Dir is scratch space on the disk under test (cluster state, the local
	// reference files). Run leaves it for the caller to remove.
	Dir   string
	Sizes Sizes
	// Mode names the preset ("quick", "full", "tiny"); only recorded in the
	// report.
	Mode string
	// DSN, DBUser, DBPass name the tracker's database; "" is SQLite in Dir.
	DSN, DBUser, DBPass string
	// GoSrc is the source tree the mount's tar workload extracts
	// ($(go env GOROOT)/src); "" fails those rows.
	GoSrc string
	// Only names the sections to run ("tracker", "stord", "client",
	// "mount", "scale", "million"); nil runs all of them but million.
	// Memory is always reported.
	Only []string
	// Million adds the million section (Sizes.Million files in the
	// database, then the tracker's hot paths and memory at that size) to
	// the sections Only selects. It is off by default: filling the
	// database and measuring take about a minute more.
	Million bool
	// Progress receives one line per finished rep (nil: none).
	Progress io.Writer
	// Logger gets debug lines (default: discard).
	Logger *slog.Logger
}

// runner carries one run's state through the sections.
type runner struct {
	cfg  Config
	sz   Sizes
	rep  *Report
	c    *cluster
	log  *slog.Logger
	keys []string // preloaded keys, for get_paths
	pat  []byte   // the random pattern every written byte comes from
	// memRef holds start-up VmHWM per daemon, and "mogfs_peak" the largest
	// peak among the mounts.
	memRef map[string]float64
	// mountSkip says why the mount section did not run (nil when it did).
	mountSkip error
	// eintr counts mount writes redone after EINTR (see retryEINTR).
	eintr int
}

// Run starts a cluster, runs every workload and returns the report. It
// returns an error only when the cluster cannot start or ctx ends; a
// workload that fails is recorded in its row.
func Run(ctx context.Context, cfg Config) (*Report, error) {
	start := time.Now()
	for _, b := range []string{"trackerd", "stord", "mogfs"} {
		if _, err := os.Stat(filepath.Join(cfg.Bin, b)); err != nil {
			return nil, fmt.Errorf("%w: %v", ErrNoBinary, err)
		}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Sizes.Reps <= 0 {
		cfg.Sizes.Reps = 1
	}
	db := "mysql"
	if cfg.DSN == "" {
		db = "sqlite"
		cfg.DSN = "DBI:SQLite:dbname=" + filepath.Join(cfg.Dir, "mogilefs.db")
	}
	r := &runner{cfg: cfg, sz: cfg.Sizes, log: cfg.Logger, pat: pattern(),
		rep: &Report{SectionSeconds: map[string]float64{}, Machine: DetectMachine(), Mode: cfg.Mode, Quick: cfg.Mode == "quick", DB: db, Reps: cfg.Sizes.Reps}}
	var err error
	r.c, err = startCluster(ctx, cfg.Bin, cfg.Dir, cfg.DSN, cfg.DBUser, cfg.DBPass, 2)
	if err != nil {
		return nil, err
	}
	defer r.c.stop()
	r.memRef = map[string]float64{"trackerd": r.c.trackd.peakMiB(), "stord": r.stordPeak()}
	r.rep.Notes = append(r.rep.Notes, fmt.Sprintf("cluster: 1 trackerd (%s), 2 stord nodes on loopback, class with 1 copy (no replication traffic); MB = 10^6 bytes", db))

	sections := []struct {
		name string
		run  func(context.Context) error
	}{{"tracker", r.tracker}, {"stord", r.storage}, {"client", r.client}, {"mount", r.fuse}, {"scale", r.scale},
		{"million", r.million}} // last: its million rows would slow the sections after it
	for _, s := range sections {
		if !cfg.selects(s.name) {
			if s.name == "mount" {
				r.mountSkip = fmt.Errorf("%w: mount section not selected", ErrSkipped)
			}
			continue
		}
		t0 := time.Now()
		if err := s.run(ctx); err != nil {
			return nil, err
		}
		r.rep.SectionSeconds[s.name] = math.Round(time.Since(t0).Seconds()*10) / 10
	}
	r.memory()
	for _, row := range r.rep.Rows {
		row.summarize()
	}
	r.rep.Elapsed = time.Since(start).Seconds()
	r.rep.Machine.Load[1] = loadAvg()
	return r.rep, nil
}

// selects reports whether the run includes section: every section but
// million when Only is empty, else those Only names; million also when
// Million is set.
func (cfg Config) selects(section string) bool {
	switch {
	case section == "million" && cfg.Million:
		return true
	case len(cfg.Only) > 0:
		return slices.Contains(cfg.Only, section)
	}
	return section != "million"
}

// row appends a new row to the report.
func (r *runner) row(section, workload, unit, reference string) *Row {
	row := &Row{Section: section, Workload: workload, Unit: unit, Reference: reference}
	r.rep.Rows = append(r.rep.Rows, row)
	return row
}

// progress prints one rep's figures.
func (r *runner) progress(row *Row) {
	if r.cfg.Progress == nil || len(row.Samples) == 0 {
		return
	}
	n := len(row.Samples)
	fmt.Fprintf(r.cfg.Progress, "bench: %s: %s rep %d/%d: %s %s (reference %s)\n", row.Section, row.Workload, n, r.sz.Reps,
		num(row.Samples[n-1]), row.Unit, num(row.RefSamples[n-1]))
}

// add records one rep of row and reports progress.
func (r *runner) add(row *Row, v, ref float64) {
	row.add(v, ref)
	r.progress(row)
}

// failAll records err on every row.
func failAll(err error, rows ...*Row) {
	for _, row := range rows {
		row.fail(err)
	}
}

// stordPeak is the largest VmHWM among the storage nodes.
func (r *runner) stordPeak() float64 {
	var m float64
	for _, nd := range r.c.nodes {
		m = max(m, nd.proc.peakMiB())
	}
	return m
}

// memory adds the peak-RSS rows, read just before the daemons stop.
func (r *runner) memory() {
	add := func(name string, peak, ref float64, refName string) {
		row := r.row("memory", name+" peak RSS (VmHWM)", "MiB", refName)
		if peak == 0 || ref == 0 {
			row.fail(fmt.Errorf("bench: %s not running or never measured", name))
			return
		}
		row.add(peak, ref)
	}
	add("trackerd", r.c.trackd.peakMiB(), r.memRef["trackerd"], "MiB after start-up")
	add("stord (largest node)", r.stordPeak(), r.memRef["stord"], "MiB after start-up")
	if _, ok := r.memRef["mogfs"]; ok {
		add("mogfs", r.memRef["mogfs_peak"], r.memRef["mogfs"], "MiB after mount")
	} else {
		row := r.row("memory", "mogfs peak RSS (VmHWM)", "MiB", "MiB after mount")
		row.fail(r.mountSkip)
	}
}
