package protocol

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// The mogfs extension's values (contracts.md): POSIX attributes and
// directory entries, as mogfs_getattr, mogfs_setattr, mogfs_list,
// mogfs_lookup and create_close's attr_* arguments carry them. The tracker
// encodes what the client and the mount decode, and the other way round,
// with these functions only.

// Attr is the POSIX metadata mogfs keeps beside a key or directory prefix
// (a mogfs_attr row).
type Attr struct {
	IsDir               bool
	Mode                uint32 // permission and S_IFMT type bits; 0 = not recorded
	UID, GID            uint32
	MTime, CTime, ATime time.Time // zero = not recorded
	Target              string    // symlink target
	Ino                 int64     // inode number the mount shows; 0 = none recorded
	Rdev                uint64    // a device node's device number
}

// AttrChange lists the attribute fields mogfs_setattr sets; nil fields keep
// their stored value.
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

// Entry is one directory entry of mogfs_list or mogfs_lookup.
type Entry struct {
	Name string // without the directory prefix
	// Type is "file", "dir", "symlink", or for a special file "fifo",
	// "socket", "char" or "block".
	Type string
	// The file row, for a file or a symlink.
	FID, Length int64
	Class       string
	DevCount    int
	Key         string // the key a hard link names ("" otherwise)
	Nlink       int    // the file's names, when it has more than one
	Attr        *Attr  // nil when the entry has no attribute row
}

// FormatTime renders t as the extension's time: unix seconds, with nine
// fraction digits when there is a fraction ("1700000000",
// "1700000000.123456789"); "" for the zero time. Before 1970 the seconds
// are the floor and the fraction is added to them.
func FormatTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	if t.Nanosecond() == 0 {
		return strconv.FormatInt(t.Unix(), 10)
	}
	return fmt.Sprintf("%d.%09d", t.Unix(), t.Nanosecond())
}

// ParseTime parses FormatTime's output, with any number of fraction digits
// (the first nine count); "" is the zero time.
func ParseTime(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	sec, frac, _ := strings.Cut(s, ".")
	n, err := strconv.ParseInt(sec, 10, 64)
	if err != nil {
		return time.Time{}, fmt.Errorf("time %q: %w", s, err)
	}
	var ns int64
	if frac != "" {
		for i := 0; i < len(frac); i++ {
			if frac[i] < '0' || frac[i] > '9' {
				return time.Time{}, fmt.Errorf("time %q: bad fraction", s)
			}
		}
		ns, _ = strconv.ParseInt((frac + "000000000")[:9], 10, 64)
	}
	return time.Unix(n, ns), nil
}

// Encode writes every field of a under prefix ("", "attr_", "e3_").
// Zero times go as "" (not recorded); ino and rdev only when set.
func (a Attr) Encode(prefix string, out map[string]string) {
	out[prefix+"isdir"] = boolArg(a.IsDir)
	out[prefix+"mode"] = strconv.FormatUint(uint64(a.Mode), 8)
	out[prefix+"uid"] = strconv.FormatUint(uint64(a.UID), 10)
	out[prefix+"gid"] = strconv.FormatUint(uint64(a.GID), 10)
	out[prefix+"mtime"] = FormatTime(a.MTime)
	out[prefix+"ctime"] = FormatTime(a.CTime)
	out[prefix+"atime"] = FormatTime(a.ATime)
	out[prefix+"target"] = a.Target
	if a.Ino != 0 {
		out[prefix+"ino"] = strconv.FormatInt(a.Ino, 10)
	}
	if a.Rdev != 0 {
		out[prefix+"rdev"] = strconv.FormatUint(a.Rdev, 10)
	}
}

// Encode writes the fields c sets, as mogfs_setattr's arguments.
func (c AttrChange) Encode(out map[string]string) {
	if c.IsDir != nil {
		out["isdir"] = boolArg(*c.IsDir)
	}
	if c.Mode != nil {
		out["mode"] = strconv.FormatUint(uint64(*c.Mode), 8)
	}
	if c.UID != nil {
		out["uid"] = strconv.FormatUint(uint64(*c.UID), 10)
	}
	if c.GID != nil {
		out["gid"] = strconv.FormatUint(uint64(*c.GID), 10)
	}
	for k, t := range map[string]*time.Time{"mtime": c.MTime, "ctime": c.CTime, "atime": c.ATime} {
		if t != nil {
			out[k] = FormatTime(*t)
		}
	}
	if c.Target != nil {
		out["target"] = *c.Target
	}
	if c.Ino != nil {
		out["ino"] = strconv.FormatInt(*c.Ino, 10)
	}
	if c.InoDefault != nil {
		out["ino_default"] = strconv.FormatInt(*c.InoDefault, 10)
	}
	if c.Rdev != nil {
		out["rdev"] = strconv.FormatUint(*c.Rdev, 10)
	}
}

