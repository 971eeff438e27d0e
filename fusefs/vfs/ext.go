package vfs

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"syscall"
	"time"

	"mogfs/protocol"
)

// This file speaks the mogfs tracker extension (contracts.md) through the
// client's raw Do, so setattr can send only the fields that change (absent
// fields keep their stored value) and a stock tracker's unknown_command is
// seen in one place.

// Attr is a path's stored attributes (a mogfs_attr row).
type Attr struct {
	IsDir    bool
	Mode     uint32 // permission and S_IFMT type bits; 0 = not recorded
	UID, GID uint32
	HasOwner bool // uid/gid were recorded
	MTime    time.Time
	CTime    time.Time
	ATime    time.Time
	Target   string // symlink target
	Ino      int64  // inode number recorded for the entry; 0 = none
	Rdev     uint64 // a device node's device number
}

// AttrChange lists the attribute fields to set; nil fields are left alone.
type AttrChange struct {
	IsDir               *bool
	Mode                *uint32
	UID, GID            *uint32
	MTime, CTime, ATime *time.Time
	Target              *string
	Ino                 *int64
	InoDefault          *int64 // the inode number if none is recorded yet
	Rdev                *uint64
}

// extension runs an extension command, turning unknown_command (a stock
// MogileFS tracker) into ErrNotSupported and remembering it, so later
// calls fail fast and callers use their fallbacks.
func (fs *FS) extension(ctx context.Context, cmd string, args map[string]string) (map[string]string, error) {
	if fs.noExt.Load() {
		return nil, ErrNotSupported
	}
	r, err := fs.c.Do(ctx, cmd, args)
	if protocol.IsCode(err, "unknown_command") {
		fs.noExt.Store(true)
		fs.log.Warn("tracker lacks the mogfs extension: directories, modes, times and symlinks are not persisted", "command", cmd)
		return nil, ErrNotSupported
	}
	return r, err
}

// HasExtension reports whether the tracker answered extension commands so far.
func (fs *FS) HasExtension() bool { return !fs.noExt.Load() }

func (fs *FS) getAttr(ctx context.Context, domain, path string) (Attr, bool, error) {
	r, err := fs.extension(ctx, "mogfs_getattr", map[string]string{"domain": domain, "path": path})
	if protocol.IsCode(err, "unknown_key") || errors.Is(err, ErrNotSupported) {
		return Attr{}, false, nil
	}
	if err != nil {
		return Attr{}, false, err
	}
	return parseAttr(r, ""), true, nil
}

func (fs *FS) setAttr(ctx context.Context, domain, path string, ch AttrChange) error {
	fs.fresh.named(domain, path)
	args := map[string]string{"domain": domain, "path": path}
	if ch.IsDir != nil {
		args["isdir"] = boolArg(*ch.IsDir)
	}
	if ch.Mode != nil {
		args["mode"] = strconv.FormatUint(uint64(*ch.Mode), 8)
	}
	if ch.UID != nil {
		args["uid"] = strconv.FormatUint(uint64(*ch.UID), 10)
	}
	if ch.GID != nil {
		args["gid"] = strconv.FormatUint(uint64(*ch.GID), 10)
	}
	for k, t := range map[string]*time.Time{"mtime": ch.MTime, "ctime": ch.CTime, "atime": ch.ATime} {
		if t != nil {
			args[k] = formatTime(*t)
		}
	}
	if ch.Target != nil {
		args["target"] = *ch.Target
	}
	if ch.Ino != nil {
		args["ino"] = strconv.FormatInt(*ch.Ino, 10)
	}
	if ch.Rdev != nil {
		args["rdev"] = strconv.FormatUint(*ch.Rdev, 10)
	}
	if ch.InoDefault != nil {
		args["ino_default"] = strconv.FormatInt(*ch.InoDefault, 10)
	}
	_, err := fs.extension(ctx, "mogfs_setattr", args)
	return err
}

