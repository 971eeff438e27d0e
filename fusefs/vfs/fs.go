package vfs

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"mogfs/cache"
	"mogfs/client"
	"mogfs/metrics"
	"mogfs/protocol"
)

// Kind is what an entry is.
type Kind int

// Entry kinds.
const (
	KindFile Kind = iota
	KindDir
	KindSymlink
	// KindSpecial is a fifo, socket or device node: a mogfs_attr row with
	// no key, its type in Attr.Mode.
	KindSpecial
)

// Stat is what the mount knows of an entry: the file row and its attributes.
type Stat struct {
	Kind     Kind
	FID      int64
	Length   int64
	Class    string
	DevCount int
	Attr     Attr
	HasAttr  bool
	// Key is the key that holds a file reached by another of its names (a
	// hard link); "" when it is the entry's own path.
	Key string
	// Nlink is a file's number of names; 0 when the tracker did not say
	// (shown as 1).
	Nlink int
}

// Config configures an FS.
type Config struct {
	Client  *client.Client
	Cache   *cache.Cache
	Options Options
	Logger  *slog.Logger
	// Metrics counts uploaded and downloaded bytes; nil counts nothing.
	Metrics *metrics.Mount
}

// FS is the mount's view of the tracker: every POSIX operation as tracker
// commands. It is safe for concurrent use. Its only per-path state is the
// set of mount-local directories made on a tracker without the extension
// (see localDirs); the kernel (attr_timeout/entry_timeout) and the adapter
// cache entries.
type FS struct {
	c       *client.Client
	cache   *cache.Cache
	opt     Options
	log     *slog.Logger
	met     *metrics.Mount // nil-safe
	started time.Time
	noExt   atomic.Bool // the tracker answered unknown_command to an extension
	// noLookup, noUnlink, noLink: the tracker has the extension but not
	// that command (an older mogfs tracker during a rolling upgrade).
	noLookup, noUnlink, noLink atomic.Bool
	caps                       atomic.Int32   // create_close_attrs: capUnknown, capYes or capNo
	noStream                   atomic.Bool    // a node refused a chunked PUT: no more streams
	wb                         *Writeback     // -o writeback queue; nil when off
	pool                       openPool       // create_opens made ahead
	opens                      sync.WaitGroup // create_opens in flight (startOpen)
	fresh                      freshDirs      // directories just made here: their missing names need no lookup
	local                      localDirs      // directories made here without the extension
}

// New returns an FS.
func New(cfg Config) *FS {
	l := cfg.Logger
	if l == nil {
		l = slog.New(slog.DiscardHandler)
	}
	if cfg.Options.CacheDir == "" {
		cfg.Options.CacheDir = filepath.Join(os.TempDir(), "mogfs")
	}
	if cfg.Options.BlockSize <= 0 {
		cfg.Options.BlockSize = 1 << 20
	}
	fs := &FS{c: cfg.Client, cache: cfg.Cache, opt: cfg.Options, log: l, met: cfg.Metrics, started: time.Now()}
	fs.pool = openPool{fs: fs, ready: map[string][]*PreOpen{}, busy: map[string]int{}}
	return fs
}

// Options returns the mount options.
func (fs *FS) Options() Options { return fs.opt }

// Started is when the FS was created: the times of entries without stored
// attributes.
func (fs *FS) Started() time.Time { return fs.started }

// Domains lists the tracker's domains, sorted.
func (fs *FS) Domains(ctx context.Context) ([]string, error) {
	ds, err := fs.c.Domains(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]string, 0, len(ds))
	for _, d := range ds {
		if d.Name != "" {
			out = append(out, d.Name)
		}
	}
	sort.Strings(out)
	return out, nil
}

