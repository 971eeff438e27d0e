package trackerd

import (
	"errors"
	"strconv"
	"strings"

	"mogfs/protocol"
	"mogfs/trackerd/meta"
)

// The mogfs extension commands (contracts.md): POSIX attributes for the
// mount, and a delimiter-style directory listing. Stock clients never send
// them.

// extAttr is a stored attribute row as the extension carries it.
func extAttr(a meta.Attr) protocol.Attr {
	return protocol.Attr{IsDir: a.IsDir, Mode: a.Mode, UID: a.UID, GID: a.GID, MTime: a.MTime, CTime: a.CTime,
		ATime: a.ATime, Target: a.Target, Ino: a.Ino, Rdev: a.Rdev}
}

func (xc *extCmds) cmdGetAttr(r *request) (reply, error) {
	dom, err := xc.ns.checkDomain(r)
	if err != nil {
		return nil, err
	}
	a, err := xc.store.GetAttr(r.ctx, dom.ID, r.get("path"))
	switch {
	case isNotFound(err):
		return nil, protocol.Err("unknown_key")
	case err != nil:
		return nil, dbErr("getattr", err)
	}
	out := reply{}
	extAttr(a).Encode("", out)
	return out, nil
}

func (xc *extCmds) cmdSetAttr(r *request) (reply, error) {
	dom, err := xc.ns.checkDomain(r)
	if err != nil {
		return nil, err
	}
	path := r.get("path")
	a, err := xc.store.GetAttr(r.ctx, dom.ID, path)
	if err != nil && !isNotFound(err) {
		return nil, dbErr("getattr", err)
	}
	a.DomainID, a.Path = dom.ID, path
	if _, err := parseAttrArgs(r, "", &a); err != nil {
		return nil, err
	}
	// ino_default: an inode number for a row that has none yet (the mount
	// keeps the numbers of directories it renames without overriding one
	// recorded before).
	if v := r.get("ino_default"); v != "" && a.Ino == 0 {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 {
			return nil, protocol.Errf("bad_params", "invalid ino_default %q", v)
		}
		a.Ino = n
	}
	if err := xc.store.SetAttr(r.ctx, a); err != nil {
		return nil, dbErr("setattr", err)
	}
	return reply{}, nil
}

// parseAttrArgs reads the attribute arguments under prefix ("", or
// create_close's "attr_") into a, keeping the fields whose argument is
// absent. It reports whether any was present.
func parseAttrArgs(r *request, prefix string, a *meta.Attr) (present bool, err error) {
	x := extAttr(*a)
	present, err = protocol.DecodeAttr(func(k string) (string, bool) { v, ok := r.args[k]; return v, ok }, prefix, &x)
	if err != nil {
		return present, protocol.Errf("bad_params", "%v", err)
	}
	a.IsDir, a.Mode, a.UID, a.GID, a.Target, a.Ino, a.Rdev = x.IsDir, x.Mode, x.UID, x.GID, x.Target, x.Ino, x.Rdev
	a.MTime, a.CTime, a.ATime = x.MTime, x.CTime, x.ATime
	return present, nil
}

func (xc *extCmds) cmdDelAttr(r *request) (reply, error) {
	dom, err := xc.ns.checkDomain(r)
	if err != nil {
		return nil, err
	}
	if err := xc.store.DeleteAttr(r.ctx, dom.ID, r.get("path")); err != nil && !isNotFound(err) {
		return nil, dbErr("delattr", err)
	}
	return reply{}, nil
}

func (xc *extCmds) cmdRenameAttrs(r *request) (reply, error) {
	dom, err := xc.ns.checkDomain(r)
	if err != nil {
		return nil, err
	}
	if r.get("from") == "" || r.get("to") == "" {
		return nil, protocol.Err("bad_params")
	}
	// existed tells the mount renaming a special file or a hard link (a
	// row alone) that there was one.
	existed, err := xc.store.RenameAttrs(r.ctx, dom.ID, r.get("from"), r.get("to"))
	if err != nil {
		return nil, dbErr("renameattrs", err)
	}
	return reply{"existed": boolStr(existed)}, nil
}

