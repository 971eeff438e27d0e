package fusefs

import (
	"context"
	"errors"
	"syscall"
	"time"

	"github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"

	"mogfs/fusefs/vfs"
)

// uninterrupted detaches a namespace change (or a lookup, an open, a
// directory page: every request whose syscall is not restarted after
// EINTR) from the FUSE request's interruption. A change sent to the
// tracker may be done there even when the caller is interrupted (a Go program gets SIGURG all the time); going
// back with EINTR would make the caller retry it (Go's os package does)
// and see the result of its own first attempt as an error: unlink's
// ENOENT, mkdir's EEXIST. So a change runs to its end and reports what
// happened. Its tracker requests are still bounded, each by the client's
// timeout, so no deadline (and no timer a FUSE request) is added here.
func uninterrupted(ctx context.Context) context.Context {
	return context.WithoutCancel(ctx)
}

// entryCheck refuses namespace changes where they cannot happen: a read-only
// mount, the domain list, a name that does not decode.
func (n *node) entryCheck(name string) (string, syscall.Errno) {
	if n.m.opt.ReadOnly {
		return "", syscall.EROFS
	}
	if n.role == roleDomainList {
		return "", syscall.EPERM // domains are made with mogadm
	}
	if vfs.IsLongName(name) {
		return "", syscall.ENAMETOOLONG
	}
	seg, err := vfs.SegmentOf(name)
	if err != nil {
		return "", syscall.EINVAL
	}
	return seg, 0
}

var _ = (fs.NodeCreater)((*node)(nil))

// Create makes a new file; it is stored when first flushed.
func (n *node) Create(ctx context.Context, name string, flags uint32, mode uint32, out *fuse.EntryOut) (_ *fs.Inode, _ fs.FileHandle, _ uint32, errno syscall.Errno) {
	defer n.m.observe("create", time.Now(), &errno)
	ctx = uninterrupted(ctx)
	seg, errno := n.entryCheck(name)
	if errno != 0 {
		return nil, nil, 0, errno
	}
	uid, gid := callerOwner(ctx)
	now := time.Now()
	st := vfs.Stat{Kind: vfs.KindFile, HasAttr: true,
		Attr: vfs.Attr{Mode: syscall.S_IFREG | mode&0o7777, UID: uid, GID: gid, MTime: now, CTime: now}}
	sess := vfs.NewSession(n.m.opt.CacheDir, vfs.Base{}, true, nil)
	domain, dir := n.where()
	// create_open now: close(2) then waits only for the PUT and
	// create_close. Its fid, unique and never reused, is the file's inode
	// number for life (recorded with its attributes, kept across renames
	// and overwrites), so the create waits for it.
	key := vfs.ChildKey(dir, seg)
	pre := n.m.fs.PreOpen(domain, key)
	fid, err := pre.FID(ctx)
	switch {
	case err != nil && n.m.fs.Writeback() != nil && errors.Is(err, vfs.ErrNoSpace):
		// -o writeback queues files while no device can take them (all
		// nodes down, say): the upload makes its own create_open later,
		// and the inode number is a hash of the first path, as a mkdir's.
		fid, pre = int64(vfs.DirIno(domain, key)), nil
	case err != nil:
		sess.Close()
		return nil, nil, 0, n.m.errno("create", err)
	}
	st.Attr.Ino = fid
	sess.SetStreamer(n.m.fs.Streamer(pre))
	ch := n.newChild(ctx, &node{m: n.m, role: roleEntry, seg: seg, st: st, stAt: now, sess: sess, sessRefs: 1, newFile: true, pre: pre})
	cn := ch.Operations().(*node)
	n.m.track(cn)
	cn.fillEntry(out)
	return ch, &handle{n: cn, write: true, append: flags&syscall.O_APPEND != 0}, 0, 0
}

var _ = (fs.NodeMkdirer)((*node)(nil))

// Mkdir records an empty directory as an attribute row, or, on a tracker
// without the extension, as a mount-local directory (see vfs.FS.Mkdir).
func (n *node) Mkdir(ctx context.Context, name string, mode uint32, out *fuse.EntryOut) (_ *fs.Inode, errno syscall.Errno) {
	defer n.m.observe("mkdir", time.Now(), &errno)
	ctx = uninterrupted(ctx)
	seg, errno := n.entryCheck(name)
	if errno != 0 {
		return nil, errno
	}
	domain, dir := n.where()
	// The kernel looked the name up just before, but another client may
	// have made it since: one point lookup.
	if _, err := n.m.fs.Lookup(ctx, domain, dir, seg); err == nil {
		return nil, syscall.EEXIST
	} else if !errors.Is(err, vfs.ErrNotFound) {
		return nil, n.m.errno("mkdir", err)
	}
	uid, gid := callerOwner(ctx)
	st, err := n.m.fs.Mkdir(ctx, domain, vfs.ChildDir(dir, seg), mode, uid, gid)
	if err != nil {
		return nil, n.m.errno("mkdir", err)
	}
	ch := n.newChild(ctx, &node{m: n.m, role: roleEntry, seg: seg, st: st, stAt: time.Now()})
	ch.Operations().(*node).fillEntry(out)
	return ch, 0
}

