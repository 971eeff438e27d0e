package fusefs

import (
	"container/list"
	"context"
	"os"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"

	"mogfs/fusefs/vfs"
)

// Lock order: node.mu of a parent before node.mu of a child; node.mu before
// a vfs.Session's own lock; inodeLRU.mu before node.mu (touch is never
// called with a node.mu held). No tracker round trip happens with a node.mu
// held except a session's upload, which must exclude writes anyway.

// role says what a node stands for.
type role int

const (
	roleEntry      role = iota // a file, directory or symlink inside a domain
	roleDomainList             // the root without -o domain=: lists domains
	roleDomain                 // a domain directory under roleDomainList
)

// node is every inode of the mount.
type node struct {
	fs.Inode
	m    *mount
	role role

	mu       sync.Mutex   // guards the fields below
	seg      string       // this entry's key segment (domain name for roleDomain)
	st       vfs.Stat     // last known stat
	stAt     time.Time    // when st was read from the tracker
	sess     *vfs.Session // open write session, nil when none
	pre      *vfs.PreOpen // early create_open for the next upload, nil when none
	sessRefs int          // handles using sess
	newFile  bool         // created here and never stored: persist mode/owner on upload
	unlinked bool         // removed while open: never upload again

	lru *list.Element // this node in m.lru; guarded by m.lru.mu, not mu
	// cachedFID is the fid whose bytes the kernel's page cache may hold
	// for this file (the fid at the last open for reading); 0 for none.
	cachedFID int64
}

var _ = (fs.NodeLookuper)((*node)(nil))

// Lookup finds a child by name.
func (n *node) Lookup(ctx context.Context, name string, out *fuse.EntryOut) (_ *fs.Inode, errno syscall.Errno) {
	defer n.m.observe("lookup", time.Now(), &errno)
	// A lookup answered EINTR fails the caller's stat(2) or open(2) (the
	// kernel does not restart them), and most programs do not retry: it
	// runs to its end instead. A fatal signal still ends the wait (the
	// kernel abandons the request).
	ctx = uninterrupted(ctx)
	if n.role == roleDomainList {
		doms, err := n.m.domains(ctx)
		if err != nil {
			return nil, n.m.errno("lookup", err)
		}
		for _, d := range doms {
			if d == name {
				ch := n.child(ctx, name, roleDomain, vfs.Stat{Kind: vfs.KindDir}, time.Now())
				ch.Operations().(*node).fillEntry(out)
				return ch, 0
			}
		}
		return nil, syscall.ENOENT
	}
	if ch := n.pendingChild(name); ch != nil {
		ch.Operations().(*node).fillEntry(out)
		return ch, 0
	}
	domain, dir := n.where()
	seg, err := n.m.fs.ResolveName(ctx, domain, dir, name)
	if err != nil {
		return nil, n.m.errno("lookup", err)
	}
	at := time.Now()
	st, err := n.m.fs.Lookup(ctx, domain, dir, seg)
	if err != nil {
		return nil, n.m.errno("lookup", err)
	}
	return n.entry(ctx, name, seg, st, at, out), 0
}

// entry returns the child inode for name (segment seg) with stat st, read
// at time at, and fills out for the kernel.
func (n *node) entry(ctx context.Context, name, seg string, st vfs.Stat, at time.Time, out *fuse.EntryOut) *fs.Inode {
	ch := n.child(ctx, name, roleEntry, st, at)
	cn := ch.Operations().(*node)
	cn.mu.Lock()
	cn.seg = seg
	cn.mu.Unlock()
	cn.fillEntry(out)
	return ch
}

