package vfs

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"mogfs/cache"
	"mogfs/client"
	"mogfs/nodeproto"
)

// A sequential reader's readahead window, in blocks: it starts at
// minAhead and doubles with each block the stream enters, up to maxAhead
// (less when the cache is small: a window must not evict itself), so a
// long stream keeps several ranged requests in flight and a short read
// fetches little it does not use.
const (
	minAhead = 2
	maxAhead = 16
)

// near is how far, in blocks, a read may land from where the last one
// ended and still count as sequential: the kernel sends a stream's
// readahead requests in parallel, so they can arrive out of order.
const near = 2

// Reader reads one fid's bytes, trying each replica path in the tracker's
// order. Sequential reads go through the block cache in fixed-size blocks
// with a growing readahead window; a random read that the cache cannot
// answer is one ranged request of exactly its bytes (a 4 KiB read must not
// fetch a whole block), which the kernel's page cache then keeps.
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
	window      int64               // current readahead, in blocks
	streak      int                 // reads in a row near the one before
	aheadOf     int64               // the block the window was last moved for
	ahead       map[int64]*prefetch // blocks being fetched ahead
	curBlk      int64               // the last block read, kept because the cache may drop it
	cur         *cache.Block        // a reference to block curBlk
}

// prefetch is one block fetched ahead. Its reference belongs to the
// reader that takes it out of Reader.ahead; one dropped (passed by, or the
// reader closed) is released by whichever of drop and the fetch ends last.
type prefetch struct {
	done    chan struct{}
	blk     *cache.Block
	err     error
	dropped bool // guarded by Reader.mu
}

// drop abandons pf; r.mu is held.
func (pf *prefetch) drop() {
	pf.dropped = true
	pf.blk.Release()
	pf.blk = nil
}

