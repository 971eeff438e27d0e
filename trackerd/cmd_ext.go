package trackerd

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"mogfs/protocol"
	"mogfs/trackerd/meta"
)

// The mogfs extension commands (contracts.md): POSIX attributes for the
// mount, and a delimiter-style directory listing. Stock clients never send
// them.

// formatTime renders unix seconds with a nanosecond fraction when there is
// one; "" for the zero time (not recorded).
func formatTime(tm time.Time) string {
	if tm.IsZero() {
		return ""
	}
	if tm.Nanosecond() == 0 {
		return strconv.FormatInt(tm.Unix(), 10)
	}
	return fmt.Sprintf("%d.%09d", tm.Unix(), tm.Nanosecond())
}

// parseTime parses "sec[.frac]"; "" is the zero time.
func parseTime(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	secStr, frac, _ := strings.Cut(s, ".")
	sec, err := strconv.ParseInt(secStr, 10, 64)
	if err != nil {
		return time.Time{}, err
	}
	var ns int64
	if frac != "" {
		if len(frac) > 9 {
			frac = frac[:9]
		}
		frac += strings.Repeat("0", 9-len(frac))
		if ns, err = strconv.ParseInt(frac, 10, 64); err != nil {
			return time.Time{}, err
		}
	}
	return time.Unix(sec, ns), nil
}

func attrReply(a meta.Attr, prefix string, out reply) {
	out[prefix+"isdir"] = boolStr(a.IsDir)
	out[prefix+"mode"] = strconv.FormatUint(uint64(a.Mode), 8)
	out[prefix+"uid"] = strconv.FormatUint(uint64(a.UID), 10)
	out[prefix+"gid"] = strconv.FormatUint(uint64(a.GID), 10)
	out[prefix+"mtime"] = formatTime(a.MTime)
	out[prefix+"ctime"] = formatTime(a.CTime)
	out[prefix+"atime"] = formatTime(a.ATime)
	out[prefix+"target"] = a.Target
}

func (t *Tracker) cmdGetAttr(r *request) (reply, error) {
	dom, err := t.checkDomain(r)
	if err != nil {
		return nil, err
	}
	a, err := t.store.GetAttr(r.ctx, dom.ID, r.get("path"))
	switch {
	case isNotFound(err):
		return nil, protocol.Err("unknown_key")
	case err != nil:
		return nil, dbErr("getattr", err)
	}
	out := reply{}
	attrReply(a, "", out)
	return out, nil
}

func (t *Tracker) cmdSetAttr(r *request) (reply, error) {
	dom, err := t.checkDomain(r)
	if err != nil {
		return nil, err
	}
	path := r.get("path")
	a, err := t.store.GetAttr(r.ctx, dom.ID, path)
	if err != nil && !isNotFound(err) {
		return nil, dbErr("getattr", err)
	}
	a.DomainID, a.Path = dom.ID, path
	if _, err := parseAttrArgs(r, "", &a); err != nil {
		return nil, err
	}
	if err := t.store.SetAttr(r.ctx, a); err != nil {
		return nil, dbErr("setattr", err)
	}
	return reply{}, nil
}

// parseAttrArgs reads the attribute arguments prefix+"mode", "uid", "gid",
// "mtime", "ctime", "atime" (and, without a prefix, mogfs_setattr's "isdir"
// and "target") into a, keeping the fields whose argument is absent. It
// reports whether any prefixed argument was present.
func parseAttrArgs(r *request, prefix string, a *meta.Attr) (present bool, err error) {
	bad := func(k string) error { return protocol.Errf("bad_params", "invalid %s %q", k, r.get(k)) }
	if prefix == "" && r.has("isdir") {
		a.IsDir = r.truthy("isdir")
	}
	if r.has(prefix + "mode") {
		present = true
		n, err := strconv.ParseUint(r.get(prefix+"mode"), 8, 32)
		if err != nil {
			return present, bad(prefix + "mode")
		}
		a.Mode = uint32(n)
	}
	for _, f := range []struct {
		k string
		p *uint32
	}{{"uid", &a.UID}, {"gid", &a.GID}} {
		if k := prefix + f.k; r.has(k) {
			present = true
			n, err := strconv.ParseUint(r.get(k), 10, 32)
			if err != nil {
				return present, bad(k)
			}
			*f.p = uint32(n)
		}
	}
	for _, f := range []struct {
		k string
		p *time.Time
	}{{"mtime", &a.MTime}, {"ctime", &a.CTime}, {"atime", &a.ATime}} {
		if k := prefix + f.k; r.has(k) {
			present = true
			tm, err := parseTime(r.get(k))
			if err != nil {
				return present, bad(k)
			}
			*f.p = tm
		}
	}
	if prefix == "" && r.has("target") {
		a.Target = r.get("target")
	}
	return present, nil
}