// Lookup finds segment seg in directory dir (a prefix) of domain, never by
// listing the directory. With the extension it is one mogfs_lookup: one
// round trip, which the tracker answers with at most four indexed point
// queries (the key, its attribute row, and for a miss a probe for keys and
// for explicit directories below dir+seg+"/"). A tracker without
// mogfs_lookup (a stock one, or an older mogfs) gets lookupSplit.
func (fs *FS) Lookup(ctx context.Context, domain, dir, seg string) (Stat, error) {
	if fs.fresh.absent(domain, dir, seg) {
		return Stat{}, ErrNotFound
	}
	if m, ok := fs.wb.Lookup(domain, ChildKey(dir, seg)); ok && m.Attr != nil {
		// Queued by -o writeback and not uploaded yet: only this mount
		// knows the file.
		return m.stat(), nil
	} else if ok {
		st, err := fs.lookup(ctx, domain, dir, seg)
		st.FID, st.Length = m.FID, m.Size
		return st, err
	}
	return fs.lookup(ctx, domain, dir, seg)
}

// lookup is Lookup from the tracker.
func (fs *FS) lookup(ctx context.Context, domain, dir, seg string) (Stat, error) {
	var e client.Entry
	err := fs.optional(&fs.noLookup, func() (err error) {
		e, err = fs.c.Lookup(ctx, domain, dir, seg)
		return err
	})
	switch {
	case err == nil:
		return statOf(e), nil
	case protocol.IsCode(err, "unknown_key"):
		return Stat{}, ErrNotFound
	case errors.Is(err, ErrNotSupported):
		return fs.lookupSplit(ctx, domain, dir, seg)
	}
	return Stat{}, err
}

// lookupSplit is Lookup through the stock commands: file_info and the
// attribute row at once, on two connections (one round trip of waiting),
// then for a miss one list_keys probe of a single key below dir+seg+"/".
func (fs *FS) lookupSplit(ctx context.Context, domain, dir, seg string) (Stat, error) {
	key := ChildKey(dir, seg)
	var a Attr
	var hasAttr bool
	var aerr error
	done := make(chan struct{})
	go func() {
		defer close(done)
		a, hasAttr, aerr = fs.getAttr(ctx, domain, key)
	}()
	fi, err := fs.c.FileInfo(ctx, domain, key)
	<-done
	if aerr != nil {
		return Stat{}, aerr
	}
	if hasAttr && a.IsDir {
		return Stat{Kind: KindDir, Attr: a, HasAttr: true}, nil
	}
	switch {
	case err == nil:
		st := Stat{Kind: KindFile, FID: fi.FID, Length: fi.Length, Class: fi.Class, DevCount: fi.DevCount, Attr: a, HasAttr: hasAttr}
		if hasAttr && a.Mode&syscall.S_IFMT == syscall.S_IFLNK {
			st.Kind = KindSymlink
		}
		return st, nil
	case !protocol.IsCode(err, "unknown_key"):
		return Stat{}, err
	}
	if sub, err := fs.hasChildren(ctx, domain, ChildDir(dir, seg)); err != nil || !sub {
		if err == nil && fs.local.has(domain, ChildDir(dir, seg)) {
			return Stat{Kind: KindDir}, nil
		}
		if err == nil {
			err = ErrNotFound
		}
		return Stat{}, err
	}
	return Stat{Kind: KindDir, Attr: a, HasAttr: hasAttr}, nil
}

