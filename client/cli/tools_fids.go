package cli

import (
	"context"
	"fmt"
	"strconv"
)

const renameUsage = `Usage: mogrename --trackers=HOST:PORT[,...] --domain=DOMAIN --old_key=KEY --new_key=KEY

Renames a key; the file (its fid and replicas) stays as it is.`

// Rename is mogrename.
func Rename(ctx context.Context, args []string, env Env) int {
	t, rc := start("mogrename", renameUsage, args, env, Spec{"domain": false, "class": false, "old_key": false, "new_key": false},
		"domain", "old_key", "new_key")
	if t == nil {
		return rc
	}
	defer t.close()
	if err := t.c.Rename(ctx, t.opts["domain"], t.opts["old_key"], t.opts["new_key"]); err != nil {
		return t.fail(fmt.Errorf("error renaming file (key) from %s: %w", t.opts["old_key"], err))
	}
	return 0
}

const listFIDsUsage = `Usage: moglistfids --trackers=HOST:PORT[,...] [--fromfid=FID] [--count=N]

Prints up to N files (default 100) with fids above FID (default 0), in fid
order: "fid N", then one "name value" line per field, then a blank line.`

// ListFIDs is moglistfids: it pages through list_fids (the tracker answers
// at most 500 a request) until count files are printed or none are left.
func ListFIDs(ctx context.Context, args []string, env Env) int {
	t, rc := start("moglistfids", listFIDsUsage, args, env, Spec{"fromfid": false, "count": false})
	if t == nil {
		return rc
	}
	defer t.close()
	from, count := int64(0), 100
	if v := t.opts["fromfid"]; v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return t.usageErr("--fromfid must be a number")
		}
		from = n
	}
	if v := t.opts["count"]; v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			return t.usageErr("--count must be a number")
		}
		if n > 0 {
			count = n
		}
	}
	for count > 0 {
		files, err := t.c.ListFIDs(ctx, from, count)
		if err != nil {
			return t.fail(fmt.Errorf("error listing fids: %w", err))
		}
		if len(files) == 0 {
			break
		}
		for _, f := range files {
			// The original prints the fields in sorted order.
			fmt.Fprintf(env.Stdout, "fid %d\nclass %s\ndevcount %d\ndomain %s\nkey %s\nlength %d\n\n",
				f.FID, f.Class, f.DevCount, f.Domain, f.Key, f.Length)
		}
		from = files[len(files)-1].FID
		count -= len(files)
	}
	return 0
}