var _ = (fs.NodeRmdirer)((*node)(nil))

// Rmdir removes an empty directory.
func (n *node) Rmdir(ctx context.Context, name string) (errno syscall.Errno) {
	defer n.m.observe("rmdir", time.Now(), &errno)
	ctx = uninterrupted(ctx)
	seg, errno := n.entryCheck(name)
	if errno != 0 {
		return errno
	}
	domain, dir := n.where()
	if err := n.m.fs.Rmdir(ctx, domain, vfs.ChildDir(dir, seg)); err != nil {
		return n.m.errno("rmdir", err)
	}
	return 0
}

var _ = (fs.NodeUnlinker)((*node)(nil))

// Unlink deletes a file or symlink.
func (n *node) Unlink(ctx context.Context, name string) (errno syscall.Errno) {
	defer n.m.observe("unlink", time.Now(), &errno)
	ctx = uninterrupted(ctx)
	seg, errno := n.entryCheck(name)
	if errno != 0 {
		return errno
	}
	domain, dir := n.where()
	var pending bool
	var cn *node
	if ch := n.GetChild(name); ch != nil {
		cn, _ = ch.Operations().(*node)
	}
	if cn != nil {
		cn.mu.Lock()
		if cn.st.Nlink <= 1 {
			// Its last name: an open write session must not store the
			// key again on close.
			cn.unlinked = true
		}
		pending = cn.newFile
		cn.mu.Unlock()
	}
	if pending {
		return 0 // created here and never stored: nothing on the tracker
	}
	key := vfs.ChildKey(dir, seg)
	promoted, err := n.m.fs.UnlinkName(ctx, domain, key)
	if err == nil && cn != nil {
		cn.mu.Lock()
		if cn.st.Nlink > 1 {
			// One of several names went; the file stays, under another
			// key if this name held it.
			cn.st.Nlink--
			if promoted != "" {
				cn.st.Key = promoted
			}
		}
		cn.mu.Unlock()
	}
	return n.m.errno("unlink", err)
}

var _ = (fs.NodeRenamer)((*node)(nil))

// Rename moves a file or a directory (every key under it) within a domain.
func (n *node) Rename(ctx context.Context, name string, newParent fs.InodeEmbedder, newName string, flags uint32) (errno syscall.Errno) {
	defer n.m.observe("rename", time.Now(), &errno)
	ctx = uninterrupted(ctx)
	seg, errno := n.entryCheck(name)
	if errno != 0 {
		return errno
	}
	np, ok := newParent.(*node)
	if !ok {
		return syscall.EXDEV
	}
	newSeg, errno := np.entryCheck(newName)
	if errno != 0 {
		return errno
	}
	if flags&renameExchange != 0 {
		return syscall.EINVAL
	}
	domain, dir := n.where()
	newDomain, newDir := np.where()
	if domain != newDomain {
		return syscall.EXDEV
	}
	ch := n.GetChild(name)
	var st vfs.Stat
	if ch != nil {
		cn := ch.Operations().(*node)
		if errno := cn.flush(ctx); errno != 0 {
			return errno
		}
		cn.mu.Lock()
		st = cn.st
		cn.mu.Unlock()
	} else {
		var err error
		if st, err = n.m.fs.Lookup(ctx, domain, dir, seg); err != nil {
			return n.m.errno("rename", err)
		}
	}
	if flags&renameNoReplace != 0 {
		if _, err := n.m.fs.Lookup(ctx, domain, newDir, newSeg); err == nil {
			return syscall.EEXIST
		}
	}
	var err error
	if st.Kind == vfs.KindSpecial {
		err = n.m.fs.RenameSpecial(ctx, domain, vfs.ChildKey(dir, seg), vfs.ChildKey(newDir, newSeg))
	} else if st.Kind == vfs.KindDir {
		ino, _ := n.identity(seg, roleEntry, st)
		if ch != nil {
			ino = ch.StableAttr().Ino
		}
		err = n.m.fs.RenameDir(ctx, domain, vfs.ChildDir(dir, seg), vfs.ChildDir(newDir, newSeg), ino)
	} else {
		err = n.m.fs.RenameFile(ctx, domain, vfs.ChildKey(dir, seg), vfs.ChildKey(newDir, newSeg))
	}
	if err != nil {
		return n.m.errno("rename", err)
	}
	if old := np.GetChild(newName); old != nil && old != ch {
		// The file renamed over, if still open, is now nameless.
		if on, ok := old.Operations().(*node); ok && st.Kind != vfs.KindDir {
			on.mu.Lock()
			on.unlinked = true
			on.mu.Unlock()
		}
	}
	if ch != nil {
		// go-fuse moves the inode after we return; its segment is ours to
		// fix, and the key of a file with several names moves with the
		// name that held it.
		cn := ch.Operations().(*node)
		cn.mu.Lock()
		cn.seg = newSeg
		if cn.st.Key == vfs.ChildKey(dir, seg) {
			cn.st.Key = vfs.ChildKey(newDir, newSeg)
		}
		cn.mu.Unlock()
	}
	return 0
}