// NewReader returns a reader of fid (of key, length bytes).
func (fs *FS) NewReader(domain, key string, fid, length int64) *Reader {
	ctx, cancel := context.WithCancel(context.Background())
	return &Reader{fs: fs, domain: domain, key: key, fid: fid, length: length, bs: int64(fs.opt.BlockSize),
		ctx: ctx, cancel: cancel, ahead: map[int64]*prefetch{}, curBlk: -1, next: -1, window: minAhead, aheadOf: -1}
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

// Close stops fetches ahead and lets go of the blocks the reader holds.
func (r *Reader) Close() {
	r.cancel()
	r.mu.Lock()
	defer r.mu.Unlock()
	for b, pf := range r.ahead {
		pf.drop()
		delete(r.ahead, b)
	}
	r.cur.Release()
	r.cur, r.curBlk = nil, -1
}

// ReadAt reads into p from off; it returns io.EOF at the end of the file.
func (r *Reader) ReadAt(ctx context.Context, p []byte, off int64) (int, error) {
	if off >= r.length {
		return 0, io.EOF
	}
	r.mu.Lock()
	// A read near the last one is a stream only if the last one was too
	// (or this starts the file): a random read that happens to land near
	// the previous one must not fetch whole blocks and a window ahead.
	nearLast := r.next >= 0 && off >= r.next-near*r.bs && off <= r.next+near*r.bs
	seq := off == 0 || nearLast && r.streak > 0
	if nearLast || off == 0 {
		r.streak++
	} else {
		r.streak, r.window = 0, minAhead
	}
	r.next = off + int64(len(p))
	r.mu.Unlock()
	if !seq && !r.cached(off, len(p)) {
		return r.direct(ctx, p, off)
	}
	n := 0
	for n < len(p) && off+int64(n) < r.length {
		pos := off + int64(n)
		blk := pos / r.bs
		b, err := r.block(ctx, blk)
		if err != nil {
			return n, err
		}
		data := b.Bytes()
		in := pos - blk*r.bs
		if in >= int64(len(data)) {
			b.Release()
			return n, fmt.Errorf("vfs: fid %d block %d: %w", r.fid, blk, io.ErrUnexpectedEOF)
		}
		n += copy(p[n:], data[in:])
		b.Release()
		if seq {
			r.startAhead(blk)
		}
	}
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

// cached reports whether every block of [off, off+n) is in the cache (or
// is the reader's current block).
func (r *Reader) cached(off int64, n int) bool {
	end := min(off+int64(n), r.length)
	for blk := off / r.bs; blk*r.bs < end; blk++ {
		r.mu.Lock()
		cur := blk == r.curBlk && r.cur != nil
		r.mu.Unlock()
		if !cur && !r.fs.cache.Has(r.fid, blk) {
			return false
		}
	}
	return true
}

// direct reads p at off with one ranged request, bypassing the cache.
func (r *Reader) direct(ctx context.Context, p []byte, off int64) (int, error) {
	n := min(int64(len(p)), r.length-off)
	if err := r.load(ctx, off, p[:n]); err != nil {
		return 0, err
	}
	if n < int64(len(p)) {
		return int(n), io.EOF
	}
	return int(n), nil
}

// block returns a reference to block blk, which the caller releases.
func (r *Reader) block(ctx context.Context, blk int64) (*cache.Block, error) {
	r.mu.Lock()
	if blk == r.curBlk && r.cur != nil {
		r.cur.Acquire()
		d := r.cur
		r.mu.Unlock()
		return d, nil
	}
	pf := r.ahead[blk]
	delete(r.ahead, blk)
	for b, p := range r.ahead {
		if b < blk {
			p.drop() // passed by: a seek
			delete(r.ahead, b)
		}
	}
	r.mu.Unlock()
	var b *cache.Block
	var err error
	if pf != nil {
		select {
		case <-pf.done:
			b, err = pf.blk, pf.err
		case <-ctx.Done():
			r.mu.Lock()
			pf.drop()
			r.mu.Unlock()
			return nil, ctx.Err()
		}
	}
	if pf == nil || err != nil {
		b, err = r.fetch(ctx, blk)
	}
	if err != nil {
		return nil, err
	}
	r.mu.Lock()
	if r.ctx.Err() == nil { // not closed: keep one reference in r.cur
		b.Acquire()
		r.cur.Release()
		r.curBlk, r.cur = blk, b
	}
	r.mu.Unlock()
	return b, nil
}

// fetch returns a reference to block blk from the cache or storage.
func (r *Reader) fetch(ctx context.Context, blk int64) (*cache.Block, error) {
	n := int(min(r.bs, r.length-blk*r.bs))
	return r.fs.cache.Fetch(ctx, r.fid, blk, n, func(buf []byte) error { return r.load(ctx, blk*r.bs, buf) })
}

// startAhead keeps the window of blocks after blk fetching, and widens
// the window when the stream has entered a new block.
func (r *Reader) startAhead(blk int64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.ctx.Err() != nil {
		return // closed
	}
	if blk != r.aheadOf {
		r.aheadOf = blk
		r.window = min(r.window*2, r.fs.maxAhead())
	}
	for b := blk + 1; b <= blk+r.window && b*r.bs < r.length; b++ {
		if _, ok := r.ahead[b]; ok {
			continue
		}
		if r.fs.cache.Has(r.fid, b) {
			continue
		}
		pf := &prefetch{done: make(chan struct{})}
		r.ahead[b] = pf
		go func() {
			ctx, cancel := context.WithTimeout(r.ctx, time.Minute)
			defer cancel()
			blk, err := r.fetch(ctx, b)
			r.mu.Lock()
			if pf.dropped {
				blk.Release()
			} else {
				pf.blk, pf.err = blk, err
			}
			r.mu.Unlock()
			close(pf.done)
		}()
	}
}

// load fills buf from off from the first path that works, refreshing the
// paths once if all of them fail, and again while all of them answer 404
// (a replica may have moved; client.Repath says how long to keep asking).
func (r *Reader) load(ctx context.Context, off int64, buf []byte) error {
	var lastErr error
	for attempt := 0; ; attempt++ {
		if attempt > 1 && (!client.Moved(lastErr) || !client.Repath(ctx, attempt-1)) {
			break
		}
		paths, err := r.getPaths(ctx, attempt > 0)
		if err != nil {
			return err
		}
		for _, url := range paths {
			if !pathHasFID(url, r.fid) {
				// The key was rewritten since open: this replica is another
				// fid. Reading it would mix versions (close-to-open).
				lastErr = fmt.Errorf("vfs: %s now stored as another fid: %w", r.key, client.ErrNoPaths)
				continue
			}
			err := r.readRange(ctx, url, off, buf)
			if err == nil {
				return nil
			}
			if ctx.Err() != nil {
				return ctx.Err()
			}
			lastErr = err
			r.fs.log.Warn("read failed, trying next path", "fid", r.fid, "key", r.key, "url", url, "err", err)
		}
	}
	if lastErr == nil {
		lastErr = client.ErrNoPaths
	}
	return fmt.Errorf("vfs: read %s fid %d at %d: %w", r.key, r.fid, off, lastErr)
}

// readRange fills buf from url at off.
func (r *Reader) readRange(ctx context.Context, url string, off int64, buf []byte) error {
	rc, err := r.fs.c.ReadRange(ctx, url, off, int64(len(buf)))
	if err != nil {
		return err
	}
	defer rc.Close()
	k, err := io.ReadFull(rc, buf)
	r.fs.met.AddDownload(int64(k))
	if errors.Is(err, io.EOF) {
		err = io.ErrUnexpectedEOF
	}
	return err
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

// allOfFID reports whether there are paths and each is, by its file name,
// a copy of fid (a path layout we do not know proves nothing).
func allOfFID(paths []string, fid int64) bool {
	for _, p := range paths {
		if n, ok := nodeproto.FIDOf(p); !ok || n != fid {
			return false
		}
	}
	return len(paths) > 0
}

// pathHasFID reports whether a replica URL may be a copy of fid: it is by
// its file name, or its layout is one we do not know (trust the tracker).
func pathHasFID(url string, fid int64) bool {
	n, ok := nodeproto.FIDOf(url)
	return !ok || n == fid
}

// maxAhead is the largest readahead window, in blocks: maxAhead, or a
// quarter of the cache when that is less (at least minAhead).
func (fs *FS) maxAhead() int64 {
	bs := int64(fs.opt.BlockSize)
	return max(minAhead, min(maxAhead, fs.opt.CacheSize/bs/4))
}
