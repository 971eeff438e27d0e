package bench

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"mogfs/client"
	"mogfs/protocol"
)

// tracker runs the tracker section: get_paths noverify (with its path
// cache, and on a second tracker without it), file_info and list_keys
// pages over 1 and 32 connections, creates over 8, each sample right after
// a noop sample on the same connections; and 4 KiB stores over 8
// connections beside one local create + write + fdatasync + directory
// fsync loop.
func (r *runner) tracker(ctx context.Context) error {
	const sec = "tracker"
	gp1 := r.row(sec, fmt.Sprintf("get_paths noverify, 1 conn (%d keys)", r.sz.Keys), "req/s", "noop/s same conn")
	gp32 := r.row(sec, fmt.Sprintf("get_paths noverify, 32 conns (%d keys)", r.sz.Keys), "req/s", "noop/s same conns")
	gpu1 := r.row(sec, "get_paths noverify, path cache off, 1 conn", "req/s", "noop/s same conn")
	gpu32 := r.row(sec, "get_paths noverify, path cache off, 32 conns", "req/s", "noop/s same conns")
	fi1 := r.row(sec, "file_info, 1 conn", "req/s", "noop/s same conn")
	fi32 := r.row(sec, "file_info, 32 conns", "req/s", "noop/s same conns")
	create := r.row(sec, "create_open + 0-byte PUT + create_close, 8 conns", "files/s", "noop/s same conns")
	store4k := r.row(sec, "create_open + 4 KiB PUT + create_close, 8 conns", "files/s", "files/s local create+write+fdatasync+dir fsync, 1 loop")
	list := r.row(sec, fmt.Sprintf("list_keys pages of 1000, 1 conn (%d keys)", r.sz.Keys), "pages/s", "noop/s same conn")
	list100 := r.row(sec, "list_keys pages of 100, 1 conn", "pages/s", "noop/s same conn")
	list100x32 := r.row(sec, "list_keys pages of 100, 32 conns", "pages/s", "noop/s same conns")
	all := []*Row{gp1, gp32, gpu1, gpu32, fi1, fi32, create, store4k, list, list100, list100x32}
	if err := r.preload(ctx); err != nil {
		failAll(fmt.Errorf("preload: %w", err), all...)
		return ctx.Err()
	}
	getPaths := func(t *tconn, rng *rand.Rand) error {
		_, err := t.do("get_paths", map[string]string{"domain": benchDomain, "key": r.keys[rng.IntN(len(r.keys))], "noverify": "1"})
		return err
	}
	fileInfo := func(t *tconn, rng *rand.Rand) error {
		_, err := t.do("file_info", map[string]string{"domain": benchDomain, "key": r.keys[rng.IntN(len(r.keys))]})
		return err
	}
	hc := &http.Client{Transport: client.NewTransport(10 * time.Second)}
	defer hc.CloseIdleConnections()
	var seq atomic.Int64
	store := func(size int) func(t *tconn, _ *rand.Rand) error { return r.storeOp(ctx, hc, "c/", &seq, size) }
	// listPages pages through the preloaded keys, each connection with its
	// own cursor, starting over after the last page.
	listPages := func(size int) func(t *tconn, _ *rand.Rand) error {
		var mu sync.Mutex
		after := map[*tconn]string{}
		return func(t *tconn, _ *rand.Rand) error {
			mu.Lock()
			a := after[t]
			mu.Unlock()
			res, err := t.do("list_keys", map[string]string{"domain": benchDomain, "prefix": "k/", "after": a, "limit": strconv.Itoa(size)})
			if protocol.IsCode(err, "none_match") {
				err, res = nil, nil // the previous page was exactly the last one
			}
			if err != nil {
				return err
			}
			a = res["next_after"]
			if n, _ := strconv.Atoi(res["key_count"]); n < size {
				a = "" // the last page: start over
			}
			mu.Lock()
			after[t] = a
			mu.Unlock()
			return nil
		}
	}
	// The same load on a second tracker of the same database, without the
	// get_paths cache: every request reads the file and its replicas.
	uncached, stopUncached, err := r.c.extraTracker(r.cfg.Bin, r.cfg.DSN, r.cfg.DBUser, r.cfg.DBPass, "--get_paths_cache_ttl=0")
	if err != nil {
		failAll(err, gpu1, gpu32)
	}
	defer stopUncached()
	cases := []struct {
		row   *Row
		conns int
		addr  string
		op    func(*tconn, *rand.Rand) error
	}{
		{gp1, 1, r.c.tracker, getPaths}, {gp32, 32, r.c.tracker, getPaths},
		{gpu1, 1, uncached, getPaths}, {gpu32, 32, uncached, getPaths},
		{fi1, 1, r.c.tracker, fileInfo}, {fi32, 32, r.c.tracker, fileInfo},
		{create, 8, r.c.tracker, store(0)}, {store4k, 8, r.c.tracker, store(4096)},
		{list, 1, r.c.tracker, listPages(1000)}, {list100, 1, r.c.tracker, listPages(100)}, {list100x32, 32, r.c.tracker, listPages(100)},
	}
	for _, tc := range cases {
		if tc.addr == "" {
			continue // its tracker did not start
		}
		r.measure(ctx, tc.row, tc.addr, tc.conns, tc.op, tc.row == store4k)
	}
	return ctx.Err()
}

