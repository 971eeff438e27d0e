package trackerd

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"mogfs/nodeproto"
	"mogfs/protocol"
	"mogfs/trackerd/meta"
)

// checkDomain is Query.pm::check_domain.
func (c *nsCache) checkDomain(r *request) (*domainInfo, error) {
	name := r.get("domain")
	if name == "" {
		return nil, protocol.Err("no_domain")
	}
	d, ok := c.snap().domains[name]
	if !ok {
		return nil, protocol.Err("unreg_domain")
	}
	return d, nil
}

// dbErr maps an unexpected store error to "ERR db" while keeping the cause
// for the log line written by the dispatcher.
func dbErr(op string, err error) error {
	return fmt.Errorf("%s: %w", op, errors.Join(protocol.Err("db"), err))
}

func (fc *fileCmds) cmdCreateOpen(r *request) (reply, error) {
	dom, err := fc.ns.checkDomain(r)
	if err != nil {
		return nil, err
	}
	classid := 0
	if cname := r.get("class"); cname != "" {
		c, ok := dom.classes[cname]
		if !ok {
			return nil, protocol.Err("unreg_class")
		}
		classid = c.ID
	}
	fid, _ := r.int64Arg("fid")
	if fid < 0 {
		fid = 0
	}
	size, _ := r.int64Arg("size")
	multi := r.truthy("multi_dest")

	snap := fc.mon.Snapshot()
	if snap == nil || snap.Round == 0 {
		// Device states are unknown until the monitor's first round.
		if err := fc.mon.WaitRound(r.ctx); err != nil {
			return nil, err
		}
		snap = fc.mon.Snapshot()
	}
	n := 1
	if multi {
		n = 3
	}
	devs := pickDevices(snap, size, n, clientZone(snap, r.conn.ip))
	if len(devs) == 0 {
		return nil, protocol.Err("no_devices")
	}
	fid, err = fc.store.RegisterTempFile(r.ctx, meta.TempFile{
		FID: fid, DomainID: dom.ID, Key: r.get("key"), ClassID: classid, DevIDs: devs, CreateTime: time.Now(),
	})
	switch {
	case errors.Is(err, meta.ErrFIDInUse):
		return nil, protocol.Err("fid_in_use")
	case err != nil:
		return nil, dbErr("register tempfile", err)
	}
	out := reply{"fid": strconv.FormatInt(fid, 10)}
	zoneAlt := r.get("zone") == "alt"
	skipMkcol := fc.ns.snap().settingBool("skip_mkcol")
	for i, id := range devs {
		url, _ := devURL(snap, id, fid, false, r.conn.ip, zoneAlt)
		if !skipMkcol {
			fc.bg.Go(func() { fc.mkcol(r.ctx, url) })
		}
		if multi {
			n := strconv.Itoa(i + 1)
			out["devid_"+n] = strconv.Itoa(id)
			out["path_"+n] = url
		} else {
			out["devid"] = strconv.Itoa(id)
			out["path"] = url
		}
	}
	if multi {
		out["dev_count"] = strconv.Itoa(len(devs))
	}
	return out, nil
}

