package bench

import (
	"context"
	"crypto/md5"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"mogfs/client"
	"mogfs/protocol"
)

// millionBudgetMB is the resident memory trackerd must stay under with a
// million files in its database (MB = 10^6 bytes).
const millionBudgetMB = 100

// millionClass is the class with MD5 checksums that one file in four of
// the million belongs to, so file_info reads checksum rows too.
const millionClass = "md5"

// million runs the million section: it writes Sizes.Million files straight
// into the tracker's database (file, file_on and, for one file in four,
// checksum rows), starts a fresh trackerd on it without the get_paths
// cache, and measures the tracker section's hot paths on keys drawn at
// random across the million, each beside noop on the same connections;
// then 4 KiB stores beside the local durable create loop, and the
// tracker's peak RSS beside the 100 MB budget.
func (r *runner) million(ctx context.Context) error {
	const sec = "million"
	n := r.sz.Million
	files := fmt.Sprintf(" (%s files)", count(n))
	gp1 := r.row(sec, "get_paths noverify, path cache off, 1 conn"+files, "req/s", "noop/s same conn")
	gp32 := r.row(sec, "get_paths noverify, path cache off, 32 conns", "req/s", "noop/s same conns")
	fi1 := r.row(sec, "file_info, 1 conn", "req/s", "noop/s same conn")
	fi32 := r.row(sec, "file_info, 32 conns", "req/s", "noop/s same conns")
	list1 := r.row(sec, "list_keys pages of 100 from a random key, 1 conn", "pages/s", "noop/s same conn")
	list32 := r.row(sec, "list_keys pages of 100 from a random key, 32 conns", "pages/s", "noop/s same conns")
	store4k := r.row(sec, "create_open + 4 KiB PUT + create_close, 8 conns", "files/s", "files/s local create+write+fdatasync+dir fsync, 1 loop")
	rss := r.row(sec, "trackerd peak RSS (VmHWM) after the load"+files, "MB", "MB budget")
	all := []*Row{gp1, gp32, fi1, fi32, list1, list32, store4k, rss}

	if err := r.createMillionClass(ctx); err != nil {
		failAll(err, all...)
		return ctx.Err()
	}
	db, err := r.openDB()
	if err != nil {
		failAll(err, all...)
		return ctx.Err()
	}
	start := time.Now()
	st, err := fillMillion(ctx, db, n, r.c.devIDs())
	db.Close()
	if err != nil {
		failAll(err, all...)
		return ctx.Err()
	}
	r.rep.Notes = append(r.rep.Notes, fmt.Sprintf("million: %s file rows, %s file_on rows and %s checksum rows (class %s, MD5) inserted straight into the database in %.1f s, %s files a transaction; keys m/dNNNNN/fNNNNNNN, 100 to a directory",
		count(st.files), count(st.copies), count(st.sums), millionClass, time.Since(start).Seconds(), count(millionTx)))

	addr, err := freeAddr()
	if err != nil {
		failAll(err, all...)
		return ctx.Err()
	}
	// A whole trackerd (job master, monitor, reaper...), as in production,
	// without the path cache: every get_paths reads the database.
	p, err := startTrackerd(r.c.dir, "trackerd-million", r.cfg.Bin, addr, r.cfg.DSN, r.cfg.DBUser, r.cfg.DBPass, "--get_paths_cache_ttl=0")
	if err != nil {
		failAll(err, all...)
		return ctx.Err()
	}
	defer p.stop(syscall.SIGTERM, 10*time.Second)
	if err := waitListening(p, addr, 60*time.Second); err != nil {
		failAll(err, all...)
		return ctx.Err()
	}
	startMB := p.peakMiB() * mibMB

	key := func(rng *rand.Rand) string { return millionKey(rng.IntN(n)) }
	getPaths := func(t *tconn, rng *rand.Rand) error {
		_, err := t.do("get_paths", map[string]string{"domain": benchDomain, "key": key(rng), "noverify": "1"})
		return err
	}
	fileInfo := func(t *tconn, rng *rand.Rand) error {
		_, err := t.do("file_info", map[string]string{"domain": benchDomain, "key": key(rng)})
		return err
	}
	listKeys := func(t *tconn, rng *rand.Rand) error {
		_, err := t.do("list_keys", map[string]string{"domain": benchDomain, "prefix": "m/", "after": key(rng), "limit": "100"})
		if protocol.IsCode(err, "none_match") {
			return nil // after the last key
		}
		return err
	}
	hc := &http.Client{Transport: client.NewTransport(10 * time.Second)}
	defer hc.CloseIdleConnections()
	var seq atomic.Int64
	cases := []struct {
		row   *Row
		conns int
		op    func(*tconn, *rand.Rand) error
	}{
		{gp1, 1, getPaths}, {gp32, 32, getPaths}, {fi1, 1, fileInfo}, {fi32, 32, fileInfo},
		{list1, 1, listKeys}, {list32, 32, listKeys}, {store4k, 8, r.storeOp(ctx, hc, "m-store/", &seq, 4096)},
	}
	for _, tc := range cases {
		r.measure(ctx, tc.row, addr, tc.conns, tc.op, tc.row == store4k)
		if ctx.Err() != nil {
			return ctx.Err()
		}
	}
	peak := p.peakMiB() * mibMB
	if peak == 0 {
		rss.fail(fmt.Errorf("bench: trackerd-million exited\n%s", p.logTail()))
		return ctx.Err()
	}
	r.add(rss, peak, millionBudgetMB)
	r.rep.Notes = append(r.rep.Notes, fmt.Sprintf("million: a fresh trackerd (job master, --get_paths_cache_ttl=0) on that database: peak RSS %.1f MB after start-up, %.1f MB after the load; keys drawn at random across the %s", startMB, peak, count(n)))
	return ctx.Err()
}

