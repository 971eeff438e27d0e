package client

import (
	"context"
	"errors"
	"fmt"
	"io"
	"mogfs/protocol"
	"net/http"
	"os"
	"strconv"
	"sync"
	"time"
)

// HTTPError is a storage node's non-2xx answer.
type HTTPError struct {
	Method, URL string
	Status      int
}

// Error implements error.
func (e *HTTPError) Error() string {
	return fmt.Sprintf("client: %s %s: %d %s", e.Method, e.URL, e.Status, http.StatusText(e.Status))
}

// Put uploads body to url with an HTTP PUT. When size >= 0 it is sent as
// Content-Length (storage nodes need it; mogstored cannot take chunked
// bodies) and body must hold exactly that many bytes. Any 2xx is success.
func (c *Client) Put(ctx context.Context, url string, body io.Reader, size int64) error {
	return c.put(ctx, url, body, size, nil)
}

// put is Put; a non-nil rewind returns a fresh copy of the body, which lets
// the transport resend the request when a kept-alive connection turns out to
// be closed.
func (c *Client) put(ctx context.Context, url string, body io.Reader, size int64, rewind func() io.Reader) error {
	w := c.watch(ctx, http.MethodPut, url)
	defer w.Done()
	if size == 0 {
		body = http.NoBody
	} else {
		body = &upload{r: body, w: w}
	}
	req, err := http.NewRequestWithContext(w.Context(), http.MethodPut, url, body)
	if err != nil {
		return fmt.Errorf("client: put %s: %w", url, err)
	}
	if size >= 0 {
		req.ContentLength = size
	}
	if rewind != nil && size > 0 {
		req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(&upload{r: rewind(), w: w}), nil }
		// A PUT to a fid's path is idempotent; a nil header value marks
		// it so for the transport without sending it.
		req.Header["Idempotency-Key"] = nil
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("client: put: %w", w.err(err))
	}
	w.Progress(0, false)
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return &HTTPError{Method: http.MethodPut, URL: url, Status: resp.StatusCode}
	}
	return nil
}

// StoreReaderAt stores the size bytes of r under key: create_open, a PUT to
// the first destination that takes it (restarting from offset 0 on the next
// destination after any failure), then create_close for the destination
// written. It returns the new fid.
func (c *Client) StoreReaderAt(ctx context.Context, domain, key, class string, r io.ReaderAt, size int64) (int64, error) {
	if size < 0 {
		return 0, fmt.Errorf("client: store %s: StoreReaderAt needs a size", key)
	}
	for attempt := 0; ; attempt++ {
		open, err := c.CreateOpen(ctx, domain, key, class, size)
		if err != nil {
			return 0, err
		}
		err = c.StoreOpened(ctx, domain, key, open, r, size, nil)
		// A node that dies between our PUT and the tracker's HEAD of it
		// fails the close (size_verify_error), and the tracker drops the
		// upload; the bytes are still here, so store them once more.
		if protocol.IsCode(err, "size_verify_error") && attempt == 0 && ctx.Err() == nil {
			c.log.Warn("the node lost the upload before create_close verified it; storing again", "key", key, "fid", open.FID, "err", err)
			continue
		}
		return open.FID, err
	}
}