func (fc *fileCmds) cmdCreateClose(r *request) (reply, error) {
	dom, err := fc.ns.checkDomain(r)
	if err != nil {
		return nil, err
	}
	fid, _ := r.int64Arg("fid")
	devid64, _ := r.int64Arg("devid")
	devid := int(devid64)
	path := r.get("path")
	switch {
	case fid == 0:
		return nil, protocol.Err("no_fid")
	case devid == 0:
		return nil, protocol.Err("no_devid")
	case !r.truthy("path"):
		return nil, protocol.Err("no_path")
	}
	var hashtype int
	var sum []byte
	if cs := r.get("checksum"); cs != "" {
		var ok bool
		if hashtype, sum, ok = nodeproto.ParseChecksum(cs); !ok {
			return nil, protocol.Err("invalid_checksum_format")
		}
	}
	// mogfs extension: attr_mode, attr_uid, ... store the key's POSIX
	// attributes in the close's transaction (the mount saves a round trip
	// and a commit per file). Stock clients never send them, and the
	// original ignores unknown arguments (so does NoExtensions). The row is
	// replaced as a whole.
	var attr *meta.Attr
	var a meta.Attr
	if !fc.noExtensions {
		present, err := parseAttrArgs(r, "attr_", &a)
		if err != nil {
			return nil, err
		}
		if present {
			attr = &a
		}
	}
	snap := fc.mon.Snapshot()
	// The path comes back as create_open signed it; the signature is not
	// the tracker's to check (the node did, at the PUT).
	want, ok := devURL(snap, devid, fid, false, r.conn.ip, r.get("zone") == "alt")
	if !ok || want != nodeproto.Unsigned(path) {
		return nil, protocol.Err("bogus_args")
	}
	tf, err := fc.store.TempFile(r.ctx, fid)
	switch {
	case errors.Is(err, meta.ErrNotFound):
		return nil, protocol.Err("no_temp_file")
	case err != nil:
		return nil, dbErr("tempfile", err)
	}
	abandon := func(e *protocol.Error) (reply, error) {
		if err := fc.store.AbandonTempFile(r.ctx, fid, devid); err != nil && !errors.Is(err, meta.ErrNoTempFile) {
			return nil, dbErr("abandon tempfile", err)
		}
		if e == nil {
			return reply{}, nil
		}
		return nil, e
	}
	if !contains(tf.DevIDs, devid) {
		valid := make([]string, len(tf.DevIDs))
		for i, id := range tf.DevIDs {
			valid[i] = strconv.Itoa(id)
		}
		return abandon(protocol.Errf("invalid_destdev", "File uploaded to invalid dest %d. Valid devices were: %s", devid, strings.Join(valid, ",")))
	}
	key := r.get("key")
	if key == "" {
		return abandon(nil) // empty key: the client gave up on this upload
	}
	size, _ := r.int64Arg("size")
	got, err := fc.headSize(r.ctx, path)
	if err != nil {
		kind := "cantreach"
		if errors.Is(err, nodeproto.ErrMissing) {
			kind = "missing"
		}
		exp := size
		if exp <= 0 {
			exp = -1
		}
		return abandon(protocol.Errf("size_verify_error", "Expected: %d; actual: 0 (%s); path: %s; error: %v", exp, kind, path, err))
	}
	if size > 0 && size != got {
		return abandon(protocol.Errf("size_mismatch", "Expected: %d; actual: %d; path: %s", size, got, path))
	}
	if hashtype != 0 && r.truthy("checksumverify") {
		actual, err := fc.nodes.DigestGet(r.ctx, path, hashtype, got)
		if err != nil {
			return abandon(protocol.Errf("checksum_mismatch", "Unable to verify checksum: %v; path: %s", err, path))
		}
		if !equalBytes(actual, sum) {
			return abandon(protocol.Errf("checksum_mismatch", "Expected: Checksum[f=%d;%s=%x]; actual: %s:%x; path: %s",
				fid, nodeproto.HashName(hashtype), sum, nodeproto.HashName(hashtype), actual, path))
		}
	}
	// The checksum is stored only when the class asks for that algorithm.
	args := meta.CloseArgs{FID: fid, DomainID: dom.ID, Key: key, DevID: devid, Length: got, ClassID: tf.ClassID}
	args.Attr = attr
	if cl, ok := dom.byID[tf.ClassID]; ok && hashtype != 0 && cl.HashType == hashtype {
		args.HashType, args.Checksum = hashtype, sum
	}
	// fid_exists (the key already maps to this fid) cannot happen here: a
	// tempfile row's fid is never in the file table (RegisterTempFile), so
	// we save the original's extra lookup.
	defer fc.paths.dropKey(dom.ID, key)
	if _, err := fc.store.CloseFile(r.ctx, args); err != nil {
		if errors.Is(err, meta.ErrNoTempFile) {
			return nil, protocol.Err("no_temp_file")
		}
		return nil, dbErr("close file", err)
	}
	return reply{}, nil
}

func equalBytes(a, b []byte) bool { return string(a) == string(b) }

func (fc *fileCmds) cmdDelete(r *request) (reply, error) {
	dom, err := fc.ns.checkDomain(r)
	if err != nil {
		return nil, err
	}
	key := r.get("key")
	if key == "" {
		return nil, protocol.Err("no_key")
	}
	defer fc.paths.dropKey(dom.ID, key)
	if _, err := fc.store.DeleteFile(r.ctx, dom.ID, key); err != nil {
		if errors.Is(err, meta.ErrNotFound) {
			return nil, protocol.Err("unknown_key")
		}
		return nil, dbErr("delete", err)
	}
	return reply{}, nil
}

