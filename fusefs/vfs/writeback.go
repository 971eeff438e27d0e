package vfs

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	"mogfs/client"
)

// Writeback is the -o writeback upload queue. close(2) returns once the
// file's content and what the upload needs (key, attributes, the early
// create_open) are in one file under cache_dir/writeback, fdatasynced, and
// its directory entry fsynced: durably queued. Workers upload entries in
// the background, several at a time, and delete each once the tracker has
// the file. A mount that crashed finds its entries at the next start and
// uploads them; an entry without its trailer was never acknowledged (the
// close did not return) and is dropped.
//
// Until its upload, a queued file is visible to this mount only: lookups,
// listings and reads answer from the queue, attribute changes amend it
// (Amend), and every other operation that needs the tracker's view of a
// key (open for writing, unlink, rename, link, xattrs, removing or
// renaming its directory) first waits for that key's (or that
// directory's) uploads, so the tracker's answer is the new one. Other
// mounts and clients see the file once it is uploaded.
//
// Entries of one key upload in order: a newer entry replaces an older one
// not yet started, and waits for one in flight.
type Writeback struct {
	fs      *FS
	dir     string
	dirFile *os.File // the directory, for fsync after each entry

	mu      sync.Mutex
	wake    *sync.Cond
	latest  map[string]*wbEntry // by domain+"\x00"+key: the newest entry of each key
	queue   []*wbEntry          // not yet started, oldest first
	pending int                 // entries not yet uploaded, not counting replaced ones
	seq     uint64
	closed  bool
	workers sync.WaitGroup
	ctx     context.Context // ends at Close: uploads in flight stop
	stop    context.CancelFunc
}

// wbEntry is one queued upload; its file is content, then a JSON trailer.
type wbEntry struct {
	path string
	Meta wbMeta
	done chan struct{} // closed once uploaded or replaced

	// guarded by Writeback.mu
	started, replaced bool
	prev              *wbEntry // an older entry of the key in flight: upload after it
	uploaded          *Attr    // the attributes the last upload attempt carried
}

// wbMeta is an entry's trailer.
type wbMeta struct {
	Domain, Key string
	Size        int64
	Attr        *Attr // nil: only the times are recorded
	MTime       time.Time
	// The early create_open, if any: its fid is the file's inode number.
	FID    int64         `json:",omitempty"`
	Dests  []client.Dest `json:",omitempty"`
	OpenAt time.Time     `json:",omitzero"`
}

// wbMagic ends every complete entry, after the trailer's length.
const wbMagic = "MOGFSWB1"

// wbRetry bounds the wait between attempts of a failing upload.
const wbRetry = 30 * time.Second

// NewWriteback opens the queue in dir (created if needed), queues the
// entries a previous mount left there, and starts workers uploaders.
func (fs *FS) NewWriteback(dir string, workers int) (*Writeback, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("vfs: writeback dir: %w", err)
	}
	df, err := os.Open(dir)
	if err != nil {
		return nil, fmt.Errorf("vfs: writeback dir: %w", err)
	}
	w := &Writeback{fs: fs, dir: dir, dirFile: df, latest: map[string]*wbEntry{}}
	w.ctx, w.stop = context.WithCancel(context.Background())
	w.wake = sync.NewCond(&w.mu)
	names, err := filepath.Glob(filepath.Join(dir, "*.wb"))
	if err != nil {
		return nil, err
	}
	sort.Strings(names) // names sort in queueing order
	for _, p := range names {
		m, err := readTrailer(p)
		if err != nil {
			fs.log.Warn("writeback: dropping an entry its close never acknowledged", "file", p, "err", err)
			os.Remove(p)
			continue
		}
		w.add(&wbEntry{path: p, Meta: m, done: make(chan struct{})})
	}
	if n := len(w.queue); n > 0 {
		fs.log.Info("writeback: resuming uploads left by the last mount", "entries", n)
	}
	w.seq = uint64(time.Now().UnixNano())
	fs.wb = w
	for range max(workers, 1) {
		w.workers.Go(w.work)
	}
	return w, nil
}

