package fusefs

import (
	"context"
	"io"
	"os"
	"syscall"
	"time"

	"github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"

	"mogfs/fusefs/vfs"
)

// acquire attaches the caller to the node's write session, opening one on
// the current fid if none is open. trunc starts it empty (O_TRUNC).
func (n *node) acquire(ctx context.Context, trunc bool) syscall.Errno {
	n.mu.Lock()
	if n.sess != nil {
		n.sessRefs++
		sess := n.sess
		n.mu.Unlock()
		if trunc {
			return n.m.errno("truncate", sess.Truncate(ctx, 0))
		}
		return 0
	}
	st := n.st
	n.mu.Unlock()
	domain, key := n.fileKey()
	if !trunc {
		// Close-to-open: write on top of what is stored now.
		fresh, err := n.m.fs.FileInfo(ctx, domain, key)
		if err != nil {
			return n.m.errno("open", err)
		}
		st = fresh
	}
	sess := vfs.NewSession(n.m.opt.CacheDir, vfs.Base{FID: st.FID, Length: st.Length}, trunc, n.m.fs.Load(domain, key))
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.sess != nil { // another open won the race; use its session
		sess.Close()
		n.sessRefs++
		return 0
	}
	n.setStat(st, key, time.Now())
	n.sess, n.sessRefs = sess, 1
	if n.pre == nil {
		n.pre = n.m.fs.PreOpen(domain, key)
	}
	if trunc {
		sess.SetStreamer(n.m.fs.Streamer(n.pre))
	}
	n.m.track(n)
	return 0
}

// flushTimeout bounds one upload at close(2) after the caller's request
// was interrupted: the upload goes on (see flush), but not forever.
const flushTimeout = 10 * time.Minute

// flush uploads the session if it is dirty and records the new fid.
//
// The upload ignores the FUSE request's interruption: a signal reaching the
// process blocked in close(2) (a Go program gets SIGURG all the time) must
// not turn into EINTR with the changes discarded at release. close(2)
// returns 0 only once the content and its create_close are stored, and the
// upload's own failures (every destination refused, no tracker) are its
// errors.
func (n *node) flush(ctx context.Context) syscall.Errno {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), flushTimeout)
	defer cancel()
	n.mu.Lock()
	sess, newFile, gone, pre := n.sess, n.newFile, n.unlinked, n.pre
	st := n.st
	n.mu.Unlock()
	if sess == nil || gone || !sess.Dirty() {
		return 0
	}
	up := vfs.Upload{Pre: pre, MTime: sess.MTime(), Stream: sess.TakeStream()}
	if newFile || (st.HasAttr && st.Attr.Mode != 0) {
		a := st.Attr
		up.Attr = &a
	}
	domain, key := n.fileKey()
	var store vfs.StoreFunc
	if wb := n.m.fs.Writeback(); wb != nil {
		// -o writeback: durably queued is what close promises.
		store = func(ctx context.Context, r io.ReaderAt, size int64) (int64, error) {
			return wb.Queue(ctx, domain, key, r, size, pre, up.Attr, up.MTime)
		}
	} else {
		store = n.m.fs.StoreSession(domain, key, up)
	}
	u, ok, err := sess.Upload(ctx, store)
	if pre != nil {
		n.mu.Lock()
		if n.pre == pre {
			n.pre = nil // used (or failed and replaced inside): never twice
		}
		n.mu.Unlock()
	}
	if err != nil {
		return n.m.errno("upload", err)
	}
	if !ok {
		return 0
	}
	if u.Size == 0 {
		// An empty content stored by the close of a duplicate descriptor
		// (sh's > redirect, dd): the writes that follow may stream too.
		sess.SetStreamer(n.m.fs.LateStreamer(domain, key))
	}
	n.mu.Lock()
	n.newFile = false
	n.st.FID, n.st.Length, n.stAt = u.FID, u.Size, time.Now()
	n.st.Attr.MTime, n.st.HasAttr = u.MTime, n.st.HasAttr || up.Attr != nil
	now := n.st.Attr
	n.mu.Unlock()
	if !u.MTime.Equal(up.MTime) || up.Attr != nil && (now.Mode != up.Attr.Mode || now.UID != up.Attr.UID || now.GID != up.Attr.GID) {
		// A setattr deferred to this upload arrived after the upload took
		// its copy of the attributes: store it now.
		ch := vfs.AttrChange{Mode: &now.Mode, UID: &now.UID, GID: &now.GID, MTime: &u.MTime}
		if up.Attr == nil {
			ch.Mode, ch.UID, ch.GID = nil, nil, nil
		}
		if err := n.m.fs.SetAttr(ctx, domain, key, ch); err != nil {
			return n.m.errno("setattr", err)
		}
	}
	return 0
}