// child returns the existing child inode called name, refreshed with st
// (read from the tracker at time at) unless the inode knows better, or a new
// one. Reusing the inode keeps an open write session visible to lookups of
// the same path and keeps inode numbers stable.
func (n *node) child(ctx context.Context, name string, r role, st vfs.Stat, at time.Time) *fs.Inode {
	seg := name
	if r == roleEntry {
		seg, _ = vfs.SegmentOf(name)
	}
	ino, path := n.identity(seg, r, st)
	if st.Nlink > 1 && st.Key == "" {
		// A file with several names, looked up by the name that is its
		// key: say so, as the node may be reached through the others.
		st.Key = path
	}
	if ch := n.GetChild(name); ch != nil {
		// The same type and inode number: the same entry (a key
		// overwritten by a stock client, with no number recorded, is a
		// new file, as a replaced file is).
		if cn, ok := ch.Operations().(*node); ok && ch.StableAttr().Mode == modeType(st) && ch.StableAttr().Ino == ino {
			cn.mu.Lock()
			if cn.sess == nil && st.Length >= 0 && at.After(cn.stAt) {
				cn.setStat(st, st.Key, at)
			}
			cn.mu.Unlock()
			n.m.lru.touch(cn)
			return ch
		}
	}
	return n.newInode(ctx, &node{m: n.m, role: r, seg: seg, st: st, stAt: at}, ino)
}

// identity is the inode number of child seg of n (role r, stat st; see
// vfs.InoOf; a domain directory's is the hash of its name) and the child's
// path in its domain, found with one walk up the tree.
func (n *node) identity(seg string, r role, st vfs.Stat) (ino uint64, path string) {
	if r == roleDomain {
		return vfs.DirIno(seg, ""), ""
	}
	domain, dir := n.where()
	path = vfs.ChildKey(dir, seg)
	return vfs.InoOf(domain, path, st), path
}

// newChild makes the inode of a new child node and counts it in the LRU.
func (n *node) newChild(ctx context.Context, cn *node) *fs.Inode {
	ino, _ := n.identity(cn.seg, cn.role, cn.st)
	return n.newInode(ctx, cn, ino)
}

// newInode is newChild for a known inode number.
func (n *node) newInode(ctx context.Context, cn *node, ino uint64) *fs.Inode {
	mode := modeType(cn.st)
	if cn.role != roleEntry {
		mode = syscall.S_IFDIR
	}
	ch := n.NewInode(ctx, cn, fs.StableAttr{Mode: mode, Ino: ino})
	if ops, ok := ch.Operations().(*node); ok {
		n.m.lru.touch(ops) // the inode that is used: an existing one may win a race
	}
	return ch
}

// modeType is the S_IFMT bits of an entry: from its kind, or for a special
// file from its recorded mode.
func modeType(st vfs.Stat) uint32 {
	switch st.Kind {
	case vfs.KindDir:
		return syscall.S_IFDIR
	case vfs.KindSymlink:
		return syscall.S_IFLNK
	case vfs.KindSpecial:
		return st.Attr.Mode & syscall.S_IFMT
	}
	return syscall.S_IFREG
}

// setStat records st, read at time at from the entry at key (its own path
// or the key holding it). A file's names and holding key are kept when st
// does not say (file_info knows nothing of hard links), and a file with
// several names looked up by its key records that key. Called with n.mu
// held.
func (n *node) setStat(st vfs.Stat, key string, at time.Time) {
	if st.Nlink == 0 {
		st.Nlink, st.Key = n.st.Nlink, n.st.Key
	}
	if st.Nlink > 1 && st.Key == "" {
		st.Key = key
	}
	n.st, n.stAt = st, at
}

// fileKey is where for a file, except that a file with several names (hard
// links) is stored under one key, which the lookup that made the node named
// (vfs.Stat.Key): uploads, opens and attribute changes go there.
func (n *node) fileKey() (domain, key string) {
	domain, key = n.where()
	n.mu.Lock()
	if n.st.Key != "" {
		key = n.st.Key
	}
	n.mu.Unlock()
	return domain, key
}

// where returns the node's domain and its key (file) or prefix (directory),
// walking up the tree so renames of ancestors are always reflected.
func (n *node) where() (domain, p string) {
	var segs []string
	cur := &n.Inode
	for {
		cn, ok := cur.Operations().(*node)
		if !ok || cn.role == roleDomainList {
			break
		}
		cn.mu.Lock()
		seg, r := cn.seg, cn.role
		cn.mu.Unlock()
		if r == roleDomain {
			domain = seg
			break
		}
		if cur.IsRoot() {
			break
		}
		segs = append(segs, seg)
		_, parent := cur.Parent()
		if parent == nil {
			break
		}
		cur = parent
	}
	if n.m.opt.Domain != "" {
		domain = n.m.opt.Domain
	}
	for i := len(segs) - 1; i >= 0; i-- {
		p += segs[i]
		if i > 0 || n.isDir() {
			p += "/"
		}
	}
	return domain, p
}

