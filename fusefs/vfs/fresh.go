package vfs

import (
	"strings"
	"sync"
	"time"
)

// freshDirs answers, without a round trip, the lookups of names in a
// directory this mount has just made. cp -r and tar -x make a directory
// and then look up every name before creating it; each of those lookups
// would cost a tracker request that can only answer "absent". For
// entry_timeout after the mkdir, a name this mount has not made there
// since is answered absent at once (a name made there by another client in
// that window shows here within twice entry_timeout, not once, as the
// kernel then caches the answer for entry_timeout too). Every name this
// mount makes below a fresh directory is noted (creates, mkdirs, links,
// renames, uploads, attribute rows), and any such name is looked up as
// usual.
type freshDirs struct {
	mu   sync.Mutex
	dirs map[string]*freshDir // by domain+"\x00"+dir
}

type freshDir struct {
	until time.Time
	names map[string]struct{}
}

// Bounds: a directory past freshMaxNames names is no longer fresh (its
// lookups ask the tracker), and at most freshMax directories are tracked.
const (
	freshMax      = 4096
	freshMaxNames = 4096
)

// made records dir (a prefix, "a/b/") as made by this mount now.
func (f *freshDirs) made(domain, dir string, ttl time.Duration) {
	if ttl <= 0 {
		return
	}
	now := time.Now()
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.dirs == nil {
		f.dirs = map[string]*freshDir{}
	}
	if len(f.dirs) >= freshMax {
		for k, d := range f.dirs {
			if now.After(d.until) {
				delete(f.dirs, k)
			}
		}
		if len(f.dirs) >= freshMax {
			return
		}
	}
	f.dirs[domain+"\x00"+dir] = &freshDir{until: now.Add(ttl), names: map[string]struct{}{}}
}

// named notes that this mount made path (a key, or a directory prefix with
// its trailing "/") so lookups of it go to the tracker.
func (f *freshDirs) named(domain, path string) {
	p := strings.TrimSuffix(path, "/")
	i := strings.LastIndexByte(p, '/')
	dir, seg := p[:i+1], p[i+1:]
	f.mu.Lock()
	defer f.mu.Unlock()
	d := f.dirs[domain+"\x00"+dir]
	if d == nil {
		return
	}
	if len(d.names) >= freshMaxNames {
		delete(f.dirs, domain+"\x00"+dir)
		return
	}
	d.names[seg] = struct{}{}
}

// forget drops dir (removed or renamed away).
func (f *freshDirs) forget(domain, dir string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.dirs, domain+"\x00"+dir)
}

// absent reports whether seg surely does not exist in dir: dir is fresh
// and this mount made no such name there.
func (f *freshDirs) absent(domain, dir, seg string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	d := f.dirs[domain+"\x00"+dir]
	if d == nil {
		return false
	}
	if time.Now().After(d.until) {
		delete(f.dirs, domain+"\x00"+dir)
		return false
	}
	_, made := d.names[seg]
	return !made
}
