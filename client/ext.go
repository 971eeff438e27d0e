package client

import (
	"context"
	"fmt"
	"strconv"

	"mogfs/protocol"
)

// The mogfs extension commands (mogfs_list, mogfs_getattr, mogfs_setattr,
// mogfs_delattr, mogfs_renameattrs, stats). Stock MogileFS trackers answer
// them with unknown_command.

// The extension's values and their codec are package protocol's.
type (
	Attr       = protocol.Attr
	AttrChange = protocol.AttrChange
	Entry      = protocol.Entry
)

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
	// An empty page with nowhere to go on is the last, "done" or not.
	done = r["done"] == "1" || len(entries) == 0 && r["next_after"] == ""
	return entries, r["next_after"], done, err
}

func parseList(r map[string]string) ([]Entry, error) {
	n := count(r, "count")
	out := make([]Entry, 0, n)
	for i := 1; i <= n; i++ {
		e, err := protocol.DecodeEntry(r, "e"+strconv.Itoa(i)+"_")
		if err != nil {
			return nil, fmt.Errorf("%w: mogfs_list entry %d: %w", ErrBadReply, i, err)
		}
		out = append(out, e)
	}
	return out, nil
}

// Lookup returns the entry name in directory prefix (mogfs_lookup): what
// List would give for it, in one round trip; an unknown_key
// *protocol.Error when there is none.
func (c *Client) Lookup(ctx context.Context, domain, prefix, name string) (Entry, error) {
	r, err := c.Do(ctx, "mogfs_lookup", map[string]string{"domain": domain, "dir": prefix, "name": name})
	if err != nil {
		return Entry{}, fmt.Errorf("mogfs_lookup %s%s: %w", prefix, name, err)
	}
	e, err := protocol.DecodeEntry(r, "")
	if err != nil {
		return Entry{}, fmt.Errorf("%w: mogfs_lookup %s%s: %w", ErrBadReply, prefix, name, err)
	}
	return e, nil
}

// GetAttr returns path's attributes; an unknown_key *protocol.Error when it
// has none.
func (c *Client) GetAttr(ctx context.Context, domain, path string) (Attr, error) {
	r, err := c.Do(ctx, "mogfs_getattr", map[string]string{"domain": domain, "path": path})
	if err != nil {
		return Attr{}, fmt.Errorf("mogfs_getattr %s: %w", path, err)
	}
	var a Attr
	if _, err := protocol.DecodeAttr(func(k string) (string, bool) { v, ok := r[k]; return v, ok }, "", &a); err != nil {
		return Attr{}, fmt.Errorf("%w: mogfs_getattr %s: %w", ErrBadReply, path, err)
	}
	return a, nil
}

// SetAttr stores a as path's attributes (an upsert). Zero times are not
// sent, so the tracker keeps the stored ones.
func (c *Client) SetAttr(ctx context.Context, domain, path string, a Attr) error {
	ch := AttrChange{IsDir: &a.IsDir, Mode: &a.Mode, UID: &a.UID, GID: &a.GID, Target: &a.Target}
	if !a.MTime.IsZero() {
		ch.MTime = &a.MTime
	}
	if !a.CTime.IsZero() {
		ch.CTime = &a.CTime
	}
	if !a.ATime.IsZero() {
		ch.ATime = &a.ATime
	}
	return c.ChangeAttr(ctx, domain, path, ch)
}

// ChangeAttr sets the attribute fields ch names, keeping the others (or,
// for a path without attributes, leaving them zero).
func (c *Client) ChangeAttr(ctx context.Context, domain, path string, ch AttrChange) error {
	args := map[string]string{"domain": domain, "path": path}
	ch.Encode(args)
	return c.run(ctx, "mogfs_setattr", path, args)
}

// DeleteAttr removes path's attributes; absent ones are not an error.
func (c *Client) DeleteAttr(ctx context.Context, domain, path string) error {
	return c.run(ctx, "mogfs_delattr", path, map[string]string{"domain": domain, "path": path})
}

// RenameAttrs moves the attributes of from and of everything under from/ to
// to; existed reports whether from itself had attributes.
func (c *Client) RenameAttrs(ctx context.Context, domain, from, to string) (existed bool, err error) {
	r, err := c.Do(ctx, "mogfs_renameattrs", map[string]string{"domain": domain, "from": from, "to": to})
	if err != nil {
		return false, fmt.Errorf("mogfs_renameattrs %s: %w", from, err)
	}
	return r["existed"] == "1", nil
}

// Unlink removes one name (mogfs_unlink): a key, a hard link or a special
// file. A key with other names keeps its data: the first other name
// becomes the key, which it returns as promoted.
func (c *Client) Unlink(ctx context.Context, domain, path string) (promoted string, err error) {
	r, err := c.Do(ctx, "mogfs_unlink", map[string]string{"domain": domain, "path": path})
	if err != nil {
		return "", fmt.Errorf("mogfs_unlink %s: %w", path, err)
	}
	return r["promoted"], nil
}

// Link makes path another name (a hard link) of the file at key target
// (mogfs_link), recording a's mode and owner for a file that has no
// attributes yet, and returns the new name's entry.
func (c *Client) Link(ctx context.Context, domain, target, path string, a Attr) (Entry, error) {
	r, err := c.Do(ctx, "mogfs_link", map[string]string{"domain": domain, "target": target, "path": path,
		"mode": strconv.FormatUint(uint64(a.Mode), 8), "uid": strconv.FormatUint(uint64(a.UID), 10),
		"gid": strconv.FormatUint(uint64(a.GID), 10)})
	if err != nil {
		return Entry{}, fmt.Errorf("mogfs_link %s: %w", path, err)
	}
	e, err := protocol.DecodeEntry(r, "")
	if err != nil {
		return Entry{}, fmt.Errorf("%w: mogfs_link %s: %w", ErrBadReply, path, err)
	}
	return e, nil
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
