package client

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"mogfs/protocol"
)

// Dest is one upload destination offered by create_open.
type Dest struct {
	DevID int
	Path  string // http://ip:port/devN/... URL to PUT to
}

// OpenResult is create_open's answer: the new fid and its destinations, best
// first.
type OpenResult struct {
	FID   int64
	Dests []Dest
}

// CreateOpen asks for a new fid and up to three destinations for key in
// domain. An empty class means the domain's default class. size is the
// expected length (trackers skip devices without room for it), or < 0 when
// unknown.
func (c *Client) CreateOpen(ctx context.Context, domain, key, class string, size int64) (OpenResult, error) {
	args := map[string]string{"domain": domain, "key": key, "class": class, "fid": "0", "multi_dest": "1"}
	if size >= 0 {
		args["size"] = strconv.FormatInt(size, 10)
	}
	r, err := c.Do(ctx, "create_open", args)
	if err != nil {
		return OpenResult{}, fmt.Errorf("create_open %s: %w", key, err)
	}
	return parseCreateOpen(r)
}

// parseCreateOpen reads both reply shapes: multi_dest (dev_count, devid_i,
// path_i) and single (devid, path).
func parseCreateOpen(r map[string]string) (OpenResult, error) {
	fid, err := need(r, "create_open", "fid")
	if err != nil {
		return OpenResult{}, err
	}
	res := OpenResult{FID: atoi64(fid)}
	if _, ok := r["dev_count"]; ok {
		for i := 1; i <= count(r, "dev_count"); i++ {
			p := r["path_"+strconv.Itoa(i)]
			if p == "" {
				continue
			}
			res.Dests = append(res.Dests, Dest{DevID: atoi(r["devid_"+strconv.Itoa(i)]), Path: p})
		}
	} else if p := r["path"]; p != "" {
		res.Dests = append(res.Dests, Dest{DevID: atoi(r["devid"]), Path: p})
	}
	if res.FID <= 0 || len(res.Dests) == 0 {
		return res, fmt.Errorf("%w: create_open gave fid %q and %d destinations", ErrBadReply, fid, len(res.Dests))
	}
	return res, nil
}

// CreateClose commits an upload of fid written to d. size is the number of
// bytes written (the tracker checks it against the stored file); checksum is
// "MD5:<hex>", "SHA-1:<hex>" or "" for none.
func (c *Client) CreateClose(ctx context.Context, domain, key string, fid int64, d Dest, size int64, checksum string) error {
	return c.createClose(ctx, domain, key, fid, d, size, checksum, nil)
}

// createClose is CreateClose with the optional attribute extension.
func (c *Client) createClose(ctx context.Context, domain, key string, fid int64, d Dest, size int64, checksum string, a *Attr) error {
	args := map[string]string{
		"domain": domain, "key": key, "fid": strconv.FormatInt(fid, 10),
		"devid": strconv.Itoa(d.DevID), "path": d.Path, "size": strconv.FormatInt(size, 10),
	}
	if checksum != "" {
		args["checksum"] = checksum
	}
	if a != nil {
		a.Encode("attr_", args)
	}
	err := c.run(ctx, "create_close", key, args)
	if protocol.IsCode(err, "no_temp_file") {
		// The temp row is gone: a tracker that died before its reply may
		// have committed this very close (Do then resent it elsewhere).
		// If the key now holds our fid, the file is stored.
		if fi, ferr := c.FileInfo(ctx, domain, key); ferr == nil && fi.FID == fid {
			return nil
		}
	}
	return err
}

// GetPaths returns URLs of key's replicas, in the tracker's order. noverify
// skips the tracker's HEAD check of the first path; pathcount <= 0 means the
// tracker's default (2).
func (c *Client) GetPaths(ctx context.Context, domain, key string, noverify bool, pathcount int) ([]string, error) {
	args := map[string]string{"domain": domain, "key": key, "noverify": boolArg(noverify)}
	if pathcount > 0 {
		args["pathcount"] = strconv.Itoa(pathcount)
	}
	r, err := c.Do(ctx, "get_paths", args)
	if err != nil {
		return nil, fmt.Errorf("get_paths %s: %w", key, err)
	}
	return parsePaths(r), nil
}

func parsePaths(r map[string]string) []string {
	n := count(r, "paths")
	out := make([]string, 0, n)
	for i := 1; i <= n; i++ {
		if p := r["path"+strconv.Itoa(i)]; p != "" {
			out = append(out, p)
		}
	}
	return out
}

// FileInfo is file_info's answer.
type FileInfo struct {
	FID      int64
	Domain   string
	Key      string
	Class    string
	Length   int64
	DevCount int
	DevIDs   []int
	// Checksum is "ALG:hex", "MISSING", or "" when the class keeps none.
	Checksum string
}