// Linux renameat2 flags (golang.org/x/sys/unix has them; kept local so the
// adapter's imports stay small).
const (
	renameNoReplace = 1 << 0
	renameExchange  = 1 << 1
)

var _ = (fs.NodeSymlinker)((*node)(nil))

// Symlink creates a symlink: an empty key with type and target attributes.
func (n *node) Symlink(ctx context.Context, target, name string, out *fuse.EntryOut) (_ *fs.Inode, errno syscall.Errno) {
	defer n.m.observe("symlink", time.Now(), &errno)
	ctx = uninterrupted(ctx)
	seg, errno := n.entryCheck(name)
	if errno != 0 {
		return nil, errno
	}
	domain, dir := n.where()
	uid, gid := callerOwner(ctx)
	st, err := n.m.fs.Symlink(ctx, domain, vfs.ChildKey(dir, seg), target, uid, gid)
	if err != nil {
		return nil, n.m.errno("symlink", err)
	}
	ch := n.newChild(ctx, &node{m: n.m, role: roleEntry, seg: seg, st: st, stAt: time.Now()})
	ch.Operations().(*node).fillEntry(out)
	return ch, 0
}

var _ = (fs.NodeMknoder)((*node)(nil))

// Mknod makes a fifo, socket or device node: attributes with no key (see
// vfs.FS.Mknod). Regular files come through Create.
func (n *node) Mknod(ctx context.Context, name string, mode, dev uint32, out *fuse.EntryOut) (_ *fs.Inode, errno syscall.Errno) {
	defer n.m.observe("mknod", time.Now(), &errno)
	ctx = uninterrupted(ctx)
	seg, errno := n.entryCheck(name)
	if errno != 0 {
		return nil, errno
	}
	switch mode & syscall.S_IFMT {
	case syscall.S_IFIFO, syscall.S_IFSOCK, syscall.S_IFCHR, syscall.S_IFBLK:
	default:
		return nil, syscall.EPERM // a regular file by mknod: not through here
	}
	domain, dir := n.where()
	if _, err := n.m.fs.Lookup(ctx, domain, dir, seg); err == nil {
		return nil, syscall.EEXIST
	} else if !errors.Is(err, vfs.ErrNotFound) {
		return nil, n.m.errno("mknod", err)
	}
	uid, gid := callerOwner(ctx)
	st, err := n.m.fs.Mknod(ctx, domain, vfs.ChildKey(dir, seg), mode&(syscall.S_IFMT|0o7777), uint64(dev), uid, gid)
	if err != nil {
		return nil, n.m.errno("mknod", err)
	}
	ch := n.newChild(ctx, &node{m: n.m, role: roleEntry, seg: seg, st: st, stAt: time.Now()})
	ch.Operations().(*node).fillEntry(out)
	return ch, 0
}

var _ = (fs.NodeLinker)((*node)(nil))

// Link refuses hard links: a key has one name.
// Link gives a file another name (a hard link) in any directory of its
// domain: a mogfs_attr row naming the file's key (see vfs.FS.Link), so the
// names share the content, attributes and inode number.
func (n *node) Link(ctx context.Context, target fs.InodeEmbedder, name string, out *fuse.EntryOut) (_ *fs.Inode, errno syscall.Errno) {
	defer n.m.observe("link", time.Now(), &errno)
	ctx = uninterrupted(ctx)
	seg, errno := n.entryCheck(name)
	if errno != 0 {
		return nil, errno
	}
	tn, ok := target.(*node)
	if !ok || tn.role != roleEntry || tn.isDir() {
		return nil, syscall.EPERM
	}
	// A file written here and not stored yet gets its key first.
	if errno := tn.flush(ctx); errno != 0 {
		return nil, errno
	}
	tdomain, tkey := tn.fileKey()
	domain, dir := n.where()
	if domain != tdomain {
		return nil, syscall.EXDEV
	}
	var a fuse.Attr
	tn.fillAttr(&a)
	st, err := n.m.fs.Link(ctx, domain, tkey, vfs.ChildKey(dir, seg), vfs.Attr{Mode: a.Mode, UID: a.Uid, GID: a.Gid})
	if err != nil {
		return nil, n.m.errno("link", err)
	}
	tn.mu.Lock()
	tn.st.Nlink, tn.st.Key = st.Nlink, st.Key
	if !tn.st.HasAttr {
		tn.st.Attr, tn.st.HasAttr = st.Attr, st.HasAttr
	}
	tn.mu.Unlock()
	ch := n.newChild(ctx, &node{m: n.m, role: roleEntry, seg: seg, st: st, stAt: time.Now()})
	ch.Operations().(*node).fillEntry(out)
	return ch, 0
}