func (n *node) isDir() bool {
	return n.role != roleEntry || n.StableAttr().Mode == syscall.S_IFDIR
}

var _ = (fs.NodeGetattrer)((*node)(nil))

// Getattr reports the attributes, from the open session when there is one,
// re-reading the tracker when the cached stat is older than attr_timeout.
func (n *node) Getattr(ctx context.Context, f fs.FileHandle, out *fuse.AttrOut) (errno syscall.Errno) {
	defer n.m.observe("getattr", time.Now(), &errno)
	ctx = uninterrupted(ctx) // as Lookup
	n.mu.Lock()
	// Refresh after attr_timeout, and at once for a file whose size is not
	// known yet (named by a stock tracker's list_keys).
	// An unlinked file (still open) has no key to ask about: what is
	// known stays, with nlink 0.
	stale := n.role == roleEntry && n.sess == nil && !n.IsRoot() && !n.unlinked &&
		(time.Since(n.stAt) > n.m.opt.AttrTimeout || n.st.Kind == vfs.KindFile && n.st.Length < 0)
	n.mu.Unlock()
	if stale {
		if _, parent := n.Parent(); parent != nil {
			if pn, ok := parent.Operations().(*node); ok && pn.role != roleDomainList {
				domain, dir := pn.where()
				n.mu.Lock()
				seg := n.seg
				if k := n.st.Key; k != "" {
					// A file with several names: ask by the key that
					// holds it (the name this node came with may be gone).
					i := strings.LastIndexByte(k, '/') + 1
					dir, seg = k[:i], k[i:]
				}
				n.mu.Unlock()
				st, err := n.m.fs.Lookup(ctx, domain, dir, seg)
				if err != nil {
					return n.m.errno("getattr", err)
				}
				n.mu.Lock()
				n.setStat(st, vfs.ChildKey(dir, seg), time.Now())
				n.mu.Unlock()
			}
		}
	}
	n.fillAttr(&out.Attr)
	out.SetTimeout(n.m.opt.AttrTimeout)
	return 0
}

func (n *node) fillEntry(out *fuse.EntryOut) {
	n.fillAttr(&out.Attr)
	out.SetEntryTimeout(n.m.opt.EntryTimeout)
	out.SetAttrTimeout(n.m.opt.AttrTimeout)
}

func (n *node) fillAttr(a *fuse.Attr) {
	n.mu.Lock()
	defer n.mu.Unlock()
	st := n.st
	if n.role != roleEntry {
		st.Kind = vfs.KindDir
	}
	kind := st.Kind
	perm := uint32(0o644)
	switch kind {
	case vfs.KindDir:
		perm = 0o755
	case vfs.KindSymlink:
		perm = 0o777
	}
	if st.HasAttr && st.Attr.Mode&0o7777 != 0 {
		perm = st.Attr.Mode & 0o7777
	}
	a.Mode = modeType(st) | perm
	a.Uid, a.Gid = n.m.uid, n.m.gid
	if st.HasAttr {
		a.Uid, a.Gid = st.Attr.UID, st.Attr.GID
	}
	mtime := n.m.fs.Started()
	if st.HasAttr && !st.Attr.MTime.IsZero() {
		mtime = st.Attr.MTime
	}
	ctime := mtime
	if st.HasAttr && !st.Attr.CTime.IsZero() {
		ctime = st.Attr.CTime
	}
	size := max(st.Length, 0)
	if n.sess != nil {
		size, mtime = n.sess.Size(), n.sess.MTime()
	}
	switch kind {
	case vfs.KindDir:
		// The number of sub-directories is not kept (counting them would
		// cost a listing): 1, which tools such as find read as "unknown"
		// (btrfs and others do the same), rather than a 2 that would
		// claim there are none.
		size, a.Nlink = 4096, 1
	case vfs.KindSymlink:
		size, a.Nlink = int64(len(st.Attr.Target)), 1
	case vfs.KindSpecial:
		size, a.Nlink, a.Rdev = 0, 1, uint32(st.Attr.Rdev)
	default:
		a.Nlink = uint32(max(st.Nlink, 1))
		if n.unlinked {
			a.Nlink = 0 // removed or replaced while open
		}
	}
	a.Size = uint64(size)
	a.Blocks = (a.Size + 511) / 512
	a.Blksize = uint32(n.m.opt.BlockSize)
	a.SetTimes(&mtime, &mtime, &ctime)
}