func (fc *fileCmds) cmdRename(r *request) (reply, error) {
	dom, err := fc.ns.checkDomain(r)
	if err != nil {
		return nil, err
	}
	from, to := r.get("from_key"), r.get("to_key")
	if from == "" || to == "" {
		return nil, protocol.Err("no_key")
	}
	defer fc.paths.dropKey(dom.ID, from)
	defer fc.paths.dropKey(dom.ID, to)
	switch err := fc.store.RenameFile(r.ctx, dom.ID, from, to); {
	case errors.Is(err, meta.ErrNotFound):
		return nil, protocol.Err("unknown_key")
	case errors.Is(err, meta.ErrExists):
		return nil, protocol.Err("key_exists")
	case err != nil:
		return nil, dbErr("rename", err)
	}
	return reply{}, nil
}

func (fc *fileCmds) cmdListKeys(r *request) (reply, error) {
	dom, err := fc.ns.checkDomain(r)
	if err != nil {
		return nil, err
	}
	prefix, after := r.get("prefix"), r.get("after")
	// The original matches after against prefix as a Perl regex; we use a
	// literal prefix test, which agrees for every prefix without regex
	// metacharacters (and keys are paths, not patterns).
	if prefix != "" && after != "" && !strings.HasPrefix(after, prefix) {
		return nil, protocol.Err("after_mismatch")
	}
	limit, _ := r.int64Arg("limit")
	if limit <= 0 || limit > 1000 {
		limit = 1000
	}
	// Keys compare bytewise on both dialects, so case_sensitive_list_keys is
	// always in effect (MySQL's default collation was case-insensitive).
	keys, err := fc.store.ListKeys(r.ctx, dom.ID, prefix, after, int(limit))
	if err != nil {
		return nil, dbErr("list keys", err)
	}
	if len(keys) == 0 {
		return nil, protocol.Err("none_match")
	}
	out := make(reply, len(keys)+2)
	out["key_count"] = strconv.Itoa(len(keys))
	out["next_after"] = keys[len(keys)-1]
	for i, k := range keys {
		out["key_"+strconv.Itoa(i+1)] = k
	}
	return out, nil
}

// className names classid in domain dmid ("default" for 0, "" if unknown).
func (fc *fileCmds) className(dmid, classid int) (domain, class string) {
	d, ok := fc.ns.snap().byID[dmid]
	if !ok {
		if classid == 0 {
			return "", "default"
		}
		return "", ""
	}
	if c, ok := d.byID[classid]; ok {
		return d.Name, c.Name
	}
	return d.Name, ""
}

func (fc *fileCmds) cmdListFIDs(r *request) (reply, error) {
	from, _ := r.int64Arg("from")
	count, ok := r.int64Arg("to")
	switch {
	case !ok || count == 0:
		count = 100
	case count < 0 || count > 500:
		count = 500
	}
	files, err := fc.store.ListFIDs(r.ctx, from, int(count))
	if err != nil {
		return nil, dbErr("list fids", err)
	}
	out := reply{"fid_count": strconv.Itoa(len(files))}
	for i, f := range files {
		p := "fid_" + strconv.Itoa(i+1) + "_"
		dname, cname := fc.className(f.DomainID, f.ClassID)
		out[p+"fid"] = strconv.FormatInt(f.FID, 10)
		out[p+"domain"] = dname
		out[p+"class"] = cname
		out[p+"key"] = f.Key
		out[p+"length"] = strconv.FormatInt(f.Length, 10)
		out[p+"devcount"] = strconv.Itoa(f.DevCount)
	}
	return out, nil
}

// fileByKey is the common domain+key lookup with its error codes.
func (fc *fileCmds) fileByKey(r *request) (*domainInfo, meta.File, error) {
	dom, err := fc.ns.checkDomain(r)
	if err != nil {
		return nil, meta.File{}, err
	}
	key := r.get("key")
	if key == "" {
		return nil, meta.File{}, protocol.Err("no_key")
	}
	f, err := fc.store.FileByKey(r.ctx, dom.ID, key)
	switch {
	case errors.Is(err, meta.ErrNotFound):
		return nil, meta.File{}, protocol.Err("unknown_key")
	case err != nil:
		return nil, meta.File{}, dbErr("file", err)
	}
	return dom, f, nil
}

func joinInts(ids []int) string {
	s := make([]string, len(ids))
	for i, id := range ids {
		s[i] = strconv.Itoa(id)
	}
	return strings.Join(s, ",")
}