// StoreOpened is the rest of StoreReaderAt after a create_open the caller
// made (perhaps early, while the data was still being written): a PUT of the
// size bytes of r to the first destination of open that takes it, each
// attempt restarting from offset 0, then create_close for that destination.
// A non-nil attr rides on the create_close (the mogfs create_close_attrs
// extension: attr_mode, attr_uid, ... stored in the close's transaction);
// only send it to a tracker whose Caps include create_close_attrs. When
// every destination fails the error wraps ErrNoPaths; a destination answering
// 507 Insufficient Storage is skipped like any other failure.
func (c *Client) StoreOpened(ctx context.Context, domain, key string, open OpenResult, r io.ReaderAt, size int64, attr *Attr) error {
	var errs []error
	for _, d := range open.Dests {
		rewind := func() io.Reader { return io.NewSectionReader(r, 0, size) }
		err := c.put(ctx, d.Path, rewind(), size, rewind)
		if err == nil {
			return c.createClose(ctx, domain, key, open.FID, d, size, "", attr)
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		c.log.Warn("upload destination failed, trying next", "fid", open.FID, "devid", d.DevID, "err", err)
		errs = append(errs, err)
	}
	return fmt.Errorf("store %s: %w: %w", key, ErrNoPaths, errors.Join(errs...))
}

// Store stores r under key. With size >= 0 the body streams straight to the
// storage node, so another destination can be tried only while no byte has
// been read from r. With size < 0 the body is first spooled to a temporary
// file so its length is known (storage nodes need Content-Length) and every
// destination can be tried, as StoreReaderAt does.
func (c *Client) Store(ctx context.Context, domain, key, class string, r io.Reader, size int64) (int64, error) {
	if ra, ok := r.(io.ReaderAt); ok && size >= 0 {
		return c.StoreReaderAt(ctx, domain, key, class, ra, size)
	}
	if size < 0 {
		f, n, err := spool(r)
		if err != nil {
			return 0, fmt.Errorf("client: store %s: %w", key, err)
		}
		defer f.Close()
		return c.StoreReaderAt(ctx, domain, key, class, f, n)
	}
	open, err := c.CreateOpen(ctx, domain, key, class, size)
	if err != nil {
		return 0, err
	}
	cr := &countReader{r: r}
	var errs []error
	for _, d := range open.Dests {
		// LimitReader: a reader longer than size must not make the
		// transport fail with "body length mismatch" after the node has
		// the file.
		err := c.Put(ctx, d.Path, io.LimitReader(cr, size), size)
		if err == nil {
			return open.FID, c.CreateClose(ctx, domain, key, open.FID, d, size, "")
		}
		errs = append(errs, err)
		if ctx.Err() != nil || cr.n > 0 {
			break
		}
		c.log.Warn("upload destination failed, trying next", "fid", open.FID, "devid", d.DevID, "err", err)
	}
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	return 0, fmt.Errorf("store %s: %w: %w", key, ErrNoPaths, errors.Join(errs...))
}

type countReader struct {
	r io.Reader
	n int64
}

func (c *countReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// spool copies r into an unlinked temporary file and returns it with its
// length.
func spool(r io.Reader) (*os.File, int64, error) {
	f, err := os.CreateTemp("", "mogfs-upload-")
	if err != nil {
		return nil, 0, err
	}
	os.Remove(f.Name())
	n, err := io.Copy(f, r)
	if err != nil {
		f.Close()
		return nil, 0, err
	}
	return f, n, nil
}

// Fetch writes key's content to w: get_paths (without verification), then a
// GET of each path in turn. When a transfer breaks part way the next path is
// asked, with a Range, for the rest, so w never sees a byte twice. It returns
// the bytes written; when every path fails the error wraps ErrNoPaths.
//
// When every path answers 404 the copies may have moved (rebalance, drain,
// trimming) since get_paths; it asks again, as Repath allows.
func (c *Client) Fetch(ctx context.Context, domain, key string, w io.Writer) (int64, error) {
	var written int64
	for attempt := 1; ; attempt++ {
		paths, err := c.GetPaths(ctx, domain, key, true, 0)
		if err != nil {
			return written, err
		}
		var errs []error
		for _, p := range paths {
			n, err := c.fetchFrom(ctx, p, written, w)
			written += n
			if err == nil {
				return written, nil
			}
			if ctx.Err() != nil {
				return written, ctx.Err()
			}
			if we, ok := errors.AsType[*writeError](err); ok {
				return written, we.err
			}
			c.log.Warn("fetch path failed, trying next", "key", key, "path", p, "err", err)
			errs = append(errs, err)
		}
		if len(paths) == 0 {
			errs = append(errs, fmt.Errorf("tracker returned no paths"))
		}
		if !allMoved(errs) || !Repath(ctx, attempt) {
			return written, fmt.Errorf("fetch %s: %w: %w", key, ErrNoPaths, errors.Join(errs...))
		}
	}
}

// Moved reports whether err is a replica missing where get_paths said it
// was (404): it may have moved since.
func Moved(err error) bool {
	he, ok := errors.AsType[*HTTPError](err)
	return ok && he.Status == http.StatusNotFound
}

func allMoved(errs []error) bool {
	for _, err := range errs {
		if !Moved(err) {
			return false
		}
	}
	return len(errs) > 0
}

// repathWaits are the pauses before get_paths is asked again after every
// path of a file answered 404. A tracker names a moved copy's new place
// at once when it moved it, and after at most its path cache's TTL
// (get_paths_cache_ttl, 2 s) when another tracker did.
var repathWaits = []time.Duration{0, 500 * time.Millisecond, 2 * time.Second}

// Repath waits before get_paths is asked again after the attempt-th round
// of paths (counting from 1) all answered 404. It returns false when no
// round is left or ctx ends.
func Repath(ctx context.Context, attempt int) bool {
	if attempt < 1 || attempt > len(repathWaits) {
		return false
	}
	t := time.NewTimer(repathWaits[attempt-1])
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// writeError marks a failure of the caller's writer, which no other path can
// fix.
type writeError struct{ err error }

func (e *writeError) Error() string { return e.err.Error() }

// fetchFrom copies url from offset off to w.
func (c *Client) fetchFrom(ctx context.Context, url string, off int64, w io.Writer) (int64, error) {
	wd := c.watch(ctx, http.MethodGet, url)
	req, err := http.NewRequestWithContext(wd.Context(), http.MethodGet, url, nil)
	if err != nil {
		wd.Done()
		return 0, err
	}
	if off > 0 {
		req.Header.Set("Range", "bytes="+strconv.FormatInt(off, 10)+"-")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		wd.Done()
		return 0, wd.err(err)
	}
	wd.Pause()
	body := &download{body: resp.Body, w: wd}
	defer body.Close()
	switch {
	case off > 0 && resp.StatusCode == http.StatusPartialContent:
	case off > 0 && resp.StatusCode == http.StatusRequestedRangeNotSatisfiable:
		return 0, nil // the earlier path had already sent everything
	case resp.StatusCode == http.StatusOK:
		if off > 0 { // node ignored the Range: skip what we have
			if _, err := io.CopyN(io.Discard, body, off); err != nil {
				return 0, err
			}
		}
	default:
		return 0, &HTTPError{Method: http.MethodGet, URL: url, Status: resp.StatusCode}
	}
	return copyBody(w, body)
}

// copyBufs recycles copyBody's buffers: a fresh 64 KiB per small fetch
// would dominate the allocations of a 4 KiB GET.
var copyBufs = sync.Pool{New: func() any { b := make([]byte, 64<<10); return &b }}

// copyBody is io.Copy that tells the writer's errors from the reader's.
func copyBody(w io.Writer, r io.Reader) (int64, error) {
	bp := copyBufs.Get().(*[]byte)
	defer copyBufs.Put(bp)
	buf := *bp
	var n int64
	for {
		m, rerr := r.Read(buf)
		if m > 0 {
			k, werr := w.Write(buf[:m])
			n += int64(k)
			if werr == nil && k < m {
				werr = io.ErrShortWrite
			}
			if werr != nil {
				return n, &writeError{err: werr}
			}
		}
		if rerr == io.EOF {
			return n, nil
		}
		if rerr != nil {
			return n, rerr
		}
	}
}

// ReadRange returns n bytes of url starting at off (n <= 0: to the end),
// using an HTTP Range request. Past the end of the file the reader is empty
// (reads return io.EOF at once); near the end it is short. The caller closes
// it.
func (c *Client) ReadRange(ctx context.Context, url string, off, n int64) (io.ReadCloser, error) {
	wd := c.watch(ctx, http.MethodGet, url)
	req, err := http.NewRequestWithContext(wd.Context(), http.MethodGet, url, nil)
	if err != nil {
		wd.Done()
		return nil, fmt.Errorf("client: get %s: %w", url, err)
	}
	rng := "bytes=" + strconv.FormatInt(off, 10) + "-"
	if n > 0 {
		rng += strconv.FormatInt(off+n-1, 10)
	}
	req.Header.Set("Range", rng)
	resp, err := c.http.Do(req)
	if err != nil {
		wd.Done()
		return nil, fmt.Errorf("client: get: %w", wd.err(err))
	}
	wd.Pause()
	body := &download{body: resp.Body, w: wd}
	switch resp.StatusCode {
	case http.StatusPartialContent:
	case http.StatusRequestedRangeNotSatisfiable:
		body.Close()
		return io.NopCloser(eofReader{}), nil
	case http.StatusOK: // Range ignored: skip to off ourselves
		if _, err := io.CopyN(io.Discard, body, off); err != nil {
			body.Close()
			if err == io.EOF {
				return io.NopCloser(eofReader{}), nil
			}
			return nil, fmt.Errorf("client: get %s: %w", url, err)
		}
	default:
		body.Close()
		return nil, &HTTPError{Method: http.MethodGet, URL: url, Status: resp.StatusCode}
	}
	if n > 0 {
		return limitedBody{Reader: io.LimitReader(body, n), Closer: body}, nil
	}
	return body, nil
}

type eofReader struct{}

func (eofReader) Read([]byte) (int, error) { return 0, io.EOF }

type limitedBody struct {
	io.Reader
	io.Closer
}