// OpenRead re-reads a file's fid and length for an open (close-to-open)
// and its replica paths, so the first read needs no get_paths. known is
// what the caller knows of the file (a lookup or a listing): when
// get_paths answers with paths of that same fid, the known length holds (a
// fid's bytes never change) and the open costs that one request. Otherwise
// file_info and get_paths go at once, on two connections. The stat carries
// no attributes: the caller keeps the ones it has. paths is nil when they
// do not belong to the fid file_info returned (the key was rewritten in
// between). As with every read, a key rewritten through another tracker
// may show its old fid for the tracker's path-cache time (2 s by default).
func (fs *FS) OpenRead(ctx context.Context, domain, key string, known Stat) (Stat, []string, error) {
	if err := fs.settle(ctx, domain, key); err != nil {
		return Stat{}, nil, err
	}
	if known.Kind == KindFile && known.FID > 0 && known.Length >= 0 {
		paths, err := fs.c.GetPaths(ctx, domain, key, true, 0)
		if protocol.IsCode(err, "unknown_key") {
			return Stat{}, nil, ErrNotFound
		}
		if err == nil && allOfFID(paths, known.FID) {
			return Stat{Kind: KindFile, FID: known.FID, Length: known.Length, Class: known.Class, DevCount: known.DevCount}, paths, nil
		}
	}
	var paths []string
	done := make(chan struct{})
	go func() {
		defer close(done)
		paths, _ = fs.c.GetPaths(ctx, domain, key, true, 0)
	}()
	fi, err := fs.c.FileInfo(ctx, domain, key)
	<-done
	if protocol.IsCode(err, "unknown_key") {
		return Stat{}, nil, ErrNotFound
	}
	if err != nil {
		return Stat{}, nil, err
	}
	for _, p := range paths {
		if !pathHasFID(p, fi.FID) {
			paths = nil
			break
		}
	}
	return Stat{Kind: KindFile, FID: fi.FID, Length: fi.Length, Class: fi.Class, DevCount: fi.DevCount}, paths, nil
}

// hasChildren reports whether any key lies under directory prefix dir.
func (fs *FS) hasChildren(ctx context.Context, domain, dir string) (bool, error) {
	keys, _, err := fs.c.ListKeys(ctx, domain, dir, "", 1)
	if err != nil {
		return false, err
	}
	return len(keys) > 0, nil
}

// Entry is one child of a directory as a listing names it: its key
// segment (NameOf gives the file name) and what the listing told of it.
type Entry struct {
	Seg string
	St  Stat
}

// ListPage returns up to about limit children of directory dir after
// cursor `after` ("" for the start), in listing order, with the cursor of
// the next page; done reports the end. With the extension a page is one
// mogfs_list round trip of a few statements on the tracker, whatever the
// directory's size; on a stock tracker it is derived from list_keys (see
// listKeysPage). Mount-local directories are not included (see DirReader).
func (fs *FS) ListPage(ctx context.Context, domain, dir, after string, limit int) ([]Entry, string, bool, error) {
	ents, next, done, err := fs.list(ctx, domain, dir, after, limit)
	if errors.Is(err, ErrNotSupported) {
		return fs.listKeysPage(ctx, domain, dir, after, limit)
	}
	return ents, next, done, err
}

// listKeysPage derives a page of a directory's children from key names,
// for trackers without mogfs_list. The cursor is the listing position (a
// name, or name+"/" for a sub-directory); after a key dir+"name/..." it
// continues after dir+"name/\xff", skipping the rest of that sub-tree with
// one more list_keys (so a stock tracker costs a request per sub-directory:
// it has nothing better).
func (fs *FS) listKeysPage(ctx context.Context, domain, dir, after string, limit int) ([]Entry, string, bool, error) {
	var out []Entry
	cursor := ""
	switch {
	case strings.HasSuffix(after, "/"):
		cursor = dir + after + "\xff"
	case after != "":
		cursor = dir + after
	}
	for len(out) < limit {
		keys, _, err := fs.c.ListKeys(ctx, domain, dir, cursor, 1000)
		if err != nil {
			return nil, "", false, err
		}
		if len(keys) == 0 {
			return out, "", true, nil
		}
		for _, k := range keys {
			rest := strings.TrimPrefix(k, dir)
			if i := strings.IndexByte(rest, '/'); i >= 0 {
				out = append(out, Entry{Seg: rest[:i], St: Stat{Kind: KindDir}})
				cursor = dir + rest[:i] + "/\xff"
				break // re-list after the skipped sub-tree
			}
			out = append(out, Entry{Seg: rest, St: Stat{Kind: KindFile, Length: -1}})
			cursor = k
			if len(out) == limit {
				break
			}
		}
	}
	last := out[len(out)-1]
	next := last.Seg
	if last.St.Kind == KindDir {
		next += "/"
	}
	return out, next, false, nil
}

