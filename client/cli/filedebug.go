package cli

import (
	"cmp"
	"context"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"mogfs/client"
	"mogfs/nodeproto"
)

const fileDebugUsage = `Usage: mogfiledebug --trackers=HOST:PORT[,...] --domain=DOMAIN --key=KEY [--paths=fetch|stat|print]
       mogfiledebug --trackers=HOST:PORT[,...] --fid=FID [--paths=fetch|stat|print]

Dumps what the tracker knows of one file (file_debug): its paths, its
tempfile and queue rows, its file row, devids and stored checksum. With
--paths=fetch (the default) every copy is fetched, MD5-summed and its length
checked against the file row; stat sends each a HEAD instead; print only
lists the paths.`

// nodeTimeout bounds each HEAD to a storage node, and the wait for a GET's
// headers, as the original's LWP timeout of 10 s does.
const nodeTimeout = 10 * time.Second

// debugQueues are the parts of file_debug's answer that the original
// prints as "Tempfile and/or queue rows", in its order.
var debugQueues = []string{"tempfile", "replqueue", "delqueue", "rebqueue", "fsckqueue"}

// FileDebug is mogfiledebug.
func FileDebug(ctx context.Context, args []string, env Env) int {
	t, rc := start("mogfiledebug", fileDebugUsage, args, env, Spec{"domain": false, "key": false, "fid": false, "paths": false})
	if t == nil {
		return rc
	}
	defer t.close()
	o := t.opts
	mode := cmp.Or(o["paths"], "fetch")
	if mode != "print" && mode != "stat" && mode != "fetch" {
		return t.usageErr("--paths must be print, stat or fetch")
	}
	var fid int64
	if v := o["fid"]; v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 {
			return t.usageErr("--fid must be a number")
		}
		fid = n
	}
	domain := o["domain"]
	switch {
	case fid > 0 && domain == "":
		domain = "mogfiledebug-unset" // as the original: a fid needs no domain
	case fid == 0 && o["key"] == "":
		return t.usageErr("missing --key or --fid")
	case fid == 0 && domain == "":
		return t.usageErr("missing --domain")
	}
	details, err := t.c.FileDebug(ctx, domain, o["key"], fid)
	if err != nil {
		return t.fail(fmt.Errorf("error fetching fid info: %w", err))
	}
	parts, paths := splitDebug(details)
	w := env.Stdout
	switch {
	case len(paths) == 0:
		fmt.Fprintln(w, "No valid-ish paths found")
	case mode == "print":
		fmt.Fprintln(w, "Paths...")
		for _, p := range paths {
			fmt.Fprintf(w, " - %s\n", p)
		}
	default:
		tr := client.NewTransport(nodeTimeout)
		defer tr.CloseIdleConnections()
		nc := &nodeproto.Client{HTTP: &http.Client{Transport: tr}, Timeout: nodeTimeout}
		size, _ := strconv.ParseInt(parts["fid"]["length"], 10, 64)
		if mode == "stat" {
			fmt.Fprintln(w, "Checking status of paths...")
		} else {
			fmt.Fprintln(w, "Fetching and summing paths...")
		}
		results := make([]pathResult, len(paths))
		for i, p := range paths {
			if mode == "stat" {
				results[i] = statPath(ctx, nc, p)
			} else {
				results[i] = fetchPath(ctx, nc, p, size)
			}
		}
		writeResults(w, mode == "fetch", parts["fid"], results)
	}
	writeDebugRows(w, parts, details)
	return 0
}

// splitDebug groups file_debug's answer as the original does: devpath_*
// values are the paths (here in devid order), and any other key
// "<part>_<name>", where part is the longest run of word characters
// before an underscore, goes into parts[part][name].
func splitDebug(d map[string]string) (parts map[string]map[string]string, paths []string) {
	parts = map[string]map[string]string{}
	type devPath struct {
		devid int
		path  string
	}
	var dp []devPath
	for k, v := range d {
		if id, ok := strings.CutPrefix(k, "devpath_"); ok {
			n, _ := strconv.Atoi(id)
			dp = append(dp, devPath{n, v})
			continue
		}
		j := 0
		for j < len(k) && isWordByte(k[j]) {
			j++
		}
		i := strings.LastIndexByte(k[:j], '_')
		if i < 1 {
			continue
		}
		if parts[k[:i]] == nil {
			parts[k[:i]] = map[string]string{}
		}
		parts[k[:i]][k[i+1:]] = v
	}
	slices.SortFunc(dp, func(a, b devPath) int { return cmp.Or(cmp.Compare(a.devid, b.devid), cmp.Compare(a.path, b.path)) })
	for _, p := range dp {
		paths = append(paths, p.path)
	}
	return parts, paths
}

// isWordByte is Perl's \w on bytes.
func isWordByte(c byte) bool {
	return c == '_' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
}

