package cache

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/dgraph-io/ristretto/v2"
)

// Config sets the cache's budget.
type Config struct {
	// MaxBytes is the budget in bytes of cached block data; the cost of a
	// block is the slot that holds it (its length rounded up to a power of
	// two from 4 KiB). 0 disables caching (Fetch still deduplicates).
	MaxBytes int64
	// BlockSize is the size of a full block; it sizes ristretto's counters
	// and the largest slot.
	BlockSize int
}

// Stats are cumulative counters, for logs and benchmarks.
type Stats struct {
	Hits, Misses uint64 // Get and Fetch lookups
	Loads        uint64 // load functions run by Fetch
	Shared       uint64 // Fetch calls served by another caller's load
	Added        uint64 // blocks admitted
	Evicted      uint64 // blocks evicted to respect the budget
	Dropped      uint64 // Adds dropped or rejected by ristretto
	CostAdded    uint64 // bytes admitted
	CostEvicted  uint64 // bytes evicted
	HeapBlocks   uint64 // blocks the arena could not hold, kept on the Go heap
	ArenaSlots   int64  // slot bytes in use in the arena now
	ArenaChunks  int64  // arena bytes in chunks serving some size now (at most this is resident)
}

// Cache is a block cache. It is safe for concurrent use.
type Cache struct {
	rc    *ristretto.Cache[string, *Block] // nil when caching is disabled
	arena *arena                           // nil: every block on the heap

	mu    sync.Mutex       // guards calls
	calls map[string]*call // in-flight loads by key

	hits, misses, loads, shared, heapBlocks atomic.Uint64
}

// Block is one counted reference to a block's bytes. The holder must call
// Release once and must not touch Bytes afterwards: arena slots are reused.
type Block struct {
	data  []byte
	refs  atomic.Int32
	arena *arena // nil: data is on the heap
	off   int    // slot offset in the arena
}

// Bytes returns the block's data; valid until Release.
func (b *Block) Bytes() []byte { return b.data }

// Release drops this reference; the last one frees the slot.
func (b *Block) Release() {
	if b == nil {
		return
	}
	switch r := b.refs.Add(-1); {
	case r == 0 && b.arena != nil:
		b.arena.release(b.off, cap(b.data))
	case r < 0:
		panic("cache: block released twice")
	}
}

// Acquire adds a reference to a block the caller holds one on.
func (b *Block) Acquire() { b.refs.Add(1) }

// tryAcquire adds a reference unless the block is already freed: a Get may
// race the eviction that drops the cache's reference.
func (b *Block) tryAcquire() bool {
	for {
		r := b.refs.Load()
		if r <= 0 {
			return false
		}
		if b.refs.CompareAndSwap(r, r+1) {
			return true
		}
	}
}

// Alloc returns a block of n bytes, with one reference, for the caller to
// fill before it is shared: in the arena when a slot is free, else on the
// heap.
func (c *Cache) Alloc(n int) *Block {
	b := &Block{}
	if off, size, ok := c.arenaAlloc(n); ok {
		b.arena, b.off = c.arena, off
		b.data = c.arena.mem[off : off+n : off+size]
	} else {
		c.heapBlocks.Add(1)
		b.data = make([]byte, n)
	}
	b.refs.Store(1)
	return b
}

func (c *Cache) arenaAlloc(n int) (off, size int, ok bool) {
	if c.arena == nil || n == 0 {
		return 0, 0, false
	}
	return c.arena.alloc(n)
}

// call is one in-flight load; done is closed once blk and err are set.
// waiters counts the callers waiting on it; the leader takes a reference
// for each before it wakes them.
type call struct {
	done    chan struct{}
	blk     *Block
	err     error
	waiters int
}

// arenaSlack is the arena beyond the budget, as a fraction of it: room for
// blocks held by readers after the cache let go of them, and for slots
// left free in chunks that serve other sizes.
const arenaSlack = 8

// New returns a cache with the given budget.
func New(cfg Config) (*Cache, error) {
	if cfg.MaxBytes < 0 || cfg.BlockSize <= 0 {
		return nil, fmt.Errorf("%w: max_bytes %d block_size %d", ErrBadConfig, cfg.MaxBytes, cfg.BlockSize)
	}
	c := &Cache{calls: map[string]*call{}}
	if cfg.MaxBytes == 0 {
		return c, nil
	}
	c.arena = newArena(cfg.MaxBytes+cfg.MaxBytes/arenaSlack+16*int64(cfg.BlockSize), cfg.BlockSize)
	// ristretto wants ~10 counters per item it may hold; small blocks at the
	// end of files make the real count higher, so leave headroom.
	items := cfg.MaxBytes/int64(cfg.BlockSize) + 1
	rc, err := ristretto.NewCache(&ristretto.Config[string, *Block]{
		NumCounters:        max(items*10, 1000),
		MaxCost:            cfg.MaxBytes,
		BufferItems:        64,
		Metrics:            true,
		IgnoreInternalCost: true, // the budget is data bytes, as documented
		OnExit:             (*Block).Release,
	})
	if err != nil {
		return nil, fmt.Errorf("cache: %w", err)
	}
	c.rc = rc
	return c, nil
}