// Queue stores the size bytes of r as key's next content, durably, and
// queues its upload. pre, if not nil, is the early create_open the upload
// uses.
func (w *Writeback) Queue(ctx context.Context, domain, key string, r io.ReaderAt, size int64, pre *PreOpen, a *Attr, mtime time.Time) (fid int64, err error) {
	m := wbMeta{Domain: domain, Key: key, Size: size, Attr: a, MTime: mtime}
	if pre != nil && pre.claim() {
		if res, err := pre.wait(ctx); err == nil {
			m.FID, m.Dests, m.OpenAt = res.FID, res.Dests, pre.at
		}
	}
	w.mu.Lock()
	w.seq++
	p := filepath.Join(w.dir, fmt.Sprintf("%020d.wb", w.seq))
	w.mu.Unlock()
	if err := writeEntry(p, r, size, m); err != nil {
		os.Remove(p)
		return 0, err
	}
	// The entry's name must survive a crash too.
	if err := w.dirFile.Sync(); err != nil {
		os.Remove(p)
		return 0, fmt.Errorf("vfs: writeback: %w", err)
	}
	w.mu.Lock()
	w.add(&wbEntry{path: p, Meta: m, done: make(chan struct{})})
	w.mu.Unlock()
	return m.FID, nil
}

func writeEntry(p string, r io.ReaderAt, size int64, m wbMeta) error {
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("vfs: writeback: %w", err)
	}
	defer f.Close()
	if _, err := io.Copy(f, io.NewSectionReader(r, 0, size)); err != nil {
		return fmt.Errorf("vfs: writeback copy: %w", err)
	}
	meta, err := json.Marshal(m)
	if err != nil {
		return err
	}
	var tail [8]byte
	binary.BigEndian.PutUint64(tail[:], uint64(len(meta)))
	if _, err := f.Write(append(append(meta, tail[:]...), wbMagic...)); err != nil {
		return fmt.Errorf("vfs: writeback: %w", err)
	}
	if err := syscall.Fdatasync(int(f.Fd())); err != nil {
		return fmt.Errorf("vfs: writeback fdatasync: %w", err)
	}
	return f.Close()
}

// readTrailer returns the metadata of a complete entry.
func readTrailer(p string) (wbMeta, error) {
	var m wbMeta
	f, err := os.Open(p)
	if err != nil {
		return m, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return m, err
	}
	end := st.Size()
	var tail [16]byte
	if end < 16 {
		return m, errors.New("no trailer")
	}
	if _, err := f.ReadAt(tail[:], end-16); err != nil {
		return m, err
	}
	if string(tail[8:]) != wbMagic {
		return m, errors.New("no trailer")
	}
	n := int64(binary.BigEndian.Uint64(tail[:8]))
	if n <= 0 || n > end-16 {
		return m, errors.New("bad trailer length")
	}
	meta := make([]byte, n)
	if _, err := f.ReadAt(meta, end-16-n); err != nil {
		return m, err
	}
	dec := json.NewDecoder(bytes.NewReader(meta))
	if err := dec.Decode(&m); err != nil {
		return m, fmt.Errorf("bad trailer: %w", err)
	}
	if m.Size != end-16-n || m.Key == "" || m.Domain == "" {
		return m, errors.New("trailer does not match the content")
	}
	return m, nil
}

func wbKey(domain, key string) string { return domain + "\x00" + key }

// add queues e behind the key's earlier entries. Called with mu held.
func (w *Writeback) add(e *wbEntry) {
	k := wbKey(e.Meta.Domain, e.Meta.Key)
	if old := w.latest[k]; old != nil {
		if old.started {
			e.prev = old
		} else {
			old.replaced = true // its worker drops it
			w.pending--         // counted once, as e
			e.prev = old.prev
		}
	}
	w.latest[k] = e
	w.queue = append(w.queue, e)
	w.pending++
	w.wake.Signal()
}