// release detaches one user of the session, storing and closing it with
// the last one.
func (n *node) release(ctx context.Context) syscall.Errno {
	errno := n.flush(ctx)
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.sess == nil {
		return errno
	}
	n.sessRefs--
	if n.sessRefs > 0 {
		return errno
	}
	if errno != 0 && !n.unlinked {
		// The data exists only in the staging file; the close already
		// reported the error. Keep nothing half-done behind.
		n.m.log.Error("mogfs: discarding unstored changes", "key", n.seg, "errno", errno)
	}
	n.sess.Close()
	n.sess = nil
	n.m.untrack(n)
	return errno
}

var _ = (fs.NodeOpener)((*node)(nil))

// Open re-reads the file's fid (close-to-open) and opens a handle; a handle
// open for writing shares the node's session.
func (n *node) Open(ctx context.Context, flags uint32) (_ fs.FileHandle, _ uint32, errno syscall.Errno) {
	defer n.m.observe("open", time.Now(), &errno)
	ctx = uninterrupted(ctx) // open(2) is not restarted after EINTR: see Lookup
	if n.isDir() {
		return nil, 0, syscall.EISDIR
	}
	write := flags&syscall.O_ACCMODE != syscall.O_RDONLY
	trunc := flags&syscall.O_TRUNC != 0
	if (write || trunc) && n.m.opt.ReadOnly {
		return nil, 0, syscall.EROFS
	}
	if write || trunc {
		if errno := n.acquire(ctx, trunc); errno != 0 {
			return nil, 0, errno
		}
		return &handle{n: n, write: true, append: flags&syscall.O_APPEND != 0}, 0, 0
	}
	n.mu.Lock()
	busy := n.sess != nil
	if busy {
		n.cachedFID = 0 // what the kernel may hold is not a stored fid's
	}
	n.mu.Unlock()
	h := &handle{n: n}
	var keep uint32
	if !busy {
		domain, key := n.fileKey()
		if f, size, ok := n.m.fs.OpenQueued(domain, key); ok {
			// -o writeback, not uploaded yet: read the queued copy.
			h.queued, h.queuedSize = f, size
			n.mu.Lock()
			n.st.Length, n.cachedFID = size, 0
			n.mu.Unlock()
			return h, 0, 0
		}
		n.mu.Lock()
		known := n.st
		n.mu.Unlock()
		st, paths, err := n.m.fs.OpenRead(ctx, domain, key, known)
		if err != nil {
			return nil, 0, n.m.errno("open", err)
		}
		n.mu.Lock()
		n.st.FID, n.st.Length, n.st.Class, n.st.DevCount, n.stAt = st.FID, st.Length, st.Class, st.DevCount, time.Now()
		// A fid's bytes never change: while the file is the same fid as
		// at the last open, the kernel keeps its page cache, and a warm
		// read runs at page-cache speed without a request to the mount.
		if st.FID != 0 && st.FID == n.cachedFID {
			keep = fuse.FOPEN_KEEP_CACHE
		}
		n.cachedFID = st.FID
		n.mu.Unlock()
		h.readOf = vfs.Base{FID: st.FID, Length: st.Length}
		h.reader = n.m.fs.NewReader(domain, key, st.FID, st.Length)
		h.reader.SeedPaths(paths)
	}
	return h, keep, 0
}

// handle is one open file.
type handle struct {
	n      *node
	write  bool // holds a reference on n.sess
	append bool // O_APPEND: every write goes to the end
	reader *vfs.Reader
	readOf vfs.Base // what reader reads
	// queued is the -o writeback copy this handle reads (the file was
	// not uploaded when it was opened), of queuedSize bytes; nil if none.
	queued     *os.File
	queuedSize int64
}

var _ = (fs.FileReader)((*handle)(nil))

