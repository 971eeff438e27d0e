package vfs

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"
	"time"

	"mogfs/client"
)

// readahead is how many blocks a sequential reader fetches ahead.
const readahead = 4

// Reader reads one fid's bytes in fixed-size blocks through the block cache,
// trying each replica path in the tracker's order, and fetches ahead while
// the reads are sequential.
//
// Lock order: Reader.mu, then (inside cache.Fetch) the cache's lock; no
// network I/O happens with mu held.
type Reader struct {
	fs          *FS
	domain, key string
	fid, length int64
	bs          int64
	ctx         context.Context // ends at Close; prefetches run under it
	cancel      context.CancelFunc
	mu          sync.Mutex          // guards the fields below
	paths       []string            // from get_paths, in the tracker's order
	next        int64               // the offset after the last read: sequential detection
	ahead       map[int64]*prefetch // blocks being fetched ahead
	curBlk      int64               // the last block read, kept because the cache may drop it
	curData     []byte
}

type prefetch struct {
	done chan struct{}
	data []byte
	err  error
}

// NewReader returns a reader of fid (of key, length bytes).
func (fs *FS) NewReader(domain, key string, fid, length int64) *Reader {
	ctx, cancel := context.WithCancel(context.Background())
	return &Reader{fs: fs, domain: domain, key: key, fid: fid, length: length, bs: int64(fs.opt.BlockSize),
		ctx: ctx, cancel: cancel, ahead: map[int64]*prefetch{}, curBlk: -1, next: -1}
}

// SeedPaths gives the reader the replica paths of its fid, learnt at open,
// so its first block needs no get_paths.
func (r *Reader) SeedPaths(paths []string) {
	if len(paths) == 0 {
		return
	}
	r.mu.Lock()
	r.paths = paths
	r.mu.Unlock()
}

// Close stops fetches ahead.
func (r *Reader) Close() { r.cancel() }

// ReadAt reads into p from off; it returns io.EOF at the end of the file.
func (r *Reader) ReadAt(ctx context.Context, p []byte, off int64) (int, error) {
	if off >= r.length {
		return 0, io.EOF
	}
	r.mu.Lock()
	seq := off == r.next || off == 0
	r.next = off + int64(len(p))
	r.mu.Unlock()
	n := 0
	for n < len(p) && off+int64(n) < r.length {
		pos := off + int64(n)
		blk := pos / r.bs
		data, err := r.block(ctx, blk)
		if err != nil {
			return n, err
		}
		in := pos - blk*r.bs
		if in >= int64(len(data)) {
			return n, fmt.Errorf("vfs: fid %d block %d: %w", r.fid, blk, io.ErrUnexpectedEOF)
		}
		n += copy(p[n:], data[in:])
		if seq {
			r.startAhead(blk)
		}
	}
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

func (r *Reader) block(ctx context.Context, blk int64) ([]byte, error) {
	r.mu.Lock()
	if blk == r.curBlk {
		d := r.curData
		r.mu.Unlock()
		return d, nil
	}
	pf := r.ahead[blk]
	delete(r.ahead, blk)
	for b := range r.ahead {
		if b < blk {
			delete(r.ahead, b) // passed by: a seek
		}
	}
	r.mu.Unlock()
	var data []byte
	var err error
	if pf != nil {
		select {
		case <-pf.done:
			data, err = pf.data, pf.err
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	if pf == nil || err != nil {
		data, err = r.fs.cache.Fetch(ctx, r.fid, blk, func() ([]byte, error) { return r.load(ctx, blk) })
	}
	if err != nil {
		return nil, err
	}
	r.mu.Lock()
	r.curBlk, r.curData = blk, data
	r.mu.Unlock()
	return data, nil
}

func (r *Reader) startAhead(blk int64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for b := blk + 1; b <= blk+readahead && b*r.bs < r.length; b++ {
		if _, ok := r.ahead[b]; ok {
			continue
		}
		if _, ok := r.fs.cache.Get(r.fid, b); ok {
			continue
		}
		pf := &prefetch{done: make(chan struct{})}
		r.ahead[b] = pf
		go func() {
			ctx, cancel := context.WithTimeout(r.ctx, time.Minute)
			defer cancel()
			pf.data, pf.err = r.fs.cache.Fetch(ctx, r.fid, b, func() ([]byte, error) { return r.load(ctx, b) })
			close(pf.done)
		}()
	}
}

// load reads block blk from the first path that works, refreshing the
// paths once if all of them fail (a replica may have moved).
func (r *Reader) load(ctx context.Context, blk int64) ([]byte, error) {
	off := blk * r.bs
	n := min(r.bs, r.length-off)
	var lastErr error
	for attempt := 0; attempt < 2; attempt++ {
		paths, err := r.getPaths(ctx, attempt > 0)
		if err != nil {
			return nil, err
		}
		for _, url := range paths {
			if !pathHasFID(url, r.fid) {
				// The key was rewritten since open: this replica is another
				// fid. Reading it would mix versions (close-to-open).
				lastErr = fmt.Errorf("vfs: %s now stored as another fid: %w", r.key, client.ErrNoPaths)
				continue
			}
			data, err := r.readRange(ctx, url, off, n)
			if err == nil {
				return data, nil
			}
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			lastErr = err
			r.fs.log.Warn("read failed, trying next path", "fid", r.fid, "key", r.key, "url", url, "err", err)
		}
	}
	if lastErr == nil {
		lastErr = client.ErrNoPaths
	}
	return nil, fmt.Errorf("vfs: read %s fid %d block %d: %w", r.key, r.fid, blk, lastErr)
}

func (r *Reader) readRange(ctx context.Context, url string, off, n int64) ([]byte, error) {
	rc, err := r.fs.c.ReadRange(ctx, url, off, n)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	buf := make([]byte, n)
	k, err := io.ReadFull(rc, buf)
	r.fs.met.AddDownload(int64(k))
	if err != nil {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return nil, err
	}
	return buf, nil
}

func (r *Reader) getPaths(ctx context.Context, refresh bool) ([]string, error) {
	r.mu.Lock()
	p := r.paths
	r.mu.Unlock()
	if p != nil && !refresh {
		return p, nil
	}
	p, err := r.fs.c.GetPaths(ctx, r.domain, r.key, true, 0)
	if err != nil {
		return nil, err
	}
	r.mu.Lock()
	r.paths = p
	r.mu.Unlock()
	return p, nil
}

// pathHasFID reports whether a replica URL (".../0000000042.fid") is fid.
// allOfFID reports whether there are paths and each is, by its file name,
// a copy of fid (a path layout we do not know proves nothing).
func allOfFID(paths []string, fid int64) bool {
	for _, p := range paths {
		name, ok := strings.CutSuffix(p[strings.LastIndexByte(p, '/')+1:], ".fid")
		if n, err := strconv.ParseInt(name, 10, 64); !ok || err != nil || n != fid {
			return false
		}
	}
	return len(paths) > 0
}

func pathHasFID(url string, fid int64) bool {
	i := strings.LastIndexByte(url, '/')
	name, ok := strings.CutSuffix(url[i+1:], ".fid")
	if !ok {
		return true // not a MogileFS path layout we know: trust the tracker
	}
	n, err := strconv.ParseInt(name, 10, 64)
	return err != nil || n == fid
}