// work uploads entries until Close.
func (w *Writeback) work() {
	for {
		w.mu.Lock()
		for len(w.queue) == 0 && !w.closed {
			w.wake.Wait()
		}
		if w.closed {
			w.mu.Unlock()
			return
		}
		e := w.queue[0]
		w.queue = w.queue[1:]
		if e.replaced {
			w.finish(e)
			w.mu.Unlock()
			continue
		}
		e.started = true
		prev := e.prev
		w.mu.Unlock()
		if prev != nil {
			<-prev.done
		}
		for attempt := 0; ; attempt++ {
			err := w.upload(e)
			if err == nil {
				err = w.catchUp(e)
			}
			if err == nil {
				break
			}
			w.fs.log.Warn("writeback: upload failed, will retry", "key", e.Meta.Key, "attempt", attempt+1, "err", err)
			w.mu.Lock()
			closed := w.closed
			w.mu.Unlock()
			if closed {
				return // the entry stays on disk for the next mount
			}
			select {
			case <-time.After(min(time.Second<<min(attempt, 5), wbRetry)):
			case <-w.ctx.Done():
				return
			}
		}
		w.mu.Lock()
		w.finish(e)
		w.mu.Unlock()
	}
}

// finish forgets e and removes its file. Called with mu held.
func (w *Writeback) finish(e *wbEntry) {
	os.Remove(e.path)
	if k := wbKey(e.Meta.Domain, e.Meta.Key); w.latest[k] == e {
		delete(w.latest, k)
	}
	if !e.replaced {
		w.pending--
	}
	close(e.done)
	w.wake.Broadcast()
}

// upload stores one entry as a durable close would have.
func (w *Writeback) upload(e *wbEntry) error {
	ctx, cancel := context.WithTimeout(w.ctx, 10*time.Minute)
	defer cancel()
	f, err := os.Open(e.path)
	if err != nil {
		return err
	}
	defer f.Close()
	w.mu.Lock()
	m := e.Meta
	e.uploaded = m.Attr
	w.mu.Unlock()
	up := Upload{Attr: m.Attr, MTime: m.MTime}
	if m.FID != 0 {
		up.Pre = &PreOpen{done: make(chan struct{}), at: m.OpenAt, res: client.OpenResult{FID: m.FID, Dests: m.Dests}}
		close(up.Pre.done)
	}
	_, err = w.fs.StoreSession(m.Domain, m.Key, up)(ctx, f, m.Size)
	return err
}

// catchUp stores the attribute changes Amend made to e while its upload
// was in flight (the upload recorded the attributes it started with).
func (w *Writeback) catchUp(e *wbEntry) error {
	for {
		w.mu.Lock()
		m := e.Meta
		stale := m.Attr != e.uploaded
		e.uploaded = m.Attr
		w.mu.Unlock()
		if !stale {
			return nil
		}
		a := *m.Attr
		ctx, cancel := context.WithTimeout(w.ctx, time.Minute)
		err := w.fs.setAttr(ctx, m.Domain, m.Key, AttrChange{Mode: &a.Mode, UID: &a.UID, GID: &a.GID, MTime: &a.MTime, CTime: &a.CTime})
		cancel()
		if err != nil {
			w.mu.Lock()
			e.uploaded = nil // try again
			w.mu.Unlock()
			return err
		}
	}
}