// pathResult is what a storage node said of one path, in the terms of the
// original's LWP: a status line even when there was no answer.
type pathResult struct {
	path      string
	status    string // "200 OK"; "500 Can't connect to HOST:PORT (...)" when no answer
	length    int64
	hasLength bool
	mtime     string // Last-Modified; "" when none
	hash      string // fetch: hex MD5 of the body (of nothing unless 2xx)
}

func statPath(ctx context.Context, nc *nodeproto.Client, path string) pathResult {
	p, err := nc.HeadProbe(ctx, path)
	if err != nil {
		return pathResult{path: path, status: lwpStatus(err)}
	}
	return pathResult{path: path, status: p.Status, length: p.Length, hasLength: p.Length >= 0, mtime: p.LastModified}
}

func fetchPath(ctx context.Context, nc *nodeproto.Client, path string, size int64) pathResult {
	p, err := nc.GetProbe(ctx, path, nodeproto.HashMD5, size)
	r := pathResult{path: path, status: p.Status, length: max(p.Length, 0), hasLength: true, mtime: p.LastModified}
	if p.Status == "" { // no answer at all; a body cut short keeps its status and shows as a short length
		r.status = lwpStatus(err)
	}
	sum := p.Sum
	if sum == nil {
		empty := md5.Sum(nil)
		sum = empty[:]
	}
	r.hash = hex.EncodeToString(sum)
	return r
}

// lwpStatus renders a request that got no answer as LWP does: an internal
// "500" status line, "Can't connect to HOST:PORT (Reason)" for a refused
// or failed connection.
func lwpStatus(err error) string {
	var op *net.OpError
	var ue *url.Error
	if errors.As(err, &op) && op.Op == "dial" && errors.As(err, &ue) {
		host := ue.URL
		if u, perr := url.Parse(ue.URL); perr == nil {
			host = u.Host
		}
		why := op.Err.Error()
		if i := strings.LastIndex(why, ": "); i >= 0 {
			why = why[i+2:]
		}
		if why != "" {
			why = strings.ToUpper(why[:1]) + why[1:]
		}
		return fmt.Sprintf("500 Can't connect to %s (%s)", host, why)
	}
	return "500 " + err.Error()
}

// writeResults is the original's emit_results: per path, the errors found
// (missing copy, digest unlike the first path's, length unlike the file
// row's), then what the node answered.
func writeResults(w io.Writer, needHash bool, fileRow map[string]string, results []pathResult) {
	lenStr, hasLen := fileRow["length"]
	if !hasLen {
		fmt.Fprint(w, "No length, cannot verify content length") // sic: no newline
	}
	want, _ := strconv.ParseInt(lenStr, 10, 64)
	first := ""
	for _, r := range results {
		fmt.Fprintf(w, "\nResults for path: %s\n", r.path)
		if strings.Contains(r.status, "404") {
			fmt.Fprintf(w, " - ERROR: File copy is missing: %s\n", r.status)
			continue
		}
		if needHash {
			first = cmp.Or(first, r.hash)
			if first != r.hash {
				fmt.Fprintln(w, " - ERROR: Hash does not match first path!")
			}
		}
		if hasLen && r.hasLength && want != r.length {
			fmt.Fprintln(w, " - ERROR: Length does not match file row!")
		}
		if needHash {
			fmt.Fprintf(w, " - MD5 Hash: %s\n", r.hash)
		}
		if r.hasLength {
			fmt.Fprintf(w, " - Length: %d\n", r.length)
		}
		if r.mtime != "" {
			fmt.Fprintf(w, " - Last-Modified: %s\n", r.mtime)
		}
		fmt.Fprintf(w, " - HTTP result: %s\n", r.status)
	}
}

// writeDebugRows prints the rest as the original does: the tempfile and
// queue rows, the file row (or an error that there is none), the raw
// devids and the stored checksum. Fields are sorted by name.
func writeDebugRows(w io.Writer, parts map[string]map[string]string, details map[string]string) {
	fmt.Fprint(w, "\nTempfile and/or queue rows...\n")
	found := false
	for _, q := range debugQueues {
		part, ok := parts[q]
		if !ok {
			continue
		}
		found = true
		fmt.Fprintf(w, "- %12s\n", q)
		for _, k := range slices.Sorted(maps.Keys(part)) {
			fmt.Fprintf(w, "  %20s: %20s\n", k, part[k])
		}
	}
	if !found {
		fmt.Fprintln(w, "none.")
	}
	if row, ok := parts["fid"]; ok {
		fmt.Fprint(w, "\n- File Row:\n")
		for _, k := range slices.Sorted(maps.Keys(row)) {
			fmt.Fprintf(w, "  %8s: %20s\n", k, row[k])
		}
	} else {
		fmt.Fprint(w, "- ERROR: No file row was found!\nFile may have been deleted or never closed.\n"+
			"See above for any matching rows from tempfile or delqueue.\n")
	}
	if v := details["devids"]; v != "" && v != "0" {
		fmt.Fprintf(w, "\n- Raw devids: %s\n", v)
	}
	if v := details["checksum"]; v != "" && v != "0" {
		fmt.Fprintf(w, "\n- Stored checksum: %s\n", v)
	}
}
