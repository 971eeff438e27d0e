package bench

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/go-sql-driver/mysql"

	"mogfs/trackerd/meta"
)

// scaleSmall is the directory size every scale row is measured against.
const scaleSmall = 1000

// scale runs the scale section on a mount: each namespace operation in a
// directory of ScaleEntries entries beside the same operation in one of
// 1,000, and the mount's memory through a find over ScaleFindKeys keys.
// The directories are filled by writing file rows straight into the
// tracker's database, as another tracker sharing it would: the mount has
// never seen them, which is also what a stock MogileFS writer looks like.
func (r *runner) scale(ctx context.Context) error {
	const sec = "scale"
	n, sample := r.sz.ScaleEntries, r.sz.ScaleSample
	at := fmt.Sprintf(" among %s entries", count(n))
	ref := fmt.Sprintf("same among %s", count(scaleSmall))
	rows := map[string]*Row{}
	order := []string{"create", "mkdir", "rename", "unlink", "stat hit", "stat miss", "ls -f", "ls -l"}
	units := map[string]string{"ls -f": "entries/s", "ls -l": "entries/s"}
	what := map[string]string{
		"create": "create+write+close of a 1-byte file", "mkdir": "mkdir", "rename": "rename of a file",
		"unlink": "unlink of a file", "stat hit": "stat of a name not looked up before",
		"stat miss": "stat of a missing name", "ls -f": "ls -f of the directory", "ls -l": "ls -l of the directory",
	}
	var all []*Row
	for _, op := range order {
		u := units[op]
		if u == "" {
			u = "ops/s"
		}
		rows[op] = r.row(sec, what[op]+at, u, ref)
		all = append(all, rows[op])
	}
	findRow := r.row(sec, fmt.Sprintf("mogfs peak RSS in find over %s keys (%s dirs of 100)", count(r.sz.ScaleFindKeys), count(r.sz.ScaleFindKeys/100)), "MiB", "cache_size (budget: it + 100 MB)")
	all = append(all, findRow)
	if err := canMount(); err != nil {
		failAll(err, all...)
		return nil
	}
	db, err := r.openDB()
	if err != nil {
		failAll(err, all...)
		return nil
	}
	defer db.Close()
	mnt := filepath.Join(r.cfg.Dir, "mnt-scale")
	m, err := r.mount(mnt, 100, "attr_timeout=1", "entry_timeout=1")
	if err != nil {
		failAll(err, all...)
		return nil
	}
	defer func() { m.unmount(r) }()

	// The two directories: files, and one key prefix (two keys) in ten.
	dirs := map[int]string{scaleSmall: "scale-small", n: "scale-big"}
	existing := map[int][]string{}
	for size, dir := range dirs {
		var keys []string
		for i := range size {
			if i%10 == 9 {
				keys = append(keys, fmt.Sprintf("%s/p%07d/a", dir, i), fmt.Sprintf("%s/p%07d/b", dir, i))
				continue
			}
			keys = append(keys, fmt.Sprintf("%s/f%07d", dir, i))
			existing[size] = append(existing[size], fmt.Sprintf("f%07d", i))
		}
		if err := seedKeys(ctx, db, keys); err != nil {
			failAll(err, all...)
			return nil
		}
	}
	r.rep.Notes = append(r.rep.Notes, fmt.Sprintf("scale: directories filled by inserting file rows into the tracker's database (another writer); each rep runs %d of every operation, first among %s entries, then among %s; ls rows are one listing a rep; attr_timeout=entry_timeout=1", sample, count(scaleSmall), count(n)))

	for rep := range r.sz.Reps {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		got := map[int]map[string]float64{}
		for _, size := range []int{scaleSmall, n} {
			dir := filepath.Join(mnt, dirs[size])
			time.Sleep(1100 * time.Millisecond) // entry_timeout: nothing of the last rep is cached
			res, err := scaleOps(dir, fmt.Sprintf("r%d", rep), sample, existing[size], rep*sample)
			if err != nil {
				failAll(err, all...)
				return nil
			}
			entries := size + (rep+1)*sample // the seeded entries and the directories made so far
			for _, op := range []string{"ls -f", "ls -l"} {
				time.Sleep(1100 * time.Millisecond)
				args := strings.Fields(op)
				d, err := timed(func() error { return sh(args[0], args[1], dir) })
				if err != nil {
					failAll(err, all...)
					return nil
				}
				res[op] = perSec(entries, d)
			}
			got[size] = res
		}
		for _, op := range order {
			r.add(rows[op], got[n][op], got[scaleSmall][op])
		}
	}
	m.unmount(r)
	m = nil
	return r.findMemory(ctx, db, findRow)
}

