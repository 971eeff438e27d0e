package bench

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"mogfs/client"
)

// client runs the client-library section: many 4 KiB files and one large
// file stored and fetched through mogfs/client (tracker round trips, HTTP
// to the node, the tracker's HEAD check), beside the same bytes written
// with fsync and read back with plain file I/O.
func (r *runner) client(ctx context.Context) error {
	const sec = "client"
	big := sizeName(r.sz.ClientBig)
	smStore := r.row(sec, fmt.Sprintf("store %d x 4 KiB files, 8 goroutines", r.sz.Small), "files/s", "files/s local write+fsync")
	smFetch := r.row(sec, fmt.Sprintf("fetch %d x 4 KiB files, 8 goroutines", r.sz.Small), "files/s", "files/s local read")
	bigStore := r.row(sec, "store one "+big+" file", "MB/s", "MB/s local write+fsync")
	bigFetch := r.row(sec, "fetch one "+big+" file", "MB/s", "MB/s local read")
	cl, err := client.New(client.Config{Trackers: []string{r.c.tracker}, Timeout: 60 * time.Second})
	if err != nil {
		failAll(err, smStore, smFetch, bigStore, bigFetch)
		return nil
	}
	defer cl.Close()
	local := filepath.Join(r.cfg.Dir, "local-client")
	n := r.sz.Small
	body := func(i int) []byte {
		off := (i*smallSize + 1) % (len(r.pat) - smallSize)
		return r.pat[off : off+smallSize]
	}
	for rep := range r.sz.Reps {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		dir := filepath.Join(local, fmt.Sprint(rep))
		if err := os.MkdirAll(dir, 0o755); err != nil {
			failAll(err, smStore, smFetch, bigStore, bigFetch)
			break
		}
		key := func(i int) string { return fmt.Sprintf("c4/%d/%d", rep, i) }
		lpath := func(i int) string { return filepath.Join(dir, fmt.Sprint(i)) }
		st, err := timed(func() error {
			return parallel(8, n, func(i int) error {
				_, err := cl.StoreReaderAt(ctx, benchDomain, key(i), benchClass, bytes.NewReader(body(i)), smallSize)
				return err
			})
		})
		var ref time.Duration
		if err == nil {
			ref, err = timed(func() error { return parallel(8, n, func(i int) error { return durableWrite(lpath(i), body(i)) }) })
		}
		if err != nil {
			failAll(err, smStore, smFetch)
		} else {
			r.add(smStore, perSec(n, st), perSec(n, ref))
			ft, err := timed(func() error {
				return parallel(8, n, func(i int) error { return fetchExactly(ctx, cl, key(i), smallSize) })
			})
			if err == nil {
				ref, err = timed(func() error { return parallel(8, n, func(i int) error { return readExactly(lpath(i), smallSize) }) })
			}
			if err != nil {
				smFetch.fail(err)
			} else {
				r.add(smFetch, perSec(n, ft), perSec(n, ref))
			}
		}

		bkey := fmt.Sprintf("cbig/%d", rep)
		bpath := filepath.Join(dir, "big")
		st, err = timed(func() error {
			_, err := cl.StoreReaderAt(ctx, benchDomain, bkey, benchClass, newPatternReader(r.pat, r.sz.ClientBig), r.sz.ClientBig)
			return err
		})
		if err == nil {
			ref, err = timed(func() error { _, err := writeFile(bpath, r.pat, r.sz.ClientBig, true); return err })
		}
		if err != nil {
			failAll(err, bigStore, bigFetch)
		} else {
			r.add(bigStore, mbps(r.sz.ClientBig, st), mbps(r.sz.ClientBig, ref))
			ft, err := timed(func() error { return fetchExactly(ctx, cl, bkey, r.sz.ClientBig) })
			if err == nil {
				ref, err = timed(func() error { return readExactly(bpath, r.sz.ClientBig) })
			}
			if err != nil {
				bigFetch.fail(err)
			} else {
				r.add(bigFetch, mbps(r.sz.ClientBig, ft), mbps(r.sz.ClientBig, ref))
			}
		}
		cl.Delete(ctx, benchDomain, bkey)
		os.RemoveAll(dir)
	}
	os.RemoveAll(local)
	return ctx.Err()
}

// fetchExactly fetches key and wants size bytes.
func fetchExactly(ctx context.Context, cl *client.Client, key string, size int64) error {
	n, err := cl.Fetch(ctx, benchDomain, key, io.Discard)
	if err != nil {
		return fmt.Errorf("bench: fetch %s: %w", key, err)
	}
	if n != size {
		return fmt.Errorf("bench: fetch %s: %d bytes, want %d", key, n, size)
	}
	return nil
}