// isEmpty reports whether directory dir has no child: the first page of
// its listing, one entry long.
func (fs *FS) isEmpty(ctx context.Context, domain, dir string) (bool, error) {
	if err := fs.settleDir(ctx, domain, dir); err != nil {
		return false, err
	}
	if len(fs.local.children(domain, dir)) > 0 {
		return false, nil
	}
	after := ""
	for {
		ents, next, done, err := fs.ListPage(ctx, domain, dir, after, 1)
		if err != nil || len(ents) > 0 {
			return err == nil && len(ents) == 0, err
		}
		if done {
			return true, nil
		}
		after = next // a page of shadowed names only
	}
}

// FileInfo re-reads a file's fid and length (close-to-open) and attributes.
func (fs *FS) FileInfo(ctx context.Context, domain, key string) (Stat, error) {
	if err := fs.settle(ctx, domain, key); err != nil {
		return Stat{}, err
	}
	fi, err := fs.c.FileInfo(ctx, domain, key)
	if protocol.IsCode(err, "unknown_key") {
		return Stat{}, ErrNotFound
	}
	if err != nil {
		return Stat{}, err
	}
	a, ok, err := fs.getAttr(ctx, domain, key)
	if err != nil {
		return Stat{}, err
	}
	return Stat{Kind: KindFile, FID: fi.FID, Length: fi.Length, Class: fi.Class, DevCount: fi.DevCount, Attr: a, HasAttr: ok}, nil
}

// Mkdir records an empty directory (an isdir attribute row). On a tracker
// without the extension the directory is mount-local: kept in memory
// until a key stored under it makes it real, or gone at unmount.
// It returns what a lookup of the new directory will find.
func (fs *FS) Mkdir(ctx context.Context, domain, dir string, mode, uid, gid uint32) (Stat, error) {
	now := time.Now()
	isDir, m := true, mode&07777|syscall.S_IFDIR
	ino := int64(DirIno(domain, AttrPath(dir)))
	err := fs.setAttr(ctx, domain, AttrPath(dir), AttrChange{IsDir: &isDir, Mode: &m, UID: &uid, GID: &gid, MTime: &now, CTime: &now, Ino: &ino})
	if errors.Is(err, ErrNotSupported) {
		fs.local.add(domain, dir)
		// Nothing of mode or owner is kept: show what later lookups will.
		return Stat{Kind: KindDir}, nil
	}
	a := Attr{IsDir: true, Mode: m, UID: uid, GID: gid, MTime: now, CTime: now, Ino: ino}
	if err == nil {
		fs.fresh.made(domain, dir, fs.opt.EntryTimeout)
	}
	return Stat{Kind: KindDir, Attr: a, HasAttr: true}, err
}

// Rmdir removes an empty directory. A one-entry listing answers for both
// kinds of children: keys under dir and explicit sub-directories.
func (fs *FS) Rmdir(ctx context.Context, domain, dir string) error {
	if err := fs.settleDir(ctx, domain, dir); err != nil {
		return err
	}
	if empty, err := fs.isEmpty(ctx, domain, dir); err != nil {
		return err
	} else if !empty {
		return ErrNotEmpty
	}
	if err := fs.delAttr(ctx, domain, AttrPath(dir)); err != nil {
		return err
	}
	fs.fresh.forget(domain, dir)
	fs.local.remove(domain, dir)
	return nil
}

// Unlink deletes a key and its attributes, both at once on two
// connections: one round trip of waiting.
func (fs *FS) Unlink(ctx context.Context, domain, key string) error {
	if err := fs.settle(ctx, domain, key); err != nil {
		return err
	}
	_, err := fs.UnlinkName(ctx, domain, key)
	return err
}