// cmdList lists the direct children of directory prefix P in key order
// (S3 delimiter style: a directory sorts as "name/"), a page at a time.
// next_after is the cursor to pass back as after: the last entry's name,
// with a trailing "/" when it is a directory, so paging never repeats or
// skips an entry; a plain name works as after too (a file cursor). A page
// costs the same few statements whatever the directory holds: meta.ListDir's
// walks and one read of the page's attributes.
func (xc *extCmds) cmdList(r *request) (reply, error) {
	dom, err := xc.ns.checkDomain(r)
	if err != nil {
		return nil, err
	}
	P := r.get("prefix")
	if P != "" && !strings.HasSuffix(P, "/") {
		P += "/"
	}
	limit := 1000
	if n, ok := r.int64Arg("limit"); ok && n > 0 {
		limit = int(min(n, 10000))
	}
	ents, next, done, err := xc.store.ListEntries(r.ctx, dom.ID, P, r.get("after"), limit)
	if err != nil {
		return nil, dbErr("list", err)
	}
	out := reply{"done": boolStr(done), "next_after": next}
	for i, e := range ents {
		entryReply(dom, e, "e"+strconv.Itoa(i+1)+"_", out)
	}
	out["count"] = strconv.Itoa(len(ents))
	return out, nil
}

// entry is one directory entry as mogfs_list and mogfs_lookup describe it.

// entryReply writes one directory entry (mogfs_list, mogfs_lookup) under
// prefix p: name, type, the file row of a file, and the attributes when
// there are any. Absent fields are left out (a reader takes them as
// empty): most entries of a big listing have no attribute row.
func entryReply(dom *domainInfo, e meta.Entry, p string, out reply) {
	x := protocol.Entry{Name: e.Name, Type: "dir"}
	if e.HasAttr {
		a := extAttr(e.Attr)
		x.Attr = &a
	}
	switch special := specialType(e.Attr); {
	case e.HasAttr && !e.IsDir && special != "":
		x.Type = special // a fifo, socket or device node: attributes only, no key
	case !e.IsDir:
		x.Type = "file"
		if e.HasAttr && e.Attr.Mode&0o170000 == 0o120000 {
			x.Type = "symlink"
		}
		x.FID, x.Length, x.Class, x.DevCount = e.File.FID, e.File.Length, dom.byID[e.File.ClassID].Name, e.File.DevCount
		x.Key, x.Nlink = e.Key, e.Nlink
	}
	x.Encode(p, out)
}

// specialType names the type of a special file's attributes ("fifo",
// "socket", "char", "block"), "" for anything else.
func specialType(a meta.Attr) string {
	if !a.IsSpecial() {
		return ""
	}
	switch a.Mode & 0o170000 {
	case 0o010000:
		return "fifo"
	case 0o140000:
		return "socket"
	case 0o020000:
		return "char"
	}
	return "block"
}

// cmdLookup finds one name in directory prefix P: the entry mogfs_list
// would give for it (meta.Store.LookupEntry: at most five indexed point
// queries, whatever the directory's size), or unknown_key.
func (xc *extCmds) cmdLookup(r *request) (reply, error) {
	dom, err := xc.ns.checkDomain(r)
	if err != nil {
		return nil, err
	}
	P, name := r.get("dir"), r.get("name")
	if P != "" && !strings.HasSuffix(P, "/") {
		P += "/"
	}
	if strings.Contains(name, "/") {
		return nil, protocol.Errf("bad_params", "name contains /")
	}
	e, err := xc.store.LookupEntry(r.ctx, dom.ID, P, name)
	switch {
	case isNotFound(err):
		return nil, protocol.Err("unknown_key")
	case err != nil:
		return nil, dbErr("lookup", err)
	}
	out := reply{}
	entryReply(dom, e, "", out)
	return out, nil
}

