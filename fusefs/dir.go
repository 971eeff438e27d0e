package fusefs

import (
	"context"
	"syscall"
	"time"

	"github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"

	"mogfs/fusefs/vfs"
)

// dirHandle is an open directory: a vfs.DirReader paging through the
// tracker. READDIRPLUS asks it (not the node) to look up each name it
// returns, and it answers from the page just read, so `ls -l` of a big
// directory costs a round trip per page, not per entry.
type dirHandle struct {
	n *node
	r *vfs.DirReader
}

var _ = (fs.FileReaddirenter)((*dirHandle)(nil))

func (h *dirHandle) Readdirent(ctx context.Context) (_ *fuse.DirEntry, errno syscall.Errno) {
	// A page is read to its end even when the request is interrupted (a
	// Go program gets SIGURG all the time): an error in the middle of a
	// READDIRPLUS reply makes go-fuse and the kernel lose entries (seen:
	// about a page of a 100,000-entry listing, one run in three). A page
	// costs milliseconds, and a dead tracker still ends it (client timeout).
	ctx = uninterrupted(ctx)
	e, off, ok, err := h.r.Next(ctx)
	if err != nil {
		return nil, h.n.m.errno("readdir", err)
	}
	if !ok {
		return nil, 0
	}
	return &fuse.DirEntry{Name: vfs.NameOf(e.Seg), Mode: modeType(e.St), Off: off}, 0
}

var _ = (fs.FileLookuper)((*dirHandle)(nil))

// Lookup is READDIRPLUS's lookup of the name Readdirent just returned.
func (h *dirHandle) Lookup(ctx context.Context, name string, out *fuse.EntryOut) (*fs.Inode, syscall.Errno) {
	e, ok := h.r.Lookup(name)
	if !ok {
		return h.n.Lookup(ctx, name, out)
	}
	return h.n.entry(ctx, name, e.Seg, e.St, time.Now(), out), 0
}

var _ = (fs.FileSeekdirer)((*dirHandle)(nil))

func (h *dirHandle) Seekdir(ctx context.Context, off uint64) syscall.Errno {
	ctx = uninterrupted(ctx) // a seek may read pages again: see Readdirent
	return h.n.m.errno("seekdir", h.r.Seek(ctx, off))
}

var _ = (fs.FileReleasedirer)((*dirHandle)(nil))

func (h *dirHandle) Releasedir(context.Context, uint32) {}

// domainsHandle lists the domains at the root of a mount without -o domain=.
type domainsHandle struct {
	n    *node
	doms []string
	i    int
}

var _ = (fs.FileReaddirenter)((*domainsHandle)(nil))

func (h *domainsHandle) Readdirent(context.Context) (*fuse.DirEntry, syscall.Errno) {
	if h.i >= len(h.doms) {
		return nil, 0
	}
	h.i++
	return &fuse.DirEntry{Name: h.doms[h.i-1], Mode: syscall.S_IFDIR, Off: uint64(h.i)}, 0
}

var _ = (fs.FileSeekdirer)((*domainsHandle)(nil))

func (h *domainsHandle) Seekdir(_ context.Context, off uint64) syscall.Errno {
	h.i = int(min(off, uint64(len(h.doms))))
	return 0
}

var _ = (fs.FileFsyncdirer)((*dirHandle)(nil))

// Fsyncdir has nothing to do: every change in a directory was committed by
// the tracker before the operation that made it returned.
func (h *dirHandle) Fsyncdir(context.Context, uint32) syscall.Errno { return 0 }