// mibMB converts MiB to MB (10^6 bytes).
const mibMB = 1.048576

// millionKey is the key of the i-th file of the million section: 100 files
// to a directory, sorting in i's order.
func millionKey(i int) string {
	return fmt.Sprintf("m/d%05d/f%07d", i/100, i)
}

// createMillionClass creates the MD5 class through the tracker protocol (as an
// operator would), unless an earlier run made it.
func (r *runner) createMillionClass(ctx context.Context) error {
	t, err := dialTracker(ctx, r.c.tracker)
	if err != nil {
		return err
	}
	defer t.close()
	_, err = t.do("create_class", map[string]string{"domain": benchDomain, "class": millionClass, "mindevcount": "1", "hashtype": "MD5"})
	if protocol.IsCode(err, "class_exists") {
		err = nil
	}
	return err
}

// devIDs lists the cluster's devices.
func (c *cluster) devIDs() []int {
	var ids []int
	for _, nd := range c.nodes {
		ids = append(ids, nd.devID)
	}
	return ids
}

// millionTx is how many files one fill transaction inserts, and millionStmt
// how many rows one INSERT carries (6 columns: 3,000 placeholders, under
// SQLite's and MySQL's limits).
const (
	millionTx   = 50_000
	millionStmt = 500
)

// fillStats counts the rows fillMillion inserted.
type fillStats struct{ files, copies, sums int }

// fillMillion inserts n files into the bench domain, with fids far above
// the tracker's: file i is millionKey(i), one copy on devs[i%len(devs)];
// one in four is in millionClass with an MD5 checksum row, the rest in the
// bench class. Lengths vary from 1 byte to 1 MiB.
func fillMillion(ctx context.Context, db *sql.DB, n int, devs []int) (fillStats, error) {
	var st fillStats
	var dmid, plain, md5c int
	err := db.QueryRowContext(ctx, `SELECT d.dmid, c1.classid, c2.classid FROM domain d
		JOIN class c1 ON c1.dmid = d.dmid AND c1.classname = ?
		JOIN class c2 ON c2.dmid = d.dmid AND c2.classname = ?
		WHERE d.namespace = ?`, benchClass, millionClass, benchDomain).Scan(&dmid, &plain, &md5c)
	if err != nil {
		return st, fmt.Errorf("bench: fill: domain and classes: %w", err)
	}
	var base int64
	if err := db.QueryRowContext(ctx, "SELECT COALESCE(MAX(fid), 0) FROM file").Scan(&base); err != nil {
		return st, fmt.Errorf("bench: fill: %w", err)
	}
	base += 1_000_000
	for lo := 0; lo < n; lo += millionTx {
		hi := min(n, lo+millionTx)
		var fileArgs, onArgs, sumArgs []any
		for i := lo; i < hi; i++ {
			fid := base + int64(i)
			class := plain
			if i%4 == 3 {
				class = md5c
				sum := md5.Sum([]byte(millionKey(i)))
				sumArgs = append(sumArgs, fid, 1, sum[:]) // 1: MD5
			}
			fileArgs = append(fileArgs, fid, dmid, millionKey(i), 1+(i*7919)%(1<<20), class, 1)
			onArgs = append(onArgs, fid, devs[i%len(devs)])
		}
		tx, err := db.BeginTx(ctx, nil)
		if err != nil {
			return st, fmt.Errorf("bench: fill: %w", err)
		}
		for _, ins := range []struct {
			table string
			cols  int
			args  []any
		}{
			{"file (fid, dmid, dkey, length, classid, devcount)", 6, fileArgs},
			{"file_on (fid, devid)", 2, onArgs},
			{"checksum (fid, hashtype, checksum)", 3, sumArgs},
		} {
			if err := bulkInsert(ctx, tx, ins.table, ins.cols, ins.args); err != nil {
				tx.Rollback()
				return st, err
			}
		}
		if err := tx.Commit(); err != nil {
			return st, fmt.Errorf("bench: fill: %w", err)
		}
		st.files += hi - lo
		st.copies += len(onArgs) / 2
		st.sums += len(sumArgs) / 3
	}
	return st, nil
}

// bulkInsert inserts args, cols values a row, into table ("name (cols)")
// with INSERTs of up to millionStmt rows.
func bulkInsert(ctx context.Context, tx *sql.Tx, table string, cols int, args []any) error {
	for len(args) > 0 {
		k := min(millionStmt, len(args)/cols)
		if _, err := tx.ExecContext(ctx, insertSQL(table, cols, k), args[:k*cols]...); err != nil {
			return fmt.Errorf("bench: fill %s: %w", table, err)
		}
		args = args[k*cols:]
	}
	return nil
}

// insertSQL is a multi-row INSERT of rows rows of cols placeholders.
func insertSQL(table string, cols, rows int) string {
	row := "(" + strings.TrimSuffix(strings.Repeat("?, ", cols), ", ") + ")"
	return "INSERT INTO " + table + " VALUES " + strings.TrimSuffix(strings.Repeat(row+", ", rows), ", ")
}