var _ = (fs.NodeSetattrer)((*node)(nil))

// Setattr handles truncate, chmod, chown and utimes.
func (n *node) Setattr(ctx context.Context, f fs.FileHandle, in *fuse.SetAttrIn, out *fuse.AttrOut) (errno syscall.Errno) {
	defer n.m.observe("setattr", time.Now(), &errno)
	ctx = uninterrupted(ctx)
	if n.role != roleEntry || n.IsRoot() {
		n.fillAttr(&out.Attr)
		return 0
	}
	if n.m.opt.ReadOnly {
		return syscall.EROFS
	}
	domain, p := n.fileKey() // a directory's prefix, or the key holding a file
	if size, ok := in.GetSize(); ok {
		if n.isDir() {
			return syscall.EISDIR
		}
		if errno := n.truncate(ctx, int64(size)); errno != 0 {
			return errno
		}
	}
	var ch vfs.AttrChange
	n.mu.Lock()
	st := n.st
	n.mu.Unlock()
	a := st.Attr
	if m, ok := in.GetMode(); ok {
		mode := modeType(st) | m&0o7777
		ch.Mode, a.Mode = &mode, mode
	}
	if u, ok := in.GetUID(); ok {
		ch.UID, a.UID = &u, u
	}
	if g, ok := in.GetGID(); ok {
		ch.GID, a.GID = &g, g
	}
	if mt, ok := in.GetMTime(); ok {
		ch.MTime, a.MTime = &mt, mt
		n.mu.Lock()
		if n.sess != nil {
			n.sess.SetMTime(mt)
		}
		n.mu.Unlock()
	}
	if at, ok := in.GetATime(); ok {
		ch.ATime, a.ATime = &at, at
	}
	if ch != (vfs.AttrChange{}) {
		now := time.Now()
		ch.CTime, a.CTime = &now, now
		if !st.HasAttr {
			// The first attribute row records the owner the entry
			// showed so far (the mount's), not root.
			if ch.UID == nil {
				u := n.m.uid
				ch.UID, a.UID = &u, u
			}
			if ch.GID == nil {
				g := n.m.gid
				ch.GID, a.GID = &g, g
			}
		}
		path := p
		if n.isDir() {
			isDir := true
			ch.IsDir = &isDir
			path = vfs.AttrPath(p)
			if ch.Mode == nil && a.Mode == 0 {
				// An implicit directory gets its first attribute row: give it
				// the mode it showed so far.
				mode := uint32(syscall.S_IFDIR | 0o755)
				ch.Mode, a.Mode = &mode, mode
			}
		}
		n.mu.Lock()
		// While the file has unstored changes, and its upload will write
		// the whole attribute row anyway, the change rides on that upload
		// (tar -x sets owner, mode and times between write and close):
		// it becomes durable with the content, at close(2), as the
		// content does.
		deferred := !n.isDir() && n.sess != nil && n.sess.Dirty() && !n.unlinked &&
			(n.newFile || (n.st.HasAttr && n.st.Attr.Mode != 0))
		if deferred {
			n.st.Attr, n.st.HasAttr = a, true
		}
		n.mu.Unlock()
		if !deferred {
			if err := n.m.fs.SetAttr(ctx, domain, path, ch); err != nil {
				return n.m.errno("setattr", err)
			}
			n.mu.Lock()
			n.st.Attr, n.st.HasAttr = a, true
			n.mu.Unlock()
		}
	}
	n.fillAttr(&out.Attr)
	out.SetTimeout(n.m.opt.AttrTimeout)
	return 0
}

// truncate sets the file's length through its session, storing at once
// when no handle is open for writing (truncate(1) on a path).
func (n *node) truncate(ctx context.Context, size int64) syscall.Errno {
	if errno := n.acquire(ctx, size == 0); errno != 0 {
		return errno
	}
	n.mu.Lock()
	sess := n.sess
	n.mu.Unlock()
	err := sess.Truncate(ctx, size)
	rerr := n.release(ctx)
	if err != nil {
		return n.m.errno("truncate", err)
	}
	return rerr
}