func (t *Tracker) cmdDelAttr(r *request) (reply, error) {
	dom, err := t.checkDomain(r)
	if err != nil {
		return nil, err
	}
	if err := t.store.DeleteAttr(r.ctx, dom.ID, r.get("path")); err != nil && !isNotFound(err) {
		return nil, dbErr("delattr", err)
	}
	return reply{}, nil
}

func (t *Tracker) cmdRenameAttrs(r *request) (reply, error) {
	dom, err := t.checkDomain(r)
	if err != nil {
		return nil, err
	}
	if r.get("from") == "" || r.get("to") == "" {
		return nil, protocol.Err("bad_params")
	}
	if err := t.store.RenameAttrs(r.ctx, dom.ID, r.get("from"), r.get("to")); err != nil {
		return nil, dbErr("renameattrs", err)
	}
	return reply{}, nil
}

// subtreeEnd is appended to "P<name>/" to seek past a whole sub-tree: the
// largest code point, so it sorts after every valid UTF-8 key below it.
const subtreeEnd = "\U0010FFFF\U0010FFFF\U0010FFFF"

// listEntry is a direct child found by mogfs_list. pos is its place in key
// order: the name for a file, name+"/" for a directory.
type listEntry struct {
	pos   string
	isDir bool
	file  meta.File // the file row, for a file
}

func (e listEntry) name() string { return strings.TrimSuffix(e.pos, "/") }

// cmdList lists the direct children of directory prefix P in key order
// (S3 delimiter style: a directory sorts as "name/"). next_after is an
// opaque cursor to pass back as after: the last entry's name, with a
// trailing "/" when it is a directory, so that paging never repeats or
// skips an entry. A plain name as after works too (it is a file cursor).
func (t *Tracker) cmdList(r *request) (reply, error) {
	dom, err := t.checkDomain(r)
	if err != nil {
		return nil, err
	}
	P, after := r.get("prefix"), r.get("after")
	if P != "" && !strings.HasSuffix(P, "/") {
		P += "/"
	}
	limit := 1000
	if n, ok := r.int64Arg("limit"); ok && n > 0 {
		limit = int(min(n, 10000))
	}
	// With no cursor the scan starts before P itself, so the key equal to
	// the prefix ("a/" in directory "a": an empty name, shown by the mount
	// as ".mogfs%") is listed too; the prefix range still bounds it.
	afterKey := ""
	if after != "" {
		afterKey = P + after
	}
	if strings.HasSuffix(after, "/") {
		afterKey += subtreeEnd
	}
	ctx := r.ctx

	// 1. Keys, skipping each sub-directory's keys with one seek.
	var ents []listEntry
	seen := map[string]bool{}
	cursor := afterKey
	keysDone := false
	batch := min(limit+1, 1000)
	for len(ents) <= limit && !keysDone {
		files, err := t.store.ListFiles(ctx, dom.ID, P, cursor, batch)
		if err != nil {
			return nil, dbErr("list keys", err)
		}
		if len(files) < batch {
			keysDone = true
		}
		for _, f := range files {
			k := f.Key
			rest := k[len(P):]
			if i := strings.IndexByte(rest, '/'); i >= 0 {
				pos := rest[:i+1]
				if !seen[pos] {
					seen[pos] = true
					ents = append(ents, listEntry{pos: pos, isDir: true})
				}
				cursor = P + pos + subtreeEnd
				keysDone = false
				break // seek past the sub-tree
			}
			if !seen[rest] {
				seen[rest] = true
				ents = append(ents, listEntry{pos: rest, file: f})
			}
			cursor = k
			if len(ents) > limit {
				break
			}
		}
	}
	// 2. Explicit directories (mkdir'ed, maybe empty) up to the last
	// position found above, or all remaining when the keys ran out.
	bound := ""
	if !keysDone && len(ents) > 0 {
		bound = P + ents[len(ents)-1].pos
	}
	dcursor := P + predecessor(strings.TrimSuffix(after, "/"))
	if after == "" {
		dcursor = ""
	}
	extra := 0
	for extra <= limit {
		dirs, err := t.store.ListDirs(ctx, dom.ID, P, dcursor, 64)
		if err != nil {
			return nil, dbErr("list dirs", err)
		}
		if len(dirs) == 0 {
			break
		}
		stop := false
		for _, a := range dirs {
			if bound != "" && a.Path > bound {
				stop = true
				break
			}
			rest := a.Path[len(P):]
			name, _, nested := strings.Cut(rest, "/")
			pos := name + "/"
			if name != "" && (after == "" || pos > after) && !seen[pos] {
				seen[pos] = true
				ents = append(ents, listEntry{pos: pos, isDir: true})
				extra++
			}
			dcursor = a.Path
			if nested {
				dcursor = P + pos + subtreeEnd
				break
			}
		}
		if stop {
			break
		}
	}
	sort.Slice(ents, func(i, j int) bool { return ents[i].pos < ents[j].pos })
	done := keysDone && len(ents) <= limit
	if len(ents) > limit {
		ents = ents[:limit]
	}
	// One query for the attributes of the whole page.
	paths := make([]string, len(ents))
	for i, e := range ents {
		paths[i] = P + e.name()
	}
	attrs, err := t.store.GetAttrs(ctx, dom.ID, paths)
	if err != nil {
		return nil, dbErr("getattrs", err)
	}
	out := reply{"count": strconv.Itoa(len(ents)), "done": boolStr(done), "next_after": ""}
	if !done && len(ents) > 0 {
		out["next_after"] = ents[len(ents)-1].pos
	}
	for i, e := range ents {
		p := "e" + strconv.Itoa(i+1) + "_"
		path := P + e.name()
		out[p+"name"] = e.name()
		typ := "dir"
		for _, k := range []string{"fid", "length", "class", "devcount", "mode", "uid", "gid", "mtime", "ctime", "target"} {
			out[p+k] = ""
		}
		if !e.isDir {
			typ = "file"
			f := e.file
			out[p+"fid"] = strconv.FormatInt(f.FID, 10)
			out[p+"length"] = strconv.FormatInt(f.Length, 10)
			out[p+"class"] = dom.byID[f.ClassID].Name
			out[p+"devcount"] = strconv.Itoa(f.DevCount)
		}
		if a, ok := attrs[path]; ok {
			if !e.isDir && a.Mode&0o170000 == 0o120000 {
				typ = "symlink"
			}
			out[p+"mode"] = strconv.FormatUint(uint64(a.Mode), 8)
			out[p+"uid"] = strconv.FormatUint(uint64(a.UID), 10)
			out[p+"gid"] = strconv.FormatUint(uint64(a.GID), 10)
			out[p+"mtime"] = formatTime(a.MTime)
			out[p+"ctime"] = formatTime(a.CTime)
			out[p+"target"] = a.Target
		}
		out[p+"type"] = typ
	}
	return out, nil
}