// cmdLink makes path (a key path) another name of the file at target
// (mogfs_link): the reply is the new name's entry, as mogfs_lookup gives
// it. mode, uid and gid are recorded for a file that has no attributes yet
// (stored by a stock client), so that all its names show the same.
func (xc *extCmds) cmdLink(r *request) (reply, error) {
	dom, err := xc.ns.checkDomain(r)
	if err != nil {
		return nil, err
	}
	target, path := r.get("target"), r.get("path")
	if target == "" || path == "" {
		return nil, protocol.Err("bad_params")
	}
	var primary meta.Attr
	if _, err := parseAttrArgs(r, "", &primary); err != nil {
		return nil, err
	}
	key, pa, err := xc.store.Link(r.ctx, dom.ID, target, path, primary)
	switch {
	case isNotFound(err):
		return nil, protocol.Err("unknown_key")
	case errors.Is(err, meta.ErrExists):
		return nil, protocol.Err("key_exists")
	case err != nil:
		return nil, dbErr("link", err)
	}
	f, err := xc.store.FileByKey(r.ctx, dom.ID, key)
	if err != nil {
		return nil, dbErr("link", err)
	}
	counts, err := xc.store.LinkCounts(r.ctx, dom.ID, []string{key})
	if err != nil {
		return nil, dbErr("link", err)
	}
	name := path[strings.LastIndexByte(path, '/')+1:]
	out := reply{}
	entryReply(dom, meta.Entry{Name: name, File: f, Attr: pa, HasAttr: true, Key: key, Nlink: 1 + counts[key]}, "", out)
	return out, nil
}

// cmdUnlink removes one name (mogfs_unlink): a hard link, a special file,
// or a key, whose data goes only with its last name (the first other name
// becomes the key: promoted=).
func (xc *extCmds) cmdUnlink(r *request) (reply, error) {
	dom, err := xc.ns.checkDomain(r)
	if err != nil {
		return nil, err
	}
	path := r.get("path")
	defer xc.paths.dropKey(dom.ID, path) // the get_paths cache of the name
	res, err := xc.store.UnlinkName(r.ctx, dom.ID, path)
	switch {
	case isNotFound(err):
		return nil, protocol.Err("unknown_key")
	case err != nil:
		return nil, dbErr("unlink", err)
	}
	return reply{"promoted": res.Promoted}, nil
}

// cmdCaps answers mogfs_caps with the extensions this tracker supports, so
// a client can detect them; an original tracker answers unknown_command.
func (xc *extCmds) cmdCaps(r *request) (reply, error) {
	return reply{"create_close_attrs": "1", "list": "1", "attrs": "1", "lookup": "1", "links": "1"}, nil
}

// cmdStats is the mogfs revival of the removed "stats" command: queue
// depths, job outcome counters and the number of files.
func (xc *extCmds) cmdStats(r *request) (reply, error) {
	out := reply{}
	for q, name := range map[meta.Queue]string{meta.QueueReplicate: "replicate", meta.QueueDelete: "delete", meta.QueueFSCK: "fsck", meta.QueueRebalance: "rebalance"} {
		n, err := xc.store.QueueDepth(r.ctx, q)
		if err != nil {
			return nil, dbErr("queue depth", err)
		}
		out["queue_"+name] = strconv.FormatInt(n, 10)
	}
	for k, v := range xc.jobs.Stats() {
		if !strings.HasPrefix(k, "queue_") {
			out["jobs_"+k] = strconv.FormatInt(v, 10)
		}
	}
	var files int64
	for _, d := range xc.ns.snap().byID {
		n, err := xc.store.CountFiles(r.ctx, d.ID, -1)
		if err != nil {
			return nil, dbErr("count files", err)
		}
		files += n
	}
	out["filescount"] = strconv.FormatInt(files, 10)
	return out, nil
}
