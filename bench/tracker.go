package bench

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"mogfs/client"
	"mogfs/protocol"
)

// tracker runs the tracker section: get_paths noverify over 1 and 32
// connections, create_open + empty PUT + create_close over 8, and list_keys
// pages over 1, each sample right after a noop sample on the same
// connections.
func (r *runner) tracker(ctx context.Context) error {
	const sec = "tracker"
	gp1 := r.row(sec, fmt.Sprintf("get_paths noverify, 1 conn (%d keys)", r.sz.Keys), "req/s", "noop/s same conn")
	gp32 := r.row(sec, fmt.Sprintf("get_paths noverify, 32 conns (%d keys)", r.sz.Keys), "req/s", "noop/s same conns")
	create := r.row(sec, "create_open + 0-byte PUT + create_close, 8 conns", "files/s", "noop/s same conns")
	list := r.row(sec, fmt.Sprintf("list_keys pages of 1000, 1 conn (%d keys)", r.sz.Keys), "pages/s", "noop/s same conn")
	all := []*Row{gp1, gp32, create, list}
	if err := r.preload(ctx); err != nil {
		failAll(fmt.Errorf("preload: %w", err), all...)
		return ctx.Err()
	}
	getPaths := func(t *tconn, rng *rand.Rand) error {
		_, err := t.do("get_paths", map[string]string{"domain": benchDomain, "key": r.keys[rng.IntN(len(r.keys))], "noverify": "1"})
		return err
	}
	hc := &http.Client{Transport: client.NewTransport(10 * time.Second)}
	defer hc.CloseIdleConnections()
	var seq atomic.Int64
	createPair := func(t *tconn, _ *rand.Rand) error {
		key := "c/" + strconv.FormatInt(seq.Add(1), 10)
		res, err := t.do("create_open", map[string]string{"domain": benchDomain, "key": key, "class": benchClass, "fid": "0", "multi_dest": "1", "size": "0"})
		if err != nil {
			return err
		}
		path := res["path_1"]
		if err := httpPut(ctx, hc, path, nil, 0); err != nil {
			return err
		}
		_, err = t.do("create_close", map[string]string{"domain": benchDomain, "key": key, "fid": res["fid"], "devid": res["devid_1"], "path": path, "size": "0"})
		return err
	}
	var after string // list_keys position; listPage runs on one connection only
	listPage := func(t *tconn, _ *rand.Rand) error {
		res, err := t.do("list_keys", map[string]string{"domain": benchDomain, "prefix": "k/", "after": after, "limit": "1000"})
		if protocol.IsCode(err, "none_match") {
			after = "" // the previous page was exactly the last one
			return nil
		}
		if err != nil {
			return err
		}
		after = res["next_after"]
		if n, _ := strconv.Atoi(res["key_count"]); n < 1000 {
			after = "" // the last page: start over
		}
		return nil
	}
	noop := func(t *tconn, _ *rand.Rand) error { _, err := t.do("noop", nil); return err }
	cases := []struct {
		row   *Row
		conns int
		op    func(*tconn, *rand.Rand) error
	}{{gp1, 1, getPaths}, {gp32, 32, getPaths}, {create, 8, createPair}, {list, 1, listPage}}
	for _, tc := range cases {
		conns, err := r.dialN(ctx, tc.conns)
		if err != nil {
			tc.row.fail(err)
			continue
		}
		for range r.sz.Reps {
			ref, err := loop(conns, r.sz.OpTime, noop)
			if err == nil {
				var v float64
				v, err = loop(conns, r.sz.OpTime, tc.op)
				if err == nil {
					r.add(tc.row, v, ref)
				}
			}
			if err != nil {
				tc.row.fail(err)
				break
			}
			if ctx.Err() != nil {
				break
			}
		}
		for _, t := range conns {
			t.close()
		}
	}
	return ctx.Err()
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

// dialN opens n raw tracker connections.
func (r *runner) dialN(ctx context.Context, n int) ([]*tconn, error) {
	var out []*tconn
	for range n {
		t, err := dialTracker(ctx, r.c.tracker)
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