// Close releases ristretto's goroutines and the cache's references. The
// arena stays mapped: a reader may still hold a block.
func (c *Cache) Close() {
	if c.rc != nil {
		c.rc.Close()
	}
}

func key(fid int64, blk int64) string {
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], uint64(fid))
	binary.BigEndian.PutUint64(b[8:], uint64(blk))
	return string(b[:])
}

// Get returns a reference to block blk of fid if it is cached; the caller
// must Release it.
func (c *Cache) Get(fid, blk int64) (*Block, bool) {
	if c.rc != nil {
		if b, ok := c.rc.Get(key(fid, blk)); ok && b.tryAcquire() {
			c.hits.Add(1)
			return b, true
		}
	}
	c.misses.Add(1)
	return nil, false
}

// Has reports whether block blk of fid is cached, without a reference.
func (c *Cache) Has(fid, blk int64) bool {
	if c.rc == nil {
		return false
	}
	_, ok := c.rc.Get(key(fid, blk))
	return ok
}

// Add offers a filled block to the cache, which takes a reference of its
// own if it keeps it; the caller keeps its reference and must not modify
// the data afterwards.
func (c *Cache) Add(fid, blk int64, b *Block) {
	if c.rc == nil || len(b.data) == 0 || !b.tryAcquire() {
		return
	}
	if !c.rc.Set(key(fid, blk), b, int64(cap(b.data))) {
		b.Release() // dropped before ristretto saw it: no OnExit
	}
}

// Wait blocks until earlier Adds have been applied (or dropped), so a test
// can tell "dropped" from "not yet applied".
func (c *Cache) Wait() {
	if c.rc != nil {
		c.rc.Wait()
	}
}

// Fetch returns a reference to block blk of fid, n bytes, from the cache,
// or has load fill a new block once for all concurrent callers and offers
// it to the cache. The caller must Release the block. A caller whose ctx
// ends stops waiting; the load goes on for the others. If the load failed
// only because its own caller's context ended, the remaining callers retry
// with a load of their own.
func (c *Cache) Fetch(ctx context.Context, fid, blk int64, n int, load func(buf []byte) error) (*Block, error) {
	for {
		if b, ok := c.Get(fid, blk); ok {
			return b, nil
		}
		k := key(fid, blk)
		c.mu.Lock()
		cl, running := c.calls[k]
		if running {
			cl.waiters++
		} else {
			cl = &call{done: make(chan struct{})}
			c.calls[k] = cl
		}
		c.mu.Unlock()
		if !running {
			return c.lead(k, cl, fid, blk, n, load)
		}
		select {
		case <-cl.done:
		case <-ctx.Done():
			c.mu.Lock()
			counted := c.calls[k] != cl // the leader took a reference for us
			if !counted {
				cl.waiters--
			}
			c.mu.Unlock()
			if counted {
				<-cl.done
				cl.blk.Release()
			}
			return nil, ctx.Err()
		}
		c.shared.Add(1)
		if cl.err != nil && (errors.Is(cl.err, context.Canceled) || errors.Is(cl.err, context.DeadlineExceeded)) && ctx.Err() == nil {
			continue // the leader gave up, we did not
		}
		return cl.blk, cl.err
	}
}

// lead runs the load of call cl and hands each waiter a reference.
func (c *Cache) lead(k string, cl *call, fid, blk int64, n int, load func([]byte) error) (*Block, error) {
	c.loads.Add(1)
	b := c.Alloc(n)
	if err := load(b.data); err != nil {
		b.Release()
		cl.err = err
	} else {
		cl.blk = b
		c.Add(fid, blk, b)
	}
	// Remove the call before waking waiters: a waiter that retries must
	// start a new load, not find this finished one again.
	c.mu.Lock()
	delete(c.calls, k)
	if cl.blk != nil {
		cl.blk.refs.Add(int32(cl.waiters))
	}
	c.mu.Unlock()
	close(cl.done)
	return cl.blk, cl.err
}

// Stats returns the counters so far.
func (c *Cache) Stats() Stats {
	s := Stats{Hits: c.hits.Load(), Misses: c.misses.Load(), Loads: c.loads.Load(), Shared: c.shared.Load()}
	if c.rc != nil && c.rc.Metrics != nil {
		m := c.rc.Metrics
		s.Added = m.KeysAdded()
		s.Evicted = m.KeysEvicted()
		s.Dropped = m.SetsDropped() + m.SetsRejected()
		s.CostAdded = m.CostAdded()
		s.CostEvicted = m.CostEvicted()
	}
	s.HeapBlocks = c.heapBlocks.Load()
	if c.arena != nil {
		s.ArenaSlots, s.ArenaChunks = c.arena.inUse()
	}
	return s
}