// FileInfo returns key's metadata, including the devices holding it.
func (c *Client) FileInfo(ctx context.Context, domain, key string) (FileInfo, error) {
	r, err := c.Do(ctx, "file_info", map[string]string{"domain": domain, "key": key, "devices": "1"})
	if err != nil {
		return FileInfo{}, fmt.Errorf("file_info %s: %w", key, err)
	}
	return parseFileInfo(r), nil
}

func parseFileInfo(r map[string]string) FileInfo {
	fi := FileInfo{
		FID: atoi64(r["fid"]), Domain: r["domain"], Key: r["key"], Class: r["class"],
		Length: atoi64(r["length"]), DevCount: atoi(r["devcount"]), Checksum: r["checksum"],
	}
	for d := range strings.SplitSeq(r["devids"], ",") {
		if d = strings.TrimSpace(d); d != "" {
			fi.DevIDs = append(fi.DevIDs, atoi(d))
		}
	}
	return fi
}

// FileDebug returns file_debug's answer as it is: for fid when fid > 0
// (domain is then only passed along), else for key in domain. It holds
// the file row as fid_* fields (none when there is no row), tempfile_* and
// the queue rows (replqueue_*, delqueue_*, rebqueue_*, fsckqueue_*), a
// devpath_<devid> URL per recorded copy, devids, and checksum ("NONE" when
// none is stored).
func (c *Client) FileDebug(ctx context.Context, domain, key string, fid int64) (map[string]string, error) {
	args := map[string]string{"domain": domain}
	subject := key
	if fid > 0 {
		subject = "fid " + strconv.FormatInt(fid, 10)
		args["fid"] = strconv.FormatInt(fid, 10)
	} else {
		args["key"] = key
	}
	r, err := c.Do(ctx, "file_debug", args)
	if err != nil {
		return nil, fmt.Errorf("file_debug %s: %w", subject, err)
	}
	return r, nil
}

// Delete removes key. A key that does not exist is an unknown_key
// *protocol.Error (the Perl client hides it; callers that want that test
// protocol.IsCode(err, "unknown_key")).
func (c *Client) Delete(ctx context.Context, domain, key string) error {
	return c.run(ctx, "delete", key, map[string]string{"domain": domain, "key": key})
}

// Rename gives the file at from the key to. It never overwrites: an existing
// to is a key_exists error.
func (c *Client) Rename(ctx context.Context, domain, from, to string) error {
	return c.run(ctx, "rename", from, map[string]string{"domain": domain, "from_key": from, "to_key": to})
}

// UpdateClass moves key to class (the updateclass command); replication then
// follows the new class's policy.
func (c *Client) UpdateClass(ctx context.Context, domain, key, class string) error {
	return c.run(ctx, "updateclass", key, map[string]string{"domain": domain, "key": key, "class": class})
}

// ListKeys returns up to limit keys (tracker caps at 1000; <= 0 means 1000)
// starting with prefix and sorting after after, and the key to pass as after
// for the next page. No more keys is nil, "", nil (the tracker's none_match).
func (c *Client) ListKeys(ctx context.Context, domain, prefix, after string, limit int) (keys []string, next string, err error) {
	if limit <= 0 {
		limit = 1000
	}
	r, err := c.Do(ctx, "list_keys", map[string]string{
		"domain": domain, "prefix": prefix, "after": after, "limit": strconv.Itoa(limit),
	})
	if protocol.IsCode(err, "none_match") {
		return nil, "", nil
	}
	if err != nil {
		return nil, "", fmt.Errorf("list_keys %s: %w", prefix, err)
	}
	n := count(r, "key_count")
	keys = make([]string, 0, n)
	for i := 1; i <= n; i++ {
		if k, ok := r["key_"+strconv.Itoa(i)]; ok {
			keys = append(keys, k)
		}
	}
	return keys, r["next_after"], nil
}

// FIDInfo is one file of list_fids.
type FIDInfo struct {
	FID           int64
	Domain, Class string
	Key           string
	Length        int64
	DevCount      int
}

// ListFIDs returns up to limit files with fids above from, by fid
// (list_fids).
func (c *Client) ListFIDs(ctx context.Context, from int64, limit int) ([]FIDInfo, error) {
	r, err := c.Do(ctx, "list_fids", map[string]string{"from": strconv.FormatInt(from, 10), "to": strconv.Itoa(limit)})
	if err != nil {
		return nil, fmt.Errorf("list_fids: %w", err)
	}
	n := count(r, "fid_count")
	out := make([]FIDInfo, 0, n)
	for i := 1; i <= n; i++ {
		p := "fid_" + strconv.Itoa(i) + "_"
		out = append(out, FIDInfo{FID: atoi64(r[p+"fid"]), Domain: r[p+"domain"], Class: r[p+"class"], Key: r[p+"key"],
			Length: atoi64(r[p+"length"]), DevCount: atoi(r[p+"devcount"])})
	}
	return out, nil
}