// predecessor returns a string sorting just before s in byte order, so that
// "after predecessor(s)" includes s itself.
func predecessor(s string) string {
	if s == "" {
		return ""
	}
	b := []byte(s)
	last := len(b) - 1
	if b[last] == 0 {
		return string(b[:last])
	}
	b[last]--
	return string(b) + subtreeEnd
}

// cmdCaps answers mogfs_caps with the extensions this tracker supports, so
// a client can detect them; an original tracker answers unknown_command.
func (t *Tracker) cmdCaps(r *request) (reply, error) {
	return reply{"create_close_attrs": "1", "list": "1", "attrs": "1"}, nil
}

// cmdStats is the mogfs revival of the removed "stats" command: queue
// depths, job outcome counters and the number of files.
func (t *Tracker) cmdStats(r *request) (reply, error) {
	out := reply{}
	for q, name := range map[meta.Queue]string{meta.QueueReplicate: "replicate", meta.QueueDelete: "delete", meta.QueueFSCK: "fsck", meta.QueueRebalance: "rebalance"} {
		n, err := t.store.QueueDepth(r.ctx, q)
		if err != nil {
			return nil, dbErr("queue depth", err)
		}
		out["queue_"+name] = strconv.FormatInt(n, 10)
	}
	for k, v := range t.jobs.Stats() {
		if !strings.HasPrefix(k, "queue_") {
			out["jobs_"+k] = strconv.FormatInt(v, 10)
		}
	}
	var files int64
	for _, d := range t.ns.snap().byID {
		n, err := t.store.CountFiles(r.ctx, d.ID, -1)
		if err != nil {
			return nil, dbErr("count files", err)
		}
		files += n
	}
	out["filescount"] = strconv.FormatInt(files, 10)
	return out, nil
}

// jobLines is "!jobs": what runs in this tracker, in the original's format.
func (t *Tracker) jobLines() []string {
	c := t.cfg
	var out []string
	add := func(name string, n int) {
		if n < 0 {
			n = 0
		}
		out = append(out, fmt.Sprintf("%s count %d", name, n), fmt.Sprintf("%s desired %d", name, n))
	}
	add("queryworker", 0)
	add("monitor", 1)
	add("replicate", jobCount(c.JobMaster, c.ReplicateJobs))
	add("delete", jobCount(c.JobMaster, c.DeleteJobs))
	add("fsck", jobCount(c.JobMaster, c.FsckJobs))
	add("reaper", jobCount(c.JobMaster, c.ReaperJobs))
	add("job_master", jobCount(c.JobMaster, 1))
	return out
}