// noop is the reference request: a round trip that touches no state.
func noop(t *tconn, _ *rand.Rand) error { _, err := t.do("noop", nil); return err }

// measure opens n connections to the tracker at addr and runs Reps
// samples of op on them, each right after a sample of its reference: noop
// on the same connections, or with durableRef the local durable create
// loop (localDurableRate). A failure is recorded in row and ends it.
func (r *runner) measure(ctx context.Context, row *Row, addr string, n int, op func(*tconn, *rand.Rand) error, durableRef bool) {
	conns, err := r.dialN(ctx, addr, n)
	if err != nil {
		row.fail(err)
		return
	}
	defer func() {
		for _, t := range conns {
			t.close()
		}
	}()
	for range r.sz.Reps {
		ref, err := loop(conns, r.sz.OpTime, noop)
		if durableRef && err == nil {
			ref, err = r.localDurableRate(r.sz.OpTime)
		}
		if err == nil {
			var v float64
			v, err = loop(conns, r.sz.OpTime, op)
			if err == nil {
				r.add(row, v, ref)
			}
		}
		if err != nil {
			row.fail(err)
			return
		}
		if ctx.Err() != nil {
			return
		}
	}
}

// storeOp returns a request loop body that stores one file of size
// pattern bytes under a new key (prefix and the next seq) in the bench
// class: create_open, one PUT to the first path, create_close.
func (r *runner) storeOp(ctx context.Context, hc *http.Client, prefix string, seq *atomic.Int64, size int) func(*tconn, *rand.Rand) error {
	body := r.pat[:size]
	return func(t *tconn, _ *rand.Rand) error {
		key := prefix + strconv.FormatInt(seq.Add(1), 10)
		res, err := t.do("create_open", map[string]string{"domain": benchDomain, "key": key, "class": benchClass, "fid": "0", "multi_dest": "1", "size": strconv.Itoa(size)})
		if err != nil {
			return err
		}
		path := res["path_1"]
		if err := httpPut(ctx, hc, path, bytes.NewReader(body), int64(size)); err != nil {
			return err
		}
		_, err = t.do("create_close", map[string]string{"domain": benchDomain, "key": key, "fid": res["fid"], "devid": res["devid_1"], "path": path, "size": strconv.Itoa(size)})
		return err
	}
}