// Lookup returns the newest queued content of key, if any.
func (w *Writeback) Lookup(domain, key string) (wbMeta, bool) {
	if w == nil {
		return wbMeta{}, false
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	e := w.latest[wbKey(domain, key)]
	if e == nil {
		return wbMeta{}, false
	}
	return e.Meta, true
}

// Amend applies an attribute change (mode, owner, times) to key's newest
// queued entry, and reports whether there was one to change (an upload in
// flight stores the change after it, see catchUp):
// tar and cp -p set times and modes right after each close, and waiting
// for the upload there would make the queue synchronous. The change lives
// in memory until the upload records it: a crash before then keeps the
// content and loses the change, as a local file system may without fsync.
func (w *Writeback) Amend(domain, key string, ch AttrChange) bool {
	if w == nil || ch.IsDir != nil || ch.Target != nil || ch.Ino != nil || ch.InoDefault != nil || ch.Rdev != nil {
		return false
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	e := w.latest[wbKey(domain, key)]
	if e == nil || e.Meta.Attr == nil {
		return false
	}
	a := *e.Meta.Attr // the entry's copy: Lookup hands out copies too
	if ch.Mode != nil {
		a.Mode = a.Mode&^0o7777 | *ch.Mode&0o7777
	}
	if ch.UID != nil {
		a.UID = *ch.UID
	}
	if ch.GID != nil {
		a.GID = *ch.GID
	}
	if ch.MTime != nil {
		a.MTime, e.Meta.MTime = *ch.MTime, *ch.MTime
	}
	if ch.CTime != nil {
		a.CTime = *ch.CTime
	}
	if ch.ATime != nil {
		a.ATime = *ch.ATime
	}
	e.Meta.Attr = &a
	return true
}

// Children returns the queued files directly in directory dir (a prefix)
// of domain, as a listing shows them: their newest content and attributes.
func (w *Writeback) Children(domain, dir string) map[string]Stat {
	if w == nil {
		return nil
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	var out map[string]Stat
	for _, e := range w.latest {
		m := e.Meta
		seg, ok := strings.CutPrefix(m.Key, dir)
		if m.Domain != domain || !ok || seg == "" || strings.Contains(seg, "/") {
			continue
		}
		if out == nil {
			out = map[string]Stat{}
		}
		out[seg] = m.stat()
	}
	return out
}

// stat is what a lookup or a listing shows of a queued file.
func (m wbMeta) stat() Stat {
	st := Stat{Kind: KindFile, FID: m.FID, Length: m.Size, Nlink: 1}
	if m.Attr != nil {
		st.Attr, st.HasAttr = *m.Attr, true
	}
	return st
}

// Open opens key's newest queued content for reading, so reading a file
// just written needs no upload; the descriptor stays readable after the
// upload removes the entry. ok is false when key has nothing queued.
func (w *Writeback) Open(domain, key string) (f *os.File, size int64, ok bool) {
	if w == nil {
		return nil, 0, false
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	e := w.latest[wbKey(domain, key)]
	if e == nil {
		return nil, 0, false
	}
	f, err := os.Open(e.path)
	if err != nil {
		return nil, 0, false
	}
	return f, e.Meta.Size, true
}

// Wait returns once key has no queued upload. It is on the path of most
// operations (see FS.settle): one map lookup, not a scan of the queue.
func (w *Writeback) Wait(ctx context.Context, domain, key string) error {
	if w == nil {
		return nil
	}
	k := wbKey(domain, key)
	return w.until(ctx, func() *wbEntry { return w.latest[k] })
}

// WaitPrefix returns once no key of domain starting with prefix has a
// queued upload.
func (w *Writeback) WaitPrefix(ctx context.Context, domain, prefix string) error {
	p := wbKey(domain, prefix)
	return w.waitFor(ctx, func(k string) bool { return strings.HasPrefix(k, p) })
}

// WaitAll returns once the queue is empty.
func (w *Writeback) WaitAll(ctx context.Context) error {
	return w.waitFor(ctx, func(string) bool { return true })
}

func (w *Writeback) waitFor(ctx context.Context, match func(string) bool) error {
	if w == nil {
		return nil
	}
	return w.until(ctx, func() *wbEntry {
		for k, e := range w.latest {
			if match(k) {
				return e
			}
		}
		return nil
	})
}

// until waits for the entries find returns (called with mu held) until it
// returns none.
func (w *Writeback) until(ctx context.Context, find func() *wbEntry) error {
	for {
		w.mu.Lock()
		e := find()
		w.mu.Unlock()
		if e == nil {
			return nil
		}
		select {
		case <-e.done:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// Pending is the number of entries not yet uploaded.
func (w *Writeback) Pending() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.pending
}

// Close stops the workers; what is not uploaded stays for the next mount.
func (w *Writeback) Close() {
	w.stop()
	w.mu.Lock()
	w.closed = true
	w.wake.Broadcast()
	w.mu.Unlock()
	w.workers.Wait()
	w.dirFile.Close()
}
