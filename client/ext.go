package client

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"mogfs/protocol"
)

// The mogfs extension commands (mogfs_list, mogfs_getattr, mogfs_setattr,
// mogfs_delattr, mogfs_renameattrs, stats). Stock MogileFS trackers answer
// them with unknown_command.

// Attr is the POSIX metadata mogfs keeps beside a key or directory prefix.
type Attr struct {
	IsDir               bool
	Mode                uint32 // with file type bits, e.g. 0100644
	UID, GID            uint32
	MTime, CTime, ATime time.Time
	Target              string // symlink target
	Ino                 int64  // inode number the mount shows (0: none recorded)
}

// Entry is one child of a directory listed by List.
type Entry struct {
	Name     string // without the directory prefix
	Type     string // "file", "dir" or "symlink"
	FID      int64
	Length   int64
	Class    string
	DevCount int
	Attr     *Attr // nil when the entry has no attribute row
}

// List returns the direct children of directory prefix (""
// for the root, else ending in "/") sorted by name, strictly after name
// after, at most limit (<= 0: tracker default 1000). next is the after value
// for the next page and done reports the last page.
func (c *Client) List(ctx context.Context, domain, prefix, after string, limit int) (entries []Entry, next string, done bool, err error) {
	args := map[string]string{"domain": domain, "prefix": prefix, "after": after}
	if limit > 0 {
		args["limit"] = strconv.Itoa(limit)
	}
	r, err := c.Do(ctx, "mogfs_list", args)
	if err != nil {
		return nil, "", false, fmt.Errorf("mogfs_list %s: %w", prefix, err)
	}
	entries, err = parseList(r)
	return entries, r["next_after"], r["done"] == "1", err
}

func parseList(r map[string]string) ([]Entry, error) {
	n := count(r, "count")
	out := make([]Entry, 0, n)
	for i := 1; i <= n; i++ {
		p := "e" + strconv.Itoa(i) + "_"
		e := Entry{
			Name: r[p+"name"], Type: r[p+"type"], FID: atoi64(r[p+"fid"]), Length: atoi64(r[p+"length"]),
			Class: r[p+"class"], DevCount: atoi(r[p+"devcount"]),
		}
		if r[p+"mode"] != "" {
			a, err := parseAttr(func(k string) string { return r[p+k] })
			if err != nil {
				return nil, fmt.Errorf("%w: mogfs_list entry %d: %w", ErrBadReply, i, err)
			}
			a.IsDir = e.Type == "dir"
			e.Attr = &a
		}
		out = append(out, e)
	}
	return out, nil
}

// GetAttr returns path's attributes; an unknown_key *protocol.Error when it
// has none.
func (c *Client) GetAttr(ctx context.Context, domain, path string) (Attr, error) {
	r, err := c.Do(ctx, "mogfs_getattr", map[string]string{"domain": domain, "path": path})
	if err != nil {
		return Attr{}, fmt.Errorf("mogfs_getattr %s: %w", path, err)
	}
	a, err := parseAttr(func(k string) string { return r[k] })
	if err != nil {
		return Attr{}, fmt.Errorf("%w: mogfs_getattr %s: %w", ErrBadReply, path, err)
	}
	a.IsDir = r["isdir"] == "1"
	return a, nil
}

// SetAttr stores a as path's attributes (an upsert). Zero times are not
// sent, so the tracker keeps the stored ones.
func (c *Client) SetAttr(ctx context.Context, domain, path string, a Attr) error {
	args := map[string]string{
		"domain": domain, "path": path, "isdir": boolArg(a.IsDir),
		"mode": strconv.FormatUint(uint64(a.Mode), 8),
		"uid":  strconv.FormatUint(uint64(a.UID), 10), "gid": strconv.FormatUint(uint64(a.GID), 10),
		"target": a.Target,
	}
	for k, t := range map[string]time.Time{"mtime": a.MTime, "ctime": a.CTime, "atime": a.ATime} {
		if !t.IsZero() {
			args[k] = FormatTime(t)
		}
	}
	return c.run(ctx, "mogfs_setattr", path, args)
}

// DeleteAttr removes path's attributes; absent ones are not an error.
func (c *Client) DeleteAttr(ctx context.Context, domain, path string) error {
	return c.run(ctx, "mogfs_delattr", path, map[string]string{"domain": domain, "path": path})
}

// RenameAttrs moves the attributes of from and of everything under from/ to
// to.
func (c *Client) RenameAttrs(ctx context.Context, domain, from, to string) error {
	return c.run(ctx, "mogfs_renameattrs", from, map[string]string{"domain": domain, "from": from, "to": to})
}

// Stats returns the tracker's counters (the mogfs stats extension: queue
// depths, job outcomes, file count). MogileFS 2.x removed stats, so a stock
// tracker answers unknown_command.
func (c *Client) Stats(ctx context.Context) (map[string]string, error) {
	r, err := c.Do(ctx, "stats", nil)
	if err != nil {
		return nil, fmt.Errorf("stats: %w", err)
	}
	return r, nil
}

// Caps asks the tracker which mogfs extensions it has (mogfs_caps): a map
// such as {"create_close_attrs": "1", "list": "1", "attrs": "1"}. A stock
// MogileFS tracker, or a mogfs tracker older than the command, answers
// unknown_command; Caps returns that as an empty map and no error, so callers
// test only for the capability they want.
func (c *Client) Caps(ctx context.Context) (map[string]string, error) {
	r, err := c.Do(ctx, "mogfs_caps", nil)
	if protocol.IsCode(err, "unknown_command") {
		return map[string]string{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("mogfs_caps: %w", err)
	}
	return r, nil
}

func parseAttr(get func(string) string) (Attr, error) {
	var a Attr
	mode, err := strconv.ParseUint(get("mode"), 8, 32)
	if err != nil {
		return a, fmt.Errorf("mode %q: %w", get("mode"), err)
	}
	a.Mode = uint32(mode)
	a.UID = uint32(atoi64(get("uid")))
	a.GID = uint32(atoi64(get("gid")))
	a.Target = get("target")
	for _, f := range []struct {
		k string
		t *time.Time
	}{{"mtime", &a.MTime}, {"ctime", &a.CTime}, {"atime", &a.ATime}} {
		if *f.t, err = ParseTime(get(f.k)); err != nil {
			return a, err
		}
	}
	return a, nil
}

// FormatTime renders t as unix seconds with a nanosecond fraction when it
// has one ("1700000000" or "1700000000.123456789"), the extension's time
// format.
func FormatTime(t time.Time) string {
	s, ns := t.Unix(), t.Nanosecond()
	if ns == 0 {
		return strconv.FormatInt(s, 10)
	}
	return strconv.FormatInt(s, 10) + "." + strings.TrimRight(fmt.Sprintf("%09d", ns), "0")
}

// ParseTime parses FormatTime's output (any number of fraction digits, the
// first nine count). Empty is the zero time.
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
		if len(frac) > 9 {
			frac = frac[:9]
		}
		for _, ch := range frac {
			if ch < '0' || ch > '9' {
				return time.Time{}, fmt.Errorf("time %q: bad fraction", s)
			}
		}
		ns, _ = strconv.ParseInt(frac+strings.Repeat("0", 9-len(frac)), 10, 64)
	}
	if n < 0 && ns > 0 {
		return time.Time{}, fmt.Errorf("time %q: negative with fraction", s)
	}
	return time.Unix(n, ns), nil
}
