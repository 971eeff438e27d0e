package vfs

import (
	"slices"
	"strings"
	"sync"
)

// localDirs is the set of directories made by this mount on a tracker
// without the mogfs extension, where an empty directory has nowhere to be
// stored (rclone keeps directories of bucket remotes the same way). They
// live only in this process: listed in their parent, usable as a parent
// for creates, mkdir and rename, and gone at unmount unless a key was
// stored under them by then, which makes them real (prefix-derived).
//
// A directory stays recorded after it became real, so removing its last
// file through this mount leaves it in place, as POSIX expects; rmdir
// removes the record.
type localDirs struct {
	mu sync.Mutex // guards dirs
	// dirs holds, per domain, the segments of the local sub-directories
	// of each parent prefix: dirs[domain]["a/"]["b"] is directory "a/b/".
	dirs map[string]map[string]map[string]struct{}
}

// splitDir splits directory prefix dir ("a/b/") into its parent prefix
// ("a/") and last segment ("b").
func splitDir(dir string) (parent, seg string) {
	d := strings.TrimSuffix(dir, "/")
	i := strings.LastIndexByte(d, '/')
	return d[:i+1], d[i+1:]
}

// add records directory prefix dir of domain.
func (l *localDirs) add(domain, dir string) {
	parent, seg := splitDir(dir)
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.dirs == nil {
		l.dirs = map[string]map[string]map[string]struct{}{}
	}
	d := l.dirs[domain]
	if d == nil {
		d = map[string]map[string]struct{}{}
		l.dirs[domain] = d
	}
	if d[parent] == nil {
		d[parent] = map[string]struct{}{}
	}
	d[parent][seg] = struct{}{}
}

// remove forgets directory prefix dir of domain (not the ones under it).
func (l *localDirs) remove(domain, dir string) {
	parent, seg := splitDir(dir)
	l.mu.Lock()
	defer l.mu.Unlock()
	l.removeLocked(domain, parent, seg)
}

func (l *localDirs) removeLocked(domain, parent, seg string) {
	d := l.dirs[domain]
	delete(d[parent], seg)
	if len(d[parent]) == 0 {
		delete(d, parent)
	}
}

// has reports whether directory prefix dir of domain is recorded.
func (l *localDirs) has(domain, dir string) bool {
	parent, seg := splitDir(dir)
	l.mu.Lock()
	defer l.mu.Unlock()
	_, ok := l.dirs[domain][parent][seg]
	return ok
}

// children returns the segments of the recorded sub-directories of
// directory prefix dir, sorted.
func (l *localDirs) children(domain, dir string) []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	segs := make([]string, 0, len(l.dirs[domain][dir]))
	for s := range l.dirs[domain][dir] {
		segs = append(segs, s)
	}
	slices.Sort(segs)
	return segs
}

// rename moves the record of directory prefix from, and of every recorded
// directory under it, to prefix to, dropping what was recorded under to
// (the caller checked it is empty).
func (l *localDirs) rename(domain, from, to string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	d := l.dirs[domain]
	if d == nil {
		return
	}
	for parent := range d {
		if strings.HasPrefix(parent, to) {
			delete(d, parent)
		}
	}
	fp, fs := splitDir(from)
	tp, ts := splitDir(to)
	if _, ok := d[fp][fs]; ok {
		l.removeLocked(domain, fp, fs)
		if d[tp] == nil {
			d[tp] = map[string]struct{}{}
		}
		d[tp][ts] = struct{}{}
	}
	moved := map[string]map[string]struct{}{}
	for parent, segs := range d {
		if strings.HasPrefix(parent, from) {
			moved[to+strings.TrimPrefix(parent, from)] = segs
			delete(d, parent)
		}
	}
	for parent, segs := range moved {
		d[parent] = segs
	}
}