var _ = (fs.NodeOpendirHandler)((*node)(nil))

// OpendirHandle opens a directory stream that pages through the tracker
// (see dirHandle).
func (n *node) OpendirHandle(ctx context.Context, flags uint32) (fs.FileHandle, uint32, syscall.Errno) {
	if n.role == roleDomainList {
		doms, err := n.m.domains(ctx)
		if err != nil {
			return nil, 0, n.m.errno("opendir", err)
		}
		return &domainsHandle{n: n, doms: doms}, 0, 0
	}
	domain, dir := n.where()
	return &dirHandle{n: n, r: n.m.fs.OpenDir(domain, dir, n.pendingChildren())}, 0, 0
}

// pendingChildren are the files created in this directory that are not
// stored yet: the tracker cannot list them, this mount does.
func (n *node) pendingChildren() []vfs.Entry {
	var out []vfs.Entry
	for _, ch := range n.Children() {
		cn, ok := ch.Operations().(*node)
		if !ok {
			continue
		}
		cn.mu.Lock()
		if cn.newFile && !cn.unlinked {
			out = append(out, vfs.Entry{Seg: cn.seg, St: cn.st})
		}
		cn.mu.Unlock()
	}
	return out
}

// pendingChild returns the child called name when it is a file created
// here and not stored yet, which the tracker does not know.
func (n *node) pendingChild(name string) *fs.Inode {
	ch := n.GetChild(name)
	if ch == nil {
		return nil
	}
	cn, ok := ch.Operations().(*node)
	if !ok {
		return nil
	}
	cn.mu.Lock()
	defer cn.mu.Unlock()
	if cn.newFile && !cn.unlinked {
		return ch
	}
	return nil
}

var _ = (fs.NodeStatfser)((*node)(nil))

// Statfs reports the cluster's capacity from get_devices.
func (n *node) Statfs(ctx context.Context, out *fuse.StatfsOut) (errno syscall.Errno) {
	defer n.m.observe("statfs", time.Now(), &errno)
	ctx = uninterrupted(ctx) // its syscall is not restarted after EINTR
	total, used, err := n.m.fs.Statfs(ctx)
	if err != nil {
		return n.m.errno("statfs", err)
	}
	const bs = 4096
	out.Bsize, out.Frsize, out.NameLen = bs, bs, vfs.MaxName
	out.Blocks = total / bs
	free := uint64(0)
	if total > used {
		free = (total - used) / bs
	}
	out.Bfree, out.Bavail = free, free
	out.Files, out.Ffree = 1<<40, 1<<40
	return 0
}

var _ = (fs.NodeReadlinker)((*node)(nil))

// Readlink returns a symlink's target.
func (n *node) Readlink(ctx context.Context) (_ []byte, errno syscall.Errno) {
	defer n.m.observe("readlink", time.Now(), &errno)
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.st.Kind != vfs.KindSymlink {
		return nil, syscall.EINVAL
	}
	return []byte(n.st.Attr.Target), 0
}

// callerOwner returns the uid/gid of the process making the request.
func callerOwner(ctx context.Context) (uint32, uint32) {
	if c, ok := fuse.FromContext(ctx); ok {
		return c.Uid, c.Gid
	}
	return uint32(os.Getuid()), uint32(os.Getgid())
}