// UnlinkName removes one name with mogfs_unlink: a key, a hard link or a
// special file. A key with other names keeps its data: the first other
// name becomes the key, which it returns. Without mogfs_unlink it is the
// key's delete and its attributes' at once.
func (fs *FS) UnlinkName(ctx context.Context, domain, key string) (promoted string, err error) {
	if err := fs.settle(ctx, domain, key); err != nil {
		return "", err
	}
	err = fs.optional(&fs.noUnlink, func() (err error) {
		promoted, err = fs.c.Unlink(ctx, domain, key)
		return err
	})
	switch {
	case err == nil:
		return promoted, nil
	case protocol.IsCode(err, "unknown_key"):
		return "", ErrNotFound
	case !errors.Is(err, ErrNotSupported):
		return "", err
	}
	return "", fs.unlinkSplit(ctx, domain, key)
}

// unlinkSplit deletes a key and its attributes, both at once on two
// connections: one round trip of waiting. (A tracker without mogfs_unlink
// has no special files or hard links, which are rows alone.)
func (fs *FS) unlinkSplit(ctx context.Context, domain, key string) error {
	var derr error
	done := make(chan struct{})
	go func() {
		defer close(done)
		derr = fs.delAttr(ctx, domain, key)
	}()
	err := fs.c.Delete(ctx, domain, key)
	<-done
	if err != nil && !protocol.IsCode(err, "unknown_key") {
		return err
	}
	if derr != nil {
		return derr
	}
	if protocol.IsCode(err, "unknown_key") {
		return ErrNotFound
	}
	return nil
}

// Link makes path another name (a hard link) of the file at key target,
// recording a's mode and owner for a file that has no attributes yet. It
// returns the file as the new name shows it. It needs the extension.
func (fs *FS) Link(ctx context.Context, domain, target, path string, a Attr) (Stat, error) {
	fs.fresh.named(domain, path)
	if err := fs.settle(ctx, domain, target, path); err != nil {
		return Stat{}, err
	}
	var e client.Entry
	err := fs.optional(&fs.noLink, func() (err error) {
		e, err = fs.c.Link(ctx, domain, target, path, a)
		return err
	})
	switch {
	case protocol.IsCode(err, "unknown_key"):
		return Stat{}, ErrNotFound
	case protocol.IsCode(err, "key_exists"):
		return Stat{}, ErrExists
	case err != nil:
		return Stat{}, err
	}
	return statOf(e), nil
}

// Mknod makes a special file (fifo, socket, character or block device):
// an attribute row with no key, listed and looked up like a file. Stock
// MogileFS clients do not see it. It needs the extension.
func (fs *FS) Mknod(ctx context.Context, domain, key string, mode uint32, rdev uint64, uid, gid uint32) (Stat, error) {
	if !fs.HasExtension() {
		return Stat{}, ErrNotSupported
	}
	now := time.Now()
	ino := int64(DirIno(domain, key))
	err := fs.setAttr(ctx, domain, key, AttrChange{Mode: &mode, UID: &uid, GID: &gid, MTime: &now, CTime: &now, Ino: &ino, Rdev: &rdev})
	a := Attr{Mode: mode, UID: uid, GID: gid, MTime: now, CTime: now, Ino: ino, Rdev: rdev}
	return Stat{Kind: KindSpecial, Attr: a, HasAttr: true}, err
}

// RenameSpecial renames a name that is a mogfs_attr row alone (a special
// file or a hard link) from from to to, replacing what to was.
func (fs *FS) RenameSpecial(ctx context.Context, domain, from, to string) error {
	fs.fresh.named(domain, to)
	if err := fs.settle(ctx, domain, from, to); err != nil {
		return err
	}
	if err := fs.Unlink(ctx, domain, to); err != nil && !errors.Is(err, ErrNotFound) {
		return err
	}
	existed, err := fs.renameAttrs(ctx, domain, from, to)
	if err != nil {
		return err
	}
	if !existed {
		return ErrNotFound
	}
	return nil
}