// scaleOps runs sample of each namespace operation in dir, named with tag,
// and returns their rates; stats of hits (names that exist) start at
// hits[from], wrapping (the kernel forgot earlier lookups: entry_timeout).
func scaleOps(dir, tag string, sample int, hits []string, from int) (map[string]float64, error) {
	p := func(kind string, i int) string { return filepath.Join(dir, fmt.Sprintf("%s-%s%05d", tag, kind, i)) }
	ops := []struct {
		name string
		fn   func(i int) error
	}{
		{"create", func(i int) error { return os.WriteFile(p("f", i), []byte("x"), 0o644) }},
		{"mkdir", func(i int) error { return os.Mkdir(p("d", i), 0o755) }},
		{"rename", func(i int) error { return os.Rename(p("f", i), p("r", i)) }},
		{"unlink", func(i int) error { return os.Remove(p("r", i)) }},
		{"stat hit", func(i int) error { _, err := os.Stat(filepath.Join(dir, hits[(from+i)%len(hits)])); return err }},
		{"stat miss", func(i int) error {
			if _, err := os.Stat(p("missing", i)); !errors.Is(err, fs.ErrNotExist) {
				return fmt.Errorf("bench: stat of a missing name: %v", err)
			}
			return nil
		}},
	}
	out := map[string]float64{}
	for _, op := range ops {
		d, err := timed(func() error {
			for i := range sample {
				if err := op.fn(i); err != nil {
					return fmt.Errorf("bench: %s: %w", op.name, err)
				}
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
		out[op.name] = perSec(sample, d)
	}
	return out, nil
}

// findMemory fills a tree of ScaleFindKeys keys (directories of 100), runs
// find over it on a fresh mount with a 64 MiB cache, and records the
// mount's peak RSS beside that budget.
func (r *runner) findMemory(ctx context.Context, db *sql.DB, row *Row) error {
	const cacheMiB = 64
	keys := make([]string, 0, r.sz.ScaleFindKeys)
	for i := range r.sz.ScaleFindKeys {
		keys = append(keys, fmt.Sprintf("find/d%05d/f%03d", i/100, i%100))
	}
	if err := seedKeys(ctx, db, keys); err != nil {
		row.fail(err)
		return nil
	}
	mnt := filepath.Join(r.cfg.Dir, "mnt-find")
	m, err := r.mount(mnt, 101, fmt.Sprintf("cache_size=%dM", cacheMiB))
	if err != nil {
		row.fail(err)
		return nil
	}
	d, err := timed(func() error { return sh("find", filepath.Join(mnt, "find")) })
	peak := m.proc.peakMiB()
	m.unmount(r)
	if err != nil {
		row.fail(err)
		return nil
	}
	r.rep.Notes = append(r.rep.Notes, fmt.Sprintf("scale: find over %s keys took %.1f s", count(len(keys)), d.Seconds()))
	for range r.sz.Reps {
		r.add(row, peak, cacheMiB)
	}
	return ctx.Err()
}

// openDB opens the tracker's database directly (SQLite: taking the write
// lock up front and waiting for the tracker's; MySQL: the same server).
func (r *runner) openDB() (*sql.DB, error) {
	d, err := meta.ParseDSN(r.cfg.DSN)
	if err != nil {
		return nil, err
	}
	if d.Driver == "sqlite" {
		return sql.Open("sqlite3", "file:"+d.Path+"?_busy_timeout=30000&_txlock=immediate")
	}
	conn, err := mysql.NewConnector(d.MySQLConfig(r.cfg.DBUser, r.cfg.DBPass))
	if err != nil {
		return nil, fmt.Errorf("bench: %w", err)
	}
	return sql.OpenDB(conn), nil
}

// seedKeys inserts file rows for keys into the bench domain, 5,000 a
// transaction, with fids far above the tracker's.
func seedKeys(ctx context.Context, db *sql.DB, keys []string) error {
	var dmid int
	if err := db.QueryRowContext(ctx, "SELECT dmid FROM domain WHERE namespace = ?", benchDomain).Scan(&dmid); err != nil {
		return fmt.Errorf("bench: seed: %w", err)
	}
	for len(keys) > 0 {
		batch := keys[:min(len(keys), 5000)]
		keys = keys[len(batch):]
		tx, err := db.BeginTx(ctx, nil)
		if err != nil {
			return fmt.Errorf("bench: seed: %w", err)
		}
		var fid int64
		if err := tx.QueryRowContext(ctx, "SELECT COALESCE(MAX(fid), 0) FROM file").Scan(&fid); err != nil {
			tx.Rollback()
			return fmt.Errorf("bench: seed: %w", err)
		}
		fid += 1_000_000
		q := "INSERT INTO file (fid, dmid, dkey, length, classid, devcount) VALUES " + strings.Repeat("(?, ?, ?, 1, 0, 1),", len(batch))
		args := make([]any, 0, 3*len(batch))
		for i, k := range batch {
			args = append(args, fid+int64(i), dmid, k)
		}
		if _, err := tx.ExecContext(ctx, strings.TrimSuffix(q, ","), args...); err != nil {
			tx.Rollback()
			return fmt.Errorf("bench: seed: %w", err)
		}
		if err := tx.Commit(); err != nil {
			return fmt.Errorf("bench: seed: %w", err)
		}
	}
	return nil
}

// count prints n with thousands separators.
func count(n int) string {
	s := fmt.Sprint(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}
