package vfs

import (
	"context"
	"errors"
	"sync/atomic"
	"syscall"

	"mogfs/client"
	"mogfs/protocol"
)

// This file reaches the mogfs tracker extension (contracts.md) through
// the client's extension methods, and sees a stock tracker's
// unknown_command in one place.

// Attr is a path's stored attributes (a mogfs_attr row); AttrChange the
// fields a setattr changes (nil fields are left alone).
type (
	Attr       = protocol.Attr
	AttrChange = protocol.AttrChange
)

// extension runs one extension call, turning unknown_command (a stock
// MogileFS tracker) into ErrNotSupported and remembering it, so later
// calls fail fast and callers use their fallbacks.
func (fs *FS) extension(cmd string, call func() error) error {
	if fs.noExt.Load() {
		return ErrNotSupported
	}
	err := call()
	if protocol.IsCode(err, "unknown_command") {
		fs.noExt.Store(true)
		fs.log.Warn("tracker lacks the mogfs extension: directories, modes, times and symlinks are not persisted", "command", cmd)
		return ErrNotSupported
	}
	return err
}

// optional runs an extension command that a tracker with the extension may
// still lack (an older mogfs tracker): its unknown_command is remembered in
// missing and is ErrNotSupported, without giving up the extension.
func (fs *FS) optional(missing *atomic.Bool, call func() error) error {
	if fs.noExt.Load() || missing.Load() {
		return ErrNotSupported
	}
	err := call()
	if protocol.IsCode(err, "unknown_command") {
		missing.Store(true)
		return ErrNotSupported
	}
	return err
}

// HasExtension reports whether the tracker answered extension commands so far.
func (fs *FS) HasExtension() bool { return !fs.noExt.Load() }

func (fs *FS) getAttr(ctx context.Context, domain, path string) (Attr, bool, error) {
	var a Attr
	err := fs.extension("mogfs_getattr", func() (err error) {
		a, err = fs.c.GetAttr(ctx, domain, path)
		return err
	})
	if protocol.IsCode(err, "unknown_key") || errors.Is(err, ErrNotSupported) {
		return Attr{}, false, nil
	}
	if err != nil {
		return Attr{}, false, err
	}
	return dirFromMode(a), true, nil
}

func (fs *FS) setAttr(ctx context.Context, domain, path string, ch AttrChange) error {
	fs.fresh.named(domain, path)
	return fs.extension("mogfs_setattr", func() error { return fs.c.ChangeAttr(ctx, domain, path, ch) })
}

func (fs *FS) delAttr(ctx context.Context, domain, path string) error {
	err := fs.extension("mogfs_delattr", func() error { return fs.c.DeleteAttr(ctx, domain, path) })
	if errors.Is(err, ErrNotSupported) {
		return nil // nothing was stored
	}
	return err
}

// renameAttrs moves the attributes of from and everything under from/.
func (fs *FS) renameAttrs(ctx context.Context, domain, from, to string) (existed bool, err error) {
	err = fs.extension("mogfs_renameattrs", func() (err error) {
		existed, err = fs.c.RenameAttrs(ctx, domain, from, to)
		return err
	})
	return existed, err
}

func (fs *FS) list(ctx context.Context, domain, prefix, after string, limit int) ([]Entry, string, bool, error) {
	var ents []client.Entry
	var next string
	var done bool
	err := fs.extension("mogfs_list", func() (err error) {
		ents, next, done, err = fs.c.List(ctx, domain, prefix, after, limit)
		return err
	})
	if err != nil {
		return nil, "", false, err
	}
	out := make([]Entry, len(ents))
	for i, e := range ents {
		out[i] = Entry{Seg: e.Name, St: statOf(e)}
	}
	return out, next, done, nil
}

// statOf is what the mount shows of a mogfs_list or mogfs_lookup entry.
func statOf(e client.Entry) Stat {
	st := Stat{Kind: KindFile, FID: e.FID, Length: e.Length, Class: e.Class, DevCount: e.DevCount, Key: e.Key, Nlink: e.Nlink}
	switch e.Type {
	case "dir":
		st.Kind = KindDir
	case "symlink":
		st.Kind = KindSymlink
	case "fifo", "socket", "char", "block":
		st.Kind = KindSpecial // the type is in the mode
	}
	if e.Attr != nil {
		st.Attr, st.HasAttr = dirFromMode(*e.Attr), true
	}
	return st
}

// dirFromMode marks attributes whose mode is a directory's as a directory's,
// whatever their isdir says.
func dirFromMode(a Attr) Attr {
	a.IsDir = a.IsDir || a.Mode&syscall.S_IFMT == syscall.S_IFDIR
	return a
}