func (fc *fileCmds) cmdFileInfo(r *request) (reply, error) {
	dom, f, err := fc.fileByKey(r)
	if err != nil {
		return nil, err
	}
	cl := dom.byID[f.ClassID]
	out := reply{
		"fid": strconv.FormatInt(f.FID, 10), "domain": dom.Name, "class": cl.Name, "key": f.Key,
		"length": strconv.FormatInt(f.Length, 10), "devcount": strconv.Itoa(f.DevCount),
	}
	if cl.HashType != 0 {
		ht, sum, err := fc.store.Checksum(r.ctx, f.FID)
		switch {
		case errors.Is(err, meta.ErrNotFound):
			out["checksum"] = "MISSING"
		case err != nil:
			return nil, dbErr("checksum", err)
		default:
			out["checksum"] = nodeproto.FormatChecksum(ht, sum)
		}
	}
	if r.truthy("devices") {
		ids, err := fc.store.FileDevIDs(r.ctx, f.FID)
		if err != nil {
			return nil, dbErr("file_on", err)
		}
		out["devids"] = joinInts(ids)
	}
	return out, nil
}

func (fc *fileCmds) cmdFileDebug(r *request) (reply, error) {
	var f meta.File
	var fid int64
	if n, ok := r.int64Arg("fid"); ok && n > 0 {
		fid = n
		ff, err := fc.store.FileByFID(r.ctx, fid)
		switch {
		case err == nil:
			f = ff
		case !errors.Is(err, meta.ErrNotFound):
			return nil, dbErr("file", err)
		}
	} else {
		_, ff, err := fc.fileByKey(r)
		if err != nil {
			return nil, err
		}
		f, fid = ff, ff.FID
	}
	out := reply{}
	if f.FID != 0 {
		dname, cname := fc.className(f.DomainID, f.ClassID)
		out["fid_fid"] = strconv.FormatInt(f.FID, 10)
		out["fid_dmid"] = strconv.Itoa(f.DomainID)
		out["fid_dkey"] = f.Key
		out["fid_length"] = strconv.FormatInt(f.Length, 10)
		out["fid_classid"] = strconv.Itoa(f.ClassID)
		out["fid_devcount"] = strconv.Itoa(f.DevCount)
		out["fid_domain"] = dname
		out["fid_class"] = cname
	}
	if tf, err := fc.store.TempFile(r.ctx, fid); err == nil {
		out["tempfile_classid"] = strconv.Itoa(tf.ClassID)
		out["tempfile_dmid"] = strconv.Itoa(tf.DomainID)
		out["tempfile_dkey"] = tf.Key
		out["tempfile_devids"] = joinInts(tf.DevIDs)
	} else if !errors.Is(err, meta.ErrNotFound) {
		return nil, dbErr("tempfile", err)
	}
	for _, q := range []struct {
		q      meta.Queue
		prefix string
	}{{meta.QueueReplicate, "replqueue_"}, {meta.QueueDelete, "delqueue_"}, {meta.QueueRebalance, "rebqueue_"}, {meta.QueueFSCK, "fsckqueue_"}} {
		j, err := fc.store.QueueJob(r.ctx, q.q, fid)
		if errors.Is(err, meta.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, dbErr("queue", err)
		}
		p := q.prefix
		out[p+"fid"] = strconv.FormatInt(j.FID, 10)
		out[p+"nexttry"] = unixOrZero(j.NextTry)
		out[p+"failcount"] = strconv.Itoa(j.FailCount)
		switch q.q {
		case meta.QueueReplicate:
			out[p+"fromdevid"] = intOrEmpty(j.FromDevID)
			out[p+"flags"] = "0"
		case meta.QueueRebalance, meta.QueueFSCK:
			out[p+"devid"] = intOrEmpty(j.FromDevID)
			out[p+"type"] = map[meta.Queue]string{meta.QueueFSCK: "1", meta.QueueRebalance: "2"}[q.q]
			out[p+"flags"] = "0"
			out[p+"arg"] = j.Arg
		}
	}
	ids, err := fc.store.FileDevIDs(r.ctx, fid)
	if err != nil {
		return nil, dbErr("file_on", err)
	}
	if len(ids) > 0 {
		snap := fc.mon.Snapshot()
		for _, id := range ids {
			// As the original: a copy on a device (or host) without a row
			// gets no path, rather than an empty one.
			if u, ok := devURL(snap, id, fid, true, r.conn.ip, r.get("zone") == "alt"); ok {
				out["devpath_"+strconv.Itoa(id)] = u
			}
		}
		out["devids"] = joinInts(ids)
	}
	out["checksum"] = "NONE"
	if ht, sum, err := fc.store.Checksum(r.ctx, fid); err == nil {
		out["checksum"] = nodeproto.FormatChecksum(ht, sum)
	} else if !errors.Is(err, meta.ErrNotFound) {
		return nil, dbErr("checksum", err)
	}
	return out, nil
}