// RenameFile renames key from to key to, replacing an existing to.
func (fs *FS) RenameFile(ctx context.Context, domain, from, to string) error {
	fs.fresh.named(domain, to)
	if err := fs.settle(ctx, domain, from, to); err != nil {
		return err
	}
	err := fs.c.Rename(ctx, domain, from, to)
	if protocol.IsCode(err, "key_exists") {
		// The name replaced goes as an unlink would take it: a file with
		// other names keeps its data.
		if err := fs.Unlink(ctx, domain, to); err != nil && !errors.Is(err, ErrNotFound) {
			return err
		}
		err = fs.c.Rename(ctx, domain, from, to)
	}
	if protocol.IsCode(err, "unknown_key") {
		// No key: a hard link's or a special file's name, a row alone.
		return fs.RenameSpecial(ctx, domain, from, to)
	}
	if err != nil {
		return err
	}
	if err := fs.delAttr(ctx, domain, to); err != nil {
		return err
	}
	if _, err := fs.renameAttrs(ctx, domain, from, to); err != nil && !errors.Is(err, ErrNotSupported) {
		return err
	}
	return nil
}

// RenameDir renames every key under directory prefix from to prefix to, then
// the attribute rows. The target must not exist or be empty. ino is the
// directory's inode number, recorded at the new path so that it stays the
// same (a directory known only by its keys has none recorded).
func (fs *FS) RenameDir(ctx context.Context, domain, from, to string, ino uint64) error {
	fs.fresh.named(domain, to)
	fs.fresh.forget(domain, from)
	if err := fs.settleDir(ctx, domain, from, to); err != nil {
		return err
	}
	if strings.HasPrefix(to, from) {
		return fmt.Errorf("%w: directory into itself", syscall.EINVAL)
	}
	if empty, err := fs.isEmpty(ctx, domain, to); err != nil {
		return err
	} else if !empty {
		return ErrNotEmpty
	}
	if err := fs.delAttr(ctx, domain, AttrPath(to)); err != nil {
		return err
	}
	subdirs := map[string]bool{} // below from, known by their keys
	for {
		// Renamed keys leave the prefix, so always list from the start.
		keys, _, err := fs.c.ListKeys(ctx, domain, from, "", 1000)
		if err != nil {
			return err
		}
		if len(keys) == 0 {
			break
		}
		for _, k := range keys {
			rel := strings.TrimPrefix(k, from)
			for i := range len(rel) {
				if rel[i] == '/' {
					subdirs[rel[:i]] = true
				}
			}
			if err := fs.c.Rename(ctx, domain, k, to+strings.TrimPrefix(k, from)); err != nil && !protocol.IsCode(err, "unknown_key") {
				return err
			}
		}
	}
	fs.local.rename(domain, from, to)
	_, err := fs.renameAttrs(ctx, domain, AttrPath(from), AttrPath(to))
	if errors.Is(err, ErrNotSupported) {
		return nil
	}
	if err != nil {
		return err
	}
	// Inode numbers stay: the directory's own, and those of the
	// directories below it that had none recorded (their number was the
	// hash of the old path), now recorded at the new paths.
	isDir := true
	if ino != 0 {
		n := int64(ino)
		if err := fs.setAttr(ctx, domain, AttrPath(to), AttrChange{IsDir: &isDir, Ino: &n}); err != nil {
			return err
		}
	}
	for sub := range subdirs {
		n := int64(DirIno(domain, from+sub))
		if err := fs.setAttr(ctx, domain, to+sub, AttrChange{IsDir: &isDir, InoDefault: &n}); err != nil {
			return err
		}
	}
	return nil
}

// DirIno is the inode number of a directory that has none recorded (one
// known only by the keys below it, or made before inode numbers were
// recorded): a hash of the domain and path with bit 62 set, so it never
// meets a fid (fids count up from 1), and positive as a signed 64-bit
// number.
func DirIno(domain, path string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(domain))
	h.Write([]byte{0})
	h.Write([]byte(path))
	return h.Sum64()&(1<<62-1) | 1<<62
}

// InoOf is the inode number of the entry at path (a key, or a directory's
// AttrPath) of domain with stat st: the number recorded with its
// attributes (the mount records one for everything it makes: a file's
// first fid, a directory's DirIno), else a file's fid, which a rename
// keeps, else DirIno.
func InoOf(domain, path string, st Stat) uint64 {
	switch {
	case st.HasAttr && st.Attr.Ino > 0:
		return uint64(st.Attr.Ino)
	case st.Kind != KindDir && st.FID > 0:
		return uint64(st.FID)
	}
	return DirIno(domain, path)
}