// DecodeAttr reads the attribute fields present under prefix into a,
// keeping the fields that are absent, and reports whether any was present.
// isdir is Perl truth. A malformed field is an error naming it; the fields
// before it are already set.
func DecodeAttr(get func(string) (string, bool), prefix string, a *Attr) (present bool, err error) {
	field := func(k string) (string, bool) {
		v, ok := get(prefix + k)
		present = present || ok
		return v, ok
	}
	bad := func(k, v string) error { return fmt.Errorf("invalid %s %q", prefix+k, v) }
	if v, ok := field("isdir"); ok {
		a.IsDir = v != "" && v != "0"
	}
	if v, ok := field("mode"); ok {
		n, err := strconv.ParseUint(v, 8, 32)
		if err != nil {
			return present, bad("mode", v)
		}
		a.Mode = uint32(n)
	}
	for _, f := range []struct {
		k string
		p *uint32
	}{{"uid", &a.UID}, {"gid", &a.GID}} {
		if v, ok := field(f.k); ok {
			n, err := strconv.ParseUint(v, 10, 32)
			if err != nil {
				return present, bad(f.k, v)
			}
			*f.p = uint32(n)
		}
	}
	for _, f := range []struct {
		k string
		p *time.Time
	}{{"mtime", &a.MTime}, {"ctime", &a.CTime}, {"atime", &a.ATime}} {
		if v, ok := field(f.k); ok {
			t, err := ParseTime(v)
			if err != nil {
				return present, bad(f.k, v)
			}
			*f.p = t
		}
	}
	if v, ok := field("target"); ok {
		a.Target = v
	}
	if v, ok := field("ino"); ok {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 {
			return present, bad("ino", v)
		}
		a.Ino = n
	}
	if v, ok := field("rdev"); ok {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			return present, bad("rdev", v)
		}
		a.Rdev = n
	}
	return present, nil
}

// Encode writes e under prefix p. Absent fields are left out (a reader
// takes them as empty): most entries of a big listing have no attributes.
func (e Entry) Encode(p string, out map[string]string) {
	out[p+"name"] = e.Name
	out[p+"type"] = e.Type
	if e.Type == "file" || e.Type == "symlink" {
		out[p+"fid"] = strconv.FormatInt(e.FID, 10)
		out[p+"length"] = strconv.FormatInt(e.Length, 10)
		out[p+"class"] = e.Class
		out[p+"devcount"] = strconv.Itoa(e.DevCount)
		if e.Key != "" {
			out[p+"key"] = e.Key
		}
		if e.Nlink > 0 {
			out[p+"nlink"] = strconv.Itoa(e.Nlink)
		}
	}
	if e.Attr != nil {
		e.Attr.Encode(p, out)
	}
}

// DecodeEntry reads the entry under prefix p of a reply. It has attributes
// when its mode is present.
func DecodeEntry(r map[string]string, p string) (Entry, error) {
	e := Entry{Name: r[p+"name"], Type: r[p+"type"], Class: r[p+"class"], Key: r[p+"key"]}
	var err error
	for _, f := range []struct {
		k string
		p *int64
	}{{"fid", &e.FID}, {"length", &e.Length}} {
		if v := r[p+f.k]; v != "" {
			if *f.p, err = strconv.ParseInt(v, 10, 64); err != nil {
				return e, fmt.Errorf("invalid %s %q", p+f.k, v)
			}
		}
	}
	for _, f := range []struct {
		k string
		p *int
	}{{"devcount", &e.DevCount}, {"nlink", &e.Nlink}} {
		if v := r[p+f.k]; v != "" {
			if *f.p, err = strconv.Atoi(v); err != nil {
				return e, fmt.Errorf("invalid %s %q", p+f.k, v)
			}
		}
	}
	if r[p+"mode"] != "" {
		var a Attr
		if _, err := DecodeAttr(func(k string) (string, bool) { v, ok := r[k]; return v, ok }, p, &a); err != nil {
			return e, err
		}
		a.IsDir = a.IsDir || e.Type == "dir"
		e.Attr = &a
	}
	return e, nil
}

func boolArg(b bool) string {
	if b {
		return "1"
	}
	return "0"
}
