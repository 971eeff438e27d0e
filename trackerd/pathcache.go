package trackerd

import (
	"sync"
	"time"
)

// pathCache remembers, for a short TTL, what get_paths looked up for a key:
// its fid, length and the devices holding a copy. It is the tracker-local
// form of the original's memcache support (memcache_servers, memcache_ttl),
// with the same semantics: this tracker drops an entry at once when it
// changes the key or the fid's copies itself (create_close, delete, rename,
// replication, trimming, the reaper), while a change made by another
// tracker sharing the database shows up after at most the TTL. During that
// window get_paths may name a copy that was just removed (the client tries
// the next path, as it must anyway when a node is down) or miss one just
// added.
//
// Race it prevents: get_paths reads the rows of key K (fid 7 on devices
// 1,2), then replication on this tracker removes the copy on device 2 and
// invalidates fid 7 (nothing cached yet), then get_paths stores its read,
// now stale for a whole TTL. Every invalidation bumps gen; a lookup takes
// gen before it reads the database and put stores only if gen is unchanged.
type pathCache struct {
	ttl time.Duration
	max int // entries kept at most; beyond it the map is rebuilt

	mu    sync.Mutex // guards gen, byKey and byFID
	gen   uint64
	byKey map[pathKey]pathEntry
	byFID map[int64]pathKey
}

type pathKey struct {
	dmid int
	key  string
}

// pathEntry is one cached lookup. devids is never modified after put.
type pathEntry struct {
	fid     int64
	length  int64
	devids  []int
	expires time.Time
}

// maxPathCache bounds the cache: about 200 bytes an entry, so 20 MB at most.
const maxPathCache = 100_000

func newPathCache(ttl time.Duration) *pathCache {
	if ttl <= 0 {
		return nil
	}
	return &pathCache{ttl: ttl, max: maxPathCache, byKey: map[pathKey]pathEntry{}, byFID: map[int64]pathKey{}}
}

// get returns a live entry, and the generation to pass to put after a miss.
// A nil cache always misses.
func (c *pathCache) get(dmid int, key string) (e pathEntry, ok bool, gen uint64) {
	if c == nil {
		return pathEntry{}, false, 0
	}
	now := time.Now()
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok = c.byKey[pathKey{dmid, key}]
	if ok && now.After(e.expires) {
		ok = false
	}
	return e, ok, c.gen
}

// put stores a lookup made after get returned gen, unless something was
// invalidated meanwhile.
func (c *pathCache) put(dmid int, key string, gen uint64, e pathEntry) {
	if c == nil {
		return
	}
	e.expires = time.Now().Add(c.ttl)
	k := pathKey{dmid, key}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.gen != gen {
		return
	}
	if len(c.byKey) >= c.max {
		c.shrink()
	}
	if old, ok := c.byKey[k]; ok && old.fid != e.fid {
		delete(c.byFID, old.fid)
	}
	c.byKey[k] = e
	c.byFID[e.fid] = k
}

// shrink drops expired entries, and everything when that is not enough.
// Called with mu held.
func (c *pathCache) shrink() {
	now := time.Now()
	for k, e := range c.byKey {
		if now.After(e.expires) {
			delete(c.byKey, k)
			delete(c.byFID, e.fid)
		}
	}
	if len(c.byKey) >= c.max*3/4 {
		c.byKey = map[pathKey]pathEntry{}
		c.byFID = map[int64]pathKey{}
	}
}

// dropKey forgets a key (create_close, delete, rename on this tracker).
func (c *pathCache) dropKey(dmid int, key string) {
	if c == nil {
		return
	}
	k := pathKey{dmid, key}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	if e, ok := c.byKey[k]; ok {
		delete(c.byKey, k)
		delete(c.byFID, e.fid)
	}
}

// dropFID forgets whichever key maps to fid (meta.Config.OnFileChange:
// copies added or removed, file deleted or replaced).
func (c *pathCache) dropFID(fid int64) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	if k, ok := c.byFID[fid]; ok {
		delete(c.byFID, fid)
		delete(c.byKey, k)
	}
}

// clear forgets everything (clear_cache).
func (c *pathCache) clear() {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	c.byKey = map[pathKey]pathEntry{}
	c.byFID = map[int64]pathKey{}
}