// Symlink creates key as a symbolic link to target: an empty key (so it is
// listed) whose attributes carry the type and target.
func (fs *FS) Symlink(ctx context.Context, domain, key, target string, uid, gid uint32) (Stat, error) {
	if !fs.HasExtension() {
		return Stat{}, ErrNotSupported
	}
	fid, err := fs.Store(domain, key)(ctx, strings.NewReader(""), 0)
	if err != nil {
		return Stat{}, err
	}
	now := time.Now()
	mode := uint32(syscall.S_IFLNK | 0o777)
	a := Attr{Mode: mode, UID: uid, GID: gid, MTime: now, CTime: now, Target: target, Ino: fid}
	err = fs.setAttr(ctx, domain, key, AttrChange{Mode: &mode, UID: &uid, GID: &gid, MTime: &now, CTime: &now, Target: &target, Ino: &fid})
	return Stat{Kind: KindSymlink, FID: fid, Attr: a, HasAttr: true}, err
}

// SetAttr persists attribute changes of a file (key) or directory (AttrPath).
func (fs *FS) SetAttr(ctx context.Context, domain, path string, ch AttrChange) error {
	if fs.wb.Amend(domain, path, ch) {
		return nil
	}
	if err := fs.settle(ctx, domain, path); err != nil {
		return err
	}
	return fs.setAttr(ctx, domain, path, ch)
}

// Store returns the StoreFunc that uploads new content of key with the
// mount's class. no_devices becomes ErrNoSpace.
func (fs *FS) Store(domain, key string) StoreFunc {
	fs.fresh.named(domain, key)
	return func(ctx context.Context, r io.ReaderAt, size int64) (int64, error) {
		fid, err := fs.c.StoreReaderAt(ctx, domain, key, fs.opt.Class, r, size)
		if protocol.IsCode(err, "no_devices") {
			return 0, fmt.Errorf("%w: %v", ErrNoSpace, err)
		}
		if err == nil {
			fs.met.AddUpload(size)
		}
		return fid, err
	}
}

// Load returns the LoadFunc that downloads key's current content.
func (fs *FS) Load(domain, key string) LoadFunc {
	return func(ctx context.Context, w io.Writer) error {
		n, err := fs.c.Fetch(ctx, domain, key, w)
		fs.met.AddDownload(n)
		return err
	}
}

// Statfs returns total and used bytes over all devices that are not dead.
func (fs *FS) Statfs(ctx context.Context) (total, used uint64, err error) {
	devs, err := fs.c.Devices(ctx)
	if err != nil {
		return 0, 0, err
	}
	for _, d := range devs {
		if d.Status == "dead" {
			continue
		}
		total += uint64(max(d.MBTotal, 0)) << 20
		used += uint64(max(d.MBUsed, 0)) << 20
	}
	return total, used, nil
}

// Writeback is the -o writeback queue, nil when the mount has none.
func (fs *FS) Writeback() *Writeback { return fs.wb }

// OpenQueued opens the content of key queued by -o writeback, if any (see
// Writeback.Open).
func (fs *FS) OpenQueued(domain, key string) (*os.File, int64, bool) {
	return fs.wb.Open(domain, key)
}

// settle waits until keys have no upload queued by -o writeback, so that
// what the tracker says of them is their newest content.
func (fs *FS) settle(ctx context.Context, domain string, keys ...string) error {
	for _, k := range keys {
		if err := fs.wb.Wait(ctx, domain, k); err != nil {
			return err
		}
	}
	return nil
}

// settleDir is settle for every key below directory prefixes dirs.
func (fs *FS) settleDir(ctx context.Context, domain string, dirs ...string) error {
	for _, d := range dirs {
		if err := fs.wb.WaitPrefix(ctx, domain, d); err != nil {
			return err
		}
	}
	return nil
}