// Read reads from the session when it holds the content, else from storage
// through the block cache.
func (h *handle) Read(ctx context.Context, dest []byte, off int64) (_ fuse.ReadResult, errno syscall.Errno) {
	defer h.n.m.observe("read", time.Now(), &errno)
	ctx = uninterrupted(ctx) // a read of a regular file is not expected to fail with EINTR
	n := h.n
	n.mu.Lock()
	sess := n.sess
	base := vfs.Base{FID: n.st.FID, Length: n.st.Length}
	n.mu.Unlock()
	if sess != nil {
		if sess.Loaded() {
			k, err := sess.ReadAt(dest, off)
			if err != nil && err != io.EOF {
				return nil, n.m.errno("read", err)
			}
			return fuse.ReadResultData(dest[:k]), 0
		}
		base = sess.Base()
	} else if h.queued != nil {
		if off >= h.queuedSize {
			return fuse.ReadResultData(nil), 0
		}
		k, err := h.queued.ReadAt(dest[:min(int64(len(dest)), h.queuedSize-off)], off)
		if err != nil && err != io.EOF {
			return nil, n.m.errno("read", err)
		}
		return fuse.ReadResultData(dest[:k]), 0
	}
	if h.reader == nil || h.readOf != base {
		if h.reader != nil {
			h.reader.Close()
		}
		domain, key := n.fileKey()
		h.reader, h.readOf = n.m.fs.NewReader(domain, key, base.FID, base.Length), base
	}
	k, err := h.reader.ReadAt(ctx, dest, off)
	if err != nil && err != io.EOF {
		return nil, n.m.errno("read", err)
	}
	return fuse.ReadResultData(dest[:k]), 0
}

var _ = (fs.FileWriter)((*handle)(nil))

// Write writes into the staging file.
func (h *handle) Write(ctx context.Context, data []byte, off int64) (_ uint32, errno syscall.Errno) {
	defer h.n.m.observe("write", time.Now(), &errno)
	if !h.write {
		return 0, syscall.EBADF
	}
	h.n.mu.Lock()
	sess := h.n.sess
	h.n.mu.Unlock()
	var err error
	if h.append {
		_, err = sess.Append(ctx, data)
	} else {
		_, err = sess.WriteAt(ctx, data, off)
	}
	if err != nil {
		return 0, h.n.m.errno("write", err)
	}
	return uint32(len(data)), 0
}

var _ = (fs.FileFlusher)((*handle)(nil))

// Flush (every close(2)) stores the file if it changed, so close reports
// upload errors (EIO, ENOSPC).
func (h *handle) Flush(ctx context.Context) (errno syscall.Errno) {
	defer h.n.m.observe("flush", time.Now(), &errno)
	if !h.write {
		return 0
	}
	return h.n.flush(ctx)
}

var _ = (fs.FileFsyncer)((*handle)(nil))

// Fsync stores the file if it changed; under -o writeback it also waits
// for the file's queued uploads: fsync(2) means stored in every mode.
func (h *handle) Fsync(ctx context.Context, flags uint32) (errno syscall.Errno) {
	defer h.n.m.observe("fsync", time.Now(), &errno)
	if !h.write {
		return 0
	}
	wb := h.n.m.fs.Writeback()
	if errno := h.n.flush(ctx); errno != 0 || wb == nil {
		return errno
	}
	domain, key := h.n.fileKey()
	return h.n.m.errno("fsync", wb.Wait(uninterrupted(ctx), domain, key))
}

var _ = (fs.FileReleaser)((*handle)(nil))

// Release closes the handle; the last writer closes the session.
func (h *handle) Release(ctx context.Context) (errno syscall.Errno) {
	defer h.n.m.observe("release", time.Now(), &errno)
	if h.reader != nil {
		h.reader.Close()
	}
	if h.queued != nil {
		h.queued.Close()
	}
	if !h.write {
		return 0
	}
	return h.n.release(ctx)
}

var _ = (fs.FileGetattrer)((*handle)(nil))

// Getattr on an open file reports the node's attributes.
func (h *handle) Getattr(ctx context.Context, out *fuse.AttrOut) (errno syscall.Errno) {
	defer h.n.m.observe("getattr", time.Now(), &errno)
	h.n.fillAttr(&out.Attr)
	out.SetTimeout(h.n.m.opt.AttrTimeout)
	return 0
}
