package vfs

import (
	"context"
	"slices"
	"strings"
	"sync"
)

// DirPage is how many entries a DirReader asks the tracker for at a time.
const DirPage = 1000

// DirReader streams one open directory's children a page at a time, so an
// open directory holds one page in memory however big it is. The entries
// of the current page also answer lookups of their names (Lookup), so
// READDIRPLUS, which looks up every name it returns, costs no round trip
// per entry. A DirReader is safe for concurrent use.
type DirReader struct {
	fs          *FS
	domain, dir string

	mu   sync.Mutex // guards the fields below
	page []Entry    // the current page
	i    int        // index in page of the next entry
	base uint64     // offset of page[0]: entries returned before it
	next string     // cursor of the page after this one
	done bool       // no page after this one
	// extra are the children the tracker does not know (yet) that this
	// mount has, and that the tracker has not named so far; they follow
	// the tracker's entries (see OpenDir).
	extra      []Entry
	extraAdded bool
	opened     []Entry // the extra entries given to OpenDir, for Seek
	// queued are the -o writeback files of the directory when it was
	// opened: a name the tracker lists shows the queued content, and one it
	// does not is among extra. Listing does not wait for their uploads.
	queued map[string]Stat
}

// OpenDir returns a DirReader at the start of directory dir of domain.
// pending are children that exist in this mount only for now (files
// created and not yet stored); they are listed after the tracker's
// entries unless the tracker names them. Mount-local directories (see
// localDirs) are added the same way.
func (fs *FS) OpenDir(domain, dir string, pending []Entry) *DirReader {
	extra := slices.Clone(pending)
	for _, seg := range fs.local.children(domain, dir) {
		extra = append(extra, Entry{Seg: seg, St: Stat{Kind: KindDir}})
	}
	queued := fs.wb.Children(domain, dir)
	for _, e := range extra {
		delete(queued, e.Seg) // an open file's own entry wins
	}
	for seg, st := range queued {
		extra = append(extra, Entry{Seg: seg, St: st})
	}
	return &DirReader{fs: fs, domain: domain, dir: dir, extra: extra, opened: extra, queued: queued}
}

// Next returns the next entry and its offset (entries before it plus one:
// the value to Seek to for the entry after it); ok is false at the end.
func (d *DirReader) Next(ctx context.Context) (e Entry, off uint64, ok bool, err error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for d.i >= len(d.page) {
		if d.done {
			if d.extraAdded || len(d.extra) == 0 {
				return Entry{}, 0, false, nil
			}
			d.base += uint64(len(d.page))
			d.page, d.i, d.extraAdded = d.extra, 0, true
			continue
		}
		if err := d.fetch(ctx); err != nil {
			return Entry{}, 0, false, err
		}
	}
	e = d.page[d.i]
	d.i++
	return e, d.base + uint64(d.i), true, nil
}

// fetch replaces the current page with the next one. Called with d.mu held.
func (d *DirReader) fetch(ctx context.Context) error {
	ents, next, done, err := d.fs.ListPage(ctx, d.domain, d.dir, d.next, DirPage)
	if err != nil {
		return err
	}
	for i, e := range ents {
		if st, ok := d.queued[e.Seg]; ok {
			ents[i].St = st // newer than what the tracker has
		}
	}
	if len(d.extra) > 0 {
		// What the tracker names is listed as the tracker has it.
		named := make(map[string]bool, len(ents))
		for _, e := range ents {
			named[e.Seg] = true
		}
		var keep []Entry // a new slice: opened shares the old one's array
		for _, x := range d.extra {
			if !named[x.Seg] {
				keep = append(keep, x)
			}
		}
		d.extra = keep
	}
	d.base += uint64(len(d.page))
	d.page, d.i, d.next, d.done = ents, 0, next, done
	return nil
}

// Seek moves to offset off (an offset Next returned, or 0 for the start).
// Within the current page it is free; elsewhere the listing is read again
// from the start up to off (telldir/seekdir are rare; readdir's own
// restarts land in the current page).
func (d *DirReader) Seek(ctx context.Context, off uint64) error {
	d.mu.Lock()
	if off >= d.base && off <= d.base+uint64(len(d.page)) {
		d.i = int(off - d.base)
		d.mu.Unlock()
		return nil
	}
	d.page, d.i, d.base, d.next, d.done = nil, 0, 0, "", false
	d.extra, d.extraAdded = d.opened, false
	d.mu.Unlock()
	for n := uint64(0); n < off; n++ {
		if _, _, ok, err := d.Next(ctx); err != nil || !ok {
			return err
		}
	}
	return nil
}

// Lookup answers a lookup of a name from the current page: what the
// listing said of it, without a round trip. ok is false for a name not in
// the page, or one whose size the listing did not give (a stock tracker's
// list_keys): the caller asks the tracker.
func (d *DirReader) Lookup(name string) (Entry, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	// READDIRPLUS looks up the entry just returned: search back from it.
	for i := min(d.i, len(d.page)) - 1; i >= 0; i-- {
		if e := d.page[i]; NameOf(e.Seg) == name {
			return e, e.St.Kind != KindFile || e.St.Length >= 0
		}
	}
	return Entry{}, false
}

// findLong resolves a long name (IsLongName) in directory dir: the segment
// whose LongName it is. Long names start with the escaped head of their
// segment, so the search lists only the names that start with that head
// (in listing order they are together), not the whole directory.
func (fs *FS) findLong(ctx context.Context, domain, dir, name string) (string, error) {
	head := strings.TrimPrefix(name, longTag)
	if _, h, ok := strings.Cut(head, "-"); ok {
		head = h
	}
	raw, ok := percentUnescape(head)
	if !ok || raw == "" {
		return "", ErrNotFound
	}
	// Start just before the head: after its last byte's predecessor in
	// listing order (a cut-down head is a smaller position).
	after := raw[:len(raw)-1]
	for {
		ents, next, done, err := fs.ListPage(ctx, domain, dir, after, DirPage)
		if err != nil {
			return "", err
		}
		for _, e := range ents {
			if NameOf(e.Seg) == name {
				return e.Seg, nil
			}
			if e.Seg > raw && !strings.HasPrefix(e.Seg, raw) {
				return "", ErrNotFound
			}
		}
		if done {
			return "", ErrNotFound
		}
		after = next
	}
}

// ResolveName decodes a file name in directory dir to its key segment,
// resolving long names (see findLong).
func (fs *FS) ResolveName(ctx context.Context, domain, dir, name string) (string, error) {
	if !IsLongName(name) {
		return SegmentOf(name)
	}
	return fs.findLong(ctx, domain, dir, name)
}
