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
	// block is its length. 0 disables caching (Fetch still deduplicates).
	MaxBytes int64
	// BlockSize is the size of a full block; it sizes ristretto's counters.
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
}

// Cache is a block cache. It is safe for concurrent use.
type Cache struct {
	rc *ristretto.Cache[string, []byte] // nil when caching is disabled

	mu    sync.Mutex       // guards calls
	calls map[string]*call // in-flight loads by key

	hits, misses, loads, shared atomic.Uint64
}

// call is one in-flight load; done is closed once data and err are set.
type call struct {
	done chan struct{}
	data []byte
	err  error
}

// New returns a cache with the given budget.
func New(cfg Config) (*Cache, error) {
	if cfg.MaxBytes < 0 || cfg.BlockSize <= 0 {
		return nil, fmt.Errorf("%w: max_bytes %d block_size %d", ErrBadConfig, cfg.MaxBytes, cfg.BlockSize)
	}
	c := &Cache{calls: map[string]*call{}}
	if cfg.MaxBytes == 0 {
		return c, nil
	}
	// ristretto wants ~10 counters per item it may hold; small blocks at the
	// end of files make the real count higher, so leave headroom.
	items := cfg.MaxBytes/int64(cfg.BlockSize) + 1
	rc, err := ristretto.NewCache(&ristretto.Config[string, []byte]{
		NumCounters:        max(items*10, 1000),
		MaxCost:            cfg.MaxBytes,
		BufferItems:        64,
		Metrics:            true,
		IgnoreInternalCost: true, // the budget is data bytes, as documented
	})
	if err != nil {
		return nil, fmt.Errorf("cache: %w", err)
	}
	c.rc = rc
	return c, nil
}

// Close releases ristretto's goroutines.
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

// Get returns block blk of fid if it is cached. The slice is shared: callers
// must not modify it.
func (c *Cache) Get(fid, blk int64) ([]byte, bool) {
	if c.rc != nil {
		if d, ok := c.rc.Get(key(fid, blk)); ok {
			c.hits.Add(1)
			return d, true
		}
	}
	c.misses.Add(1)
	return nil, false
}

// Add offers a block to the cache; it may be dropped. The cache keeps data:
// callers must not modify it afterwards.
func (c *Cache) Add(fid, blk int64, data []byte) {
	if c.rc == nil || len(data) == 0 {
		return
	}
	c.rc.Set(key(fid, blk), data, int64(len(data)))
}

// Wait blocks until earlier Adds have been applied (or dropped), so a test
// can tell "dropped" from "not yet applied".
func (c *Cache) Wait() {
	if c.rc != nil {
		c.rc.Wait()
	}
}

// Fetch returns block blk of fid from the cache, or runs load once for all
// concurrent callers asking for the same block and offers the result to the
// cache. A caller whose ctx ends stops waiting; the load goes on for the
// others. If the load failed only because its own caller's context ended,
// the remaining callers retry with a load of their own.
func (c *Cache) Fetch(ctx context.Context, fid, blk int64, load func() ([]byte, error)) ([]byte, error) {
	for {
		if d, ok := c.Get(fid, blk); ok {
			return d, nil
		}
		k := key(fid, blk)
		c.mu.Lock()
		cl, running := c.calls[k]
		if !running {
			cl = &call{done: make(chan struct{})}
			c.calls[k] = cl
		}
		c.mu.Unlock()
		if !running {
			c.loads.Add(1)
			cl.data, cl.err = load()
			if cl.err == nil {
				c.Add(fid, blk, cl.data)
			}
			// Remove the call before waking waiters: a waiter that retries
			// must start a new load, not find this finished one again.
			c.mu.Lock()
			delete(c.calls, k)
			c.mu.Unlock()
			close(cl.done)
			return cl.data, cl.err
		}
		select {
		case <-cl.done:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		c.shared.Add(1)
		if cl.err != nil && (errors.Is(cl.err, context.Canceled) || errors.Is(cl.err, context.DeadlineExceeded)) && ctx.Err() == nil {
			continue // the leader gave up, we did not
		}
		return cl.data, cl.err
	}
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
	return s
}