func (fs *FS) delAttr(ctx context.Context, domain, path string) error {
	_, err := fs.extension(ctx, "mogfs_delattr", map[string]string{"domain": domain, "path": path})
	if errors.Is(err, ErrNotSupported) {
		return nil // nothing was stored
	}
	return err
}

func (fs *FS) list(ctx context.Context, domain, prefix, after string, limit int) ([]Entry, string, bool, error) {
	args := map[string]string{"domain": domain, "prefix": prefix, "limit": strconv.Itoa(limit)}
	if after != "" {
		args["after"] = after
	}
	r, err := fs.extension(ctx, "mogfs_list", args)
	if err != nil {
		return nil, "", false, err
	}
	n, _ := strconv.Atoi(r["count"])
	out := make([]Entry, 0, n)
	for i := 1; i <= n; i++ {
		p := "e" + strconv.Itoa(i) + "_"
		out = append(out, Entry{Seg: r[p+"name"], St: parseEntry(r, p)})
	}
	done := r["done"] == "1" || n == 0 && r["next_after"] == ""
	return out, r["next_after"], done, nil
}

// parseEntry reads one mogfs_list or mogfs_lookup entry: type, the file
// row and, when recorded, the attributes.
func parseEntry(r map[string]string, p string) Stat {
	st := Stat{Kind: KindFile}
	switch r[p+"type"] {
	case "dir":
		st.Kind = KindDir
	case "symlink":
		st.Kind = KindSymlink
	case "fifo", "socket", "char", "block":
		st.Kind = KindSpecial // the type is in the mode
	}
	st.FID, _ = strconv.ParseInt(r[p+"fid"], 10, 64)
	st.Length, _ = strconv.ParseInt(r[p+"length"], 10, 64)
	st.Class = r[p+"class"]
	st.DevCount, _ = strconv.Atoi(r[p+"devcount"])
	st.Key = r[p+"key"]
	st.Nlink, _ = strconv.Atoi(r[p+"nlink"])
	if r[p+"mode"] != "" {
		st.Attr, st.HasAttr = parseAttr(r, p), true
	}
	return st
}

func parseAttr(r map[string]string, p string) Attr {
	var a Attr
	a.IsDir = r[p+"isdir"] == "1"
	if m, err := strconv.ParseUint(r[p+"mode"], 8, 32); err == nil {
		a.Mode = uint32(m)
		if a.Mode&syscall.S_IFMT == syscall.S_IFDIR {
			a.IsDir = true
		}
	}
	u, err1 := strconv.ParseUint(r[p+"uid"], 10, 32)
	g, err2 := strconv.ParseUint(r[p+"gid"], 10, 32)
	a.UID, a.GID, a.HasOwner = uint32(u), uint32(g), err1 == nil && err2 == nil
	a.MTime = parseTime(r[p+"mtime"])
	a.CTime = parseTime(r[p+"ctime"])
	a.ATime = parseTime(r[p+"atime"])
	a.Target = r[p+"target"]
	a.Ino, _ = strconv.ParseInt(r[p+"ino"], 10, 64)
	a.Rdev, _ = strconv.ParseUint(r[p+"rdev"], 10, 64)
	return a
}

// parseTime parses unix seconds with an optional fraction; "" or garbage is
// the zero time ("not recorded").
func parseTime(s string) time.Time {
	if s == "" {
		return time.Time{}
	}
	sec, frac, _ := strings.Cut(s, ".")
	n, err := strconv.ParseInt(sec, 10, 64)
	if err != nil {
		return time.Time{}
	}
	var ns int64
	if frac != "" {
		frac = (frac + "000000000")[:9]
		if ns, err = strconv.ParseInt(frac, 10, 64); err != nil {
			return time.Time{}
		}
	}
	return time.Unix(n, ns)
}

func formatTime(t time.Time) string {
	if t.Nanosecond() == 0 {
		return strconv.FormatInt(t.Unix(), 10)
	}
	return fmt.Sprintf("%d.%09d", t.Unix(), t.Nanosecond())
}

func boolArg(b bool) string {
	if b {
		return "1"
	}
	return "0"
}