// preload stores Sizes.Keys tiny files through the client library with 8
// goroutines, so get_paths and list_keys run against a realistic table.
func (r *runner) preload(ctx context.Context) error {
	cl, err := client.New(client.Config{Trackers: []string{r.c.tracker}})
	if err != nil {
		return err
	}
	defer cl.Close()
	r.keys = make([]string, r.sz.Keys)
	for i := range r.keys {
		r.keys[i] = fmt.Sprintf("k/%07d", i)
	}
	start := time.Now()
	err = parallel(8, len(r.keys), func(i int) error {
		body := []byte(r.keys[i] + " payload\n")
		_, err := cl.StoreReaderAt(ctx, benchDomain, r.keys[i], benchClass, bytes.NewReader(body), int64(len(body)))
		return err
	})
	if err == nil {
		d := time.Since(start)
		r.rep.Notes = append(r.rep.Notes, fmt.Sprintf("tracker: %d keys preloaded through the client (8 goroutines) in %.1fs, %.0f files/s",
			len(r.keys), d.Seconds(), perSec(len(r.keys), d)))
	}
	return err
}

// dialN opens n raw connections to the tracker at addr.
func (r *runner) dialN(ctx context.Context, addr string, n int) ([]*tconn, error) {
	var out []*tconn
	for range n {
		t, err := dialTracker(ctx, addr)
		if err != nil {
			for _, t := range out {
				t.close()
			}
			return nil, err
		}
		out = append(out, t)
	}
	return out, nil
}

// loop runs op on every connection in parallel, back to back, for d, and
// returns the operations per second over all connections.
func loop(conns []*tconn, d time.Duration, op func(*tconn, *rand.Rand) error) (float64, error) {
	var (
		wg    sync.WaitGroup
		total atomic.Int64
		mu    sync.Mutex // guards first
		first error
	)
	start := time.Now()
	end := start.Add(d)
	for i, t := range conns {
		t.c.SetDeadline(end.Add(30 * time.Second))
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(i), uint64(start.UnixNano())))
			n := int64(0)
			for time.Now().Before(end) {
				if err := op(t, rng); err != nil {
					mu.Lock()
					first = firstErr(first, err)
					mu.Unlock()
					break
				}
				n++
			}
			total.Add(n)
		})
	}
	wg.Wait()
	if first != nil {
		return 0, first
	}
	return perSec(int(total.Load()), time.Since(start)), nil
}

// firstErr keeps the first non-nil error.
func firstErr(a, b error) error {
	if a != nil {
		return a
	}
	return b
}

// parallel runs f(0..n-1) on w goroutines and returns the first error;
// after an error the remaining items are skipped.
func parallel(w, n int, f func(i int) error) error {
	var (
		next atomic.Int64
		mu   sync.Mutex // guards first
		errs error
		wg   sync.WaitGroup
	)
	for range w {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				if err := f(i); err != nil {
					mu.Lock()
					errs = firstErr(errs, err)
					mu.Unlock()
					next.Store(int64(n))
					return
				}
			}
		})
	}
	wg.Wait()
	return errs
}

// localDurableRate is the reference of durable small stores: files of
// 4 KiB per second that one loop of create, write, fdatasync and directory
// fsync makes on the local disk for d.
func (r *runner) localDurableRate(d time.Duration) (float64, error) {
	dir, err := os.MkdirTemp(r.cfg.Dir, "durable-")
	if err != nil {
		return 0, fmt.Errorf("bench: %w", err)
	}
	defer os.RemoveAll(dir)
	df, err := os.Open(dir)
	if err != nil {
		return 0, fmt.Errorf("bench: %w", err)
	}
	defer df.Close()
	start := time.Now()
	n := 0
	for ; time.Since(start) < d; n++ {
		if err := writeDurable(filepath.Join(dir, strconv.Itoa(n)), df, r.pat[:4096]); err != nil {
			return 0, fmt.Errorf("bench: %w", err)
		}
	}
	return perSec(n, time.Since(start)), nil
}
