package bench

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"mogfs/client"
)

// smallSize is the size of the small objects and files.
const smallSize = 4 << 10

// storage runs the storage-node section: PUT and GET of one large object
// and of many 4 KiB objects straight to a stord, beside the same bytes
// written the way stord writes them (temp file, fsync, rename, directory
// fsync) and read back with plain file I/O, on the same disk.
func (r *runner) storage(ctx context.Context) error {
	const sec = "stord"
	big := sizeName(r.sz.NodeBig)
	bigPut := r.row(sec, "PUT one "+big+" object", "MB/s", "MB/s local write+fsync")
	bigGet := r.row(sec, "GET one "+big+" object (page cache warm)", "MB/s", "MB/s local read")
	smPut := r.row(sec, fmt.Sprintf("PUT %d x 4 KiB objects, 8 streams", r.sz.Small), "MB/s", "MB/s local write+fsync")
	smGet := r.row(sec, fmt.Sprintf("GET %d x 4 KiB objects, 8 streams", r.sz.Small), "MB/s", "MB/s local read")
	nd := r.c.nodes[0]
	hc := &http.Client{Transport: client.NewTransport(30 * time.Second)}
	defer hc.CloseIdleConnections()
	local := filepath.Join(r.cfg.Dir, "local-stord")
	base := fmt.Sprintf("http://%s/dev%d/bench", nd.http, nd.devID)
	for rep := range r.sz.Reps {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if err := os.MkdirAll(filepath.Join(local, fmt.Sprint(rep)), 0o755); err != nil {
			failAll(err, bigPut, bigGet, smPut, smGet)
			break
		}
		// One large object.
		url := fmt.Sprintf("%s/big-%d.fid", base, rep)
		lpath := filepath.Join(local, fmt.Sprintf("big-%d", rep))
		put, err := timed(func() error { return httpPut(ctx, hc, url, newPatternReader(r.pat, r.sz.NodeBig), r.sz.NodeBig) })
		var ref time.Duration
		if err == nil {
			ref, err = timed(func() error { return durableWriteStream(lpath, r.pat, r.sz.NodeBig) })
		}
		if err != nil {
			failAll(err, bigPut, bigGet)
		} else {
			r.add(bigPut, mbps(r.sz.NodeBig, put), mbps(r.sz.NodeBig, ref))
			get, err := timed(func() error { return httpGet(ctx, hc, url, r.sz.NodeBig) })
			if err == nil {
				ref, err = timed(func() error { return readExactly(lpath, r.sz.NodeBig) })
			}
			if err != nil {
				bigGet.fail(err)
			} else {
				r.add(bigGet, mbps(r.sz.NodeBig, get), mbps(r.sz.NodeBig, ref))
			}
		}
		os.Remove(lpath)
		httpDelete(ctx, hc, url)

		// Many 4 KiB objects, 8 at a time.
		n := r.sz.Small
		total := int64(n) * smallSize
		body := func(i int) []byte {
			off := (i * smallSize) % (len(r.pat) - smallSize)
			return r.pat[off : off+smallSize]
		}
		surl := func(i int) string { return fmt.Sprintf("%s/s%d/%d.fid", base, rep, i) }
		spath := func(i int) string { return filepath.Join(local, fmt.Sprint(rep), fmt.Sprintf("%d.fid", i)) }
		put, err = timed(func() error {
			return parallel(8, n, func(i int) error { return httpPut(ctx, hc, surl(i), bytes.NewReader(body(i)), smallSize) })
		})
		if err == nil {
			ref, err = timed(func() error {
				return parallel(8, n, func(i int) error { return durableWrite(spath(i), body(i)) })
			})
		}
		if err != nil {
			failAll(err, smPut, smGet)
			continue
		}
		r.add(smPut, mbps(total, put), mbps(total, ref))
		get, err := timed(func() error {
			return parallel(8, n, func(i int) error { return httpGet(ctx, hc, surl(i), smallSize) })
		})
		if err == nil {
			ref, err = timed(func() error {
				return parallel(8, n, func(i int) error { return readExactly(spath(i), smallSize) })
			})
		}
		if err != nil {
			smGet.fail(err)
			continue
		}
		r.add(smGet, mbps(total, get), mbps(total, ref))
		os.RemoveAll(filepath.Join(local, fmt.Sprint(rep)))
		parallel(8, n, func(i int) error { httpDelete(ctx, hc, surl(i)); return nil })
	}
	os.RemoveAll(local)
	return ctx.Err()
}

// timed runs f and returns how long it took.
func timed(f func() error) (time.Duration, error) {
	start := time.Now()
	err := f()
	return time.Since(start), err
}

// httpPut PUTs size bytes of body (nil: empty) to url and wants a 2xx.
func httpPut(ctx context.Context, hc *http.Client, url string, body io.Reader, size int64) error {
	if body == nil {
		body = http.NoBody
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, url, body)
	if err != nil {
		return fmt.Errorf("bench: %w", err)
	}
	req.ContentLength = size
	if size == 0 {
		req.Body = http.NoBody
	}
	resp, err := hc.Do(req)
	if err != nil {
		return fmt.Errorf("bench: PUT %s: %w", url, err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("bench: PUT %s: %s", url, resp.Status)
	}
	return nil
}

// httpGet GETs url and wants exactly size bytes.
func httpGet(ctx context.Context, hc *http.Client, url string, size int64) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return fmt.Errorf("bench: %w", err)
	}
	resp, err := hc.Do(req)
	if err != nil {
		return fmt.Errorf("bench: GET %s: %w", url, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("bench: GET %s: %s", url, resp.Status)
	}
	n, err := copyDiscard(resp.Body)
	if err != nil {
		return fmt.Errorf("bench: GET %s: %w", url, err)
	}
	if n != size {
		return fmt.Errorf("bench: GET %s: %d bytes, want %d", url, n, size)
	}
	return nil
}

// httpDelete removes a benchmark object; failures only leave garbage in
// the scratch directory.
func httpDelete(ctx context.Context, hc *http.Client, url string) {
	req, err := http.NewRequestWithContext(ctx, http.MethodDelete, url, nil)
	if err != nil {
		return
	}
	if resp, err := hc.Do(req); err == nil {
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
}

// readExactly reads path and wants size bytes.
func readExactly(path string, size int64) error {
	n, err := readFile(path)
	if err == nil && n != size {
		err = fmt.Errorf("bench: read %s: %d bytes, want %d", path, n, size)
	}
	return err
}