func unixOrZero(tm time.Time) string {
	if tm.IsZero() {
		return "0"
	}
	return strconv.FormatInt(tm.Unix(), 10)
}

func intOrEmpty(n int) string {
	if n == 0 {
		return ""
	}
	return strconv.Itoa(n)
}

func (fc *fileCmds) cmdUpdateClassOfFile(r *request) (reply, error) {
	dom, err := fc.ns.checkDomain(r)
	if err != nil {
		return nil, err
	}
	key, cname := r.get("key"), r.get("class")
	if key == "" {
		return nil, protocol.Err("no_key")
	}
	if cname == "" {
		return nil, protocol.Err("no_class")
	}
	cl, ok := dom.classes[cname]
	if !ok {
		return nil, protocol.Err("class_not_found")
	}
	f, err := fc.store.FileByKey(r.ctx, dom.ID, key)
	switch {
	case errors.Is(err, meta.ErrNotFound):
		return nil, protocol.Err("invalid_key")
	case err != nil:
		return nil, dbErr("file", err)
	}
	ids, err := fc.store.FileDevIDs(r.ctx, f.FID)
	if err != nil {
		return nil, dbErr("file_on", err)
	}
	if len(ids) == 0 {
		return nil, protocol.Err("no_devices")
	}
	if cl.ID != f.ClassID {
		if err := fc.store.SetFileClass(r.ctx, f.FID, cl.ID); err != nil {
			return nil, dbErr("set class", err)
		}
	}
	return reply{}, nil
}

// cmdEditFile is the experimental edit_file: a new fid takes over one
// readable replica of the file; the client MOVEs oldpath to newpath, edits
// it with ranged PUTs, and commits with create_close. (The original needs
// memcached and otherwise fails; we do not.)
func (fc *fileCmds) cmdEditFile(r *request) (reply, error) {
	dom, f, err := fc.fileByKey(r)
	if err != nil {
		return nil, err
	}
	ids, err := fc.store.FileDevIDs(r.ctx, f.FID)
	if err != nil {
		return nil, dbErr("file_on", err)
	}
	snap := fc.mon.Snapshot()
	devid := 0
	for _, id := range ids {
		if snap.ShouldReadFrom(id) && snap.IsWriteable(id) {
			devid = id
			break
		}
	}
	if devid == 0 {
		return nil, protocol.Err("no_devices")
	}
	newFID, err := fc.store.RegisterTempFile(r.ctx, meta.TempFile{DomainID: dom.ID, Key: f.Key, ClassID: f.ClassID, DevIDs: []int{devid}, CreateTime: time.Now()})
	if err != nil {
		return nil, dbErr("register tempfile", err)
	}
	if err := fc.store.RemoveFileOn(r.ctx, f.FID, devid); err != nil {
		return nil, dbErr("file_on", err)
	}
	zoneAlt := r.get("zone") == "alt"
	oldPath, _ := devURL(snap, devid, f.FID, false, r.conn.ip, zoneAlt)
	newPath, _ := devURL(snap, devid, newFID, false, r.conn.ip, zoneAlt)
	return reply{"oldpath": oldPath, "newpath": newPath, "fid": strconv.FormatInt(newFID, 10),
		"devid": strconv.Itoa(devid), "class": strconv.Itoa(f.ClassID)}, nil
}

func (fc *fileCmds) cmdSleep(r *request) (reply, error) {
	d, ok := r.int64Arg("duration")
	if !ok {
		d = 10
	}
	tm := time.NewTimer(time.Duration(d) * time.Second)
	defer tm.Stop()
	select {
	case <-tm.C:
	case <-r.ctx.Done():
		return nil, r.ctx.Err()
	}
	return reply{}, nil
}

func (fc *fileCmds) cmdTest(r *request) (reply, error) {
	if r.truthy("crash") {
		// The original dies here; we exercise the same per-request recovery.
		panic("test crash requested")
	}
	return reply{}, nil
}

func (fc *fileCmds) cmdNoop(r *request) (reply, error) { return reply{}, nil }
