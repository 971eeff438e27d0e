package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"sort"
	"strconv"
	"syscall"

	"mogfs/client"
	"mogfs/protocol"
)

// common are the options every tool takes.
var common = Spec{"trackers": false, "config": false, "lib": false, "help": true, "verbose": true, "timeout": false}

// tool is one run of a tool: its parsed options and a client.
type tool struct {
	name  string
	usage string
	env   Env
	opts  map[string]string
	pos   []string
	c     *client.Client
}

// start parses args with spec (plus the common options), applies the config
// files, checks that the required options are present and connects a
// client. On failure it returns a non-zero exit status.
func start(name, usage string, args []string, env Env, spec Spec, required ...string) (*tool, int) {
	full := Spec{}
	for k, v := range common {
		full[k] = v
	}
	for k, v := range spec {
		full[k] = v
	}
	t, rc := parseTool(name, usage, args, env, full, required...)
	if t == nil {
		return nil, rc
	}
	trs, err := trackers(t.opts)
	if err != nil {
		return nil, t.fail(err)
	}
	cfg := client.Config{Trackers: trs, Outage: -1} // as the originals: no tracker answering is an error at once
	if s := t.opts["timeout"]; s != "" {
		secs, err := strconv.ParseFloat(s, 64)
		if err != nil || secs <= 0 {
			return nil, t.usageErr("bad --timeout " + s)
		}
		cfg.Timeout = secondsDuration(secs)
	}
	if t.c, err = client.New(cfg); err != nil {
		return nil, t.fail(err)
	}
	return t, 0
}

// parseTool is start without the client, for a tool that talks to no
// tracker (mogstats): it parses args with spec alone, prints the usage for
// --help (returning nil and 0), applies the config files and checks that
// the required options are present.
func parseTool(name, usage string, args []string, env Env, spec Spec, required ...string) (*tool, int) {
	t := &tool{name: name, usage: usage, env: env}
	var err error
	if t.opts, t.pos, err = Parse(args, spec); err != nil {
		return nil, t.usageErr(err.Error())
	}
	if t.opts["help"] != "" {
		fmt.Fprintln(env.Stdout, usage)
		return nil, 0
	}
	if err := loadConf(env, t.opts, spec); err != nil {
		return nil, t.fail(err)
	}
	for _, r := range required {
		if t.opts[r] == "" {
			return nil, t.usageErr("missing --" + r)
		}
	}
	return t, 0
}

func (t *tool) close() { t.c.Close() }

func (t *tool) usageErr(msg string) int {
	fmt.Fprintf(t.env.Stderr, "%s: %s\n\n%s\n", t.name, msg, t.usage)
	return 2
}

// fail prints err and returns exit status 1.
func (t *tool) fail(err error) int {
	fmt.Fprintf(t.env.Stderr, "%s: %s\n", t.name, errText(err))
	return 1
}

// errText renders err for people. Tracker errors already read
// "mogilefs: code: message", like the Perl client's errstr; the codes whose
// message is only the code get a plain-words note.
func errText(err error) string {
	var pe *protocol.Error
	if errors.As(err, &pe) {
		if note, ok := codeNotes[pe.Code]; ok {
			return err.Error() + " (" + note + ")"
		}
	}
	return err.Error()
}

var codeNotes = map[string]string{
	"unknown_key":  "no such key",
	"unreg_class":  "no such class in this domain",
	"no_devices":   "no writable storage device",
	"unknown_host": "no such host",
}

const uploadUsage = `Usage: mogupload --trackers=HOST:PORT[,...] --domain=DOMAIN --key=KEY --file=FILE [--class=CLASS] [--largefile]

Stores FILE (or standard input with --file=-) under KEY.`

// Upload is mogupload.
func Upload(ctx context.Context, args []string, env Env) int {
	t, rc := start("mogupload", uploadUsage, args, env,
		Spec{"domain": false, "class": false, "key": false, "file": false, "largefile": true},
		"domain", "key", "file")
	if t == nil {
		return rc
	}
	defer t.close()
	o := t.opts
	var err error
	if o["file"] == "-" {
		p := NewProgress(env.Stderr, "upload", -1)
		_, err = t.c.Store(ctx, o["domain"], o["key"], o["class"], progressReader{env.Stdin, p}, -1)
		if err == nil {
			p.Done()
		}
	} else {
		err = uploadFile(ctx, t, o["file"])
	}
	if err != nil {
		return t.fail(err)
	}
	return 0
}

func uploadFile(ctx context.Context, t *tool, name string) error {
	f, err := os.Open(name)
	if err != nil {
		return err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	if !st.Mode().IsRegular() { // a pipe or device: size unknown
		_, err = t.c.Store(ctx, t.opts["domain"], t.opts["key"], t.opts["class"], f, -1)
		return err
	}
	p := NewProgress(t.env.Stderr, "upload", st.Size())
	_, err = t.c.StoreReaderAt(ctx, t.opts["domain"], t.opts["key"], t.opts["class"], progressReaderAt{f, p}, st.Size())
	if err == nil {
		p.Done()
	}
	return err
}

const fetchUsage = `Usage: mogfetch --trackers=HOST:PORT[,...] --domain=DOMAIN --key=KEY --file=FILE [--noverify]

Writes KEY's content to FILE (standard output with --file=-).`

// Fetch is mogfetch. Like the original it always asks the tracker with
// noverify=1 (the recorded 2.73 traffic shows it); --noverify is accepted
// for compatibility.
func Fetch(ctx context.Context, args []string, env Env) int {
	t, rc := start("mogfetch", fetchUsage, args, env,
		Spec{"domain": false, "key": false, "file": false, "noverify": true}, "domain", "key", "file")
	if t == nil {
		return rc
	}
	defer t.close()
	o := t.opts
	var p *Progress
	if IsTerminal(env.Stderr) {
		if fi, err := t.c.FileInfo(ctx, o["domain"], o["key"]); err == nil {
			p = NewProgress(env.Stderr, "fetch", fi.Length)
		}
	}
	if o["file"] == "-" {
		if _, err := t.c.Fetch(ctx, o["domain"], o["key"], progressWriter{env.Stdout, p}); err != nil {
			return t.fail(err)
		}
		p.Done()
		return 0
	}
	// Write beside the target and rename, so a failed fetch leaves no
	// partial file under the wanted name.
	dir, base := filepath.Split(o["file"])
	if dir == "" {
		dir = "."
	}
	tmp, err := os.CreateTemp(dir, "."+base+".mogfetch-")
	if err != nil {
		return t.fail(err)
	}
	defer os.Remove(tmp.Name())
	_, err = t.c.Fetch(ctx, o["domain"], o["key"], progressWriter{tmp, p})
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), o["file"])
	}
	if err != nil {
		return t.fail(err)
	}
	p.Done()
	return 0
}

const deleteUsage = `Usage: mogdelete --trackers=HOST:PORT[,...] --domain=DOMAIN --key=KEY`

// Delete is mogdelete. Like the Perl client it treats a key that does not
// exist as deleted (exit 0), with a note on stderr.
func Delete(ctx context.Context, args []string, env Env) int {
	t, rc := start("mogdelete", deleteUsage, args, env, Spec{"domain": false, "key": false}, "domain", "key")
	if t == nil {
		return rc
	}
	defer t.close()
	err := t.c.Delete(ctx, t.opts["domain"], t.opts["key"])
	if protocol.IsCode(err, "unknown_key") {
		fmt.Fprintf(env.Stderr, "mogdelete: %s: no such key (nothing to delete)\n", t.opts["key"])
		return 0
	}
	if err != nil {
		return t.fail(err)
	}
	return 0
}

const listKeysUsage = `Usage: moglistkeys --trackers=HOST:PORT[,...] --domain=DOMAIN [--key_prefix=PREFIX]

Prints every key (starting with PREFIX), one per line.`

// ListKeys is moglistkeys.
func ListKeys(ctx context.Context, args []string, env Env) int {
	t, rc := start("moglistkeys", listKeysUsage, args, env, Spec{"domain": false, "key_prefix": false}, "domain")
	if t == nil {
		return rc
	}
	defer t.close()
	after := ""
	for {
		keys, next, err := t.c.ListKeys(ctx, t.opts["domain"], t.opts["key_prefix"], after, 1000)
		if err != nil {
			return t.fail(err)
		}
		for _, k := range keys {
			if _, err := fmt.Fprintln(env.Stdout, k); err != nil {
				return t.fail(err)
			}
		}
		if len(keys) == 0 || next == "" || next == after {
			return 0
		}
		after = next
	}
}

const fileInfoUsage = `Usage: mogfileinfo --trackers=HOST:PORT[,...] --domain=DOMAIN --key=KEY`

// FileInfo is mogfileinfo.
func FileInfo(ctx context.Context, args []string, env Env) int {
	t, rc := start("mogfileinfo", fileInfoUsage, args, env, Spec{"domain": false, "key": false}, "domain", "key")
	if t == nil {
		return rc
	}
	defer t.close()
	fi, err := t.c.FileInfo(ctx, t.opts["domain"], t.opts["key"])
	if err != nil {
		return t.fail(err)
	}
	paths, err := t.c.GetPaths(ctx, t.opts["domain"], t.opts["key"], true, 99)
	if err != nil {
		return t.fail(err)
	}
	WriteFileInfo(env.Stdout, t.opts["key"], fi, paths)
	return 0
}

// WriteFileInfo prints file info the way the original mogfileinfo does: the
// file_info fields sorted by name, then one line per path.
func WriteFileInfo(w io.Writer, key string, fi client.FileInfo, paths []string) {
	fields := map[string]string{
		"class": fi.Class, "devcount": strconv.Itoa(fi.DevCount), "domain": fi.Domain,
		"fid": strconv.FormatInt(fi.FID, 10), "key": fi.Key, "length": strconv.FormatInt(fi.Length, 10),
	}
	if fi.Checksum != "" {
		fields["checksum"] = fi.Checksum
	}
	names := make([]string, 0, len(fields))
	for k := range fields {
		names = append(names, k)
	}
	sort.Strings(names)
	fmt.Fprintf(w, "- file: %s\n", key)
	for _, k := range names {
		fmt.Fprintf(w, "  %8s: %20s\n", k, fields[k])
	}
	for _, p := range paths {
		fmt.Fprintf(w, " - %s\n", p)
	}
}

// Main runs a tool as a program: its arguments, the standard files, a
// context that SIGINT and SIGTERM end, and its result as the exit status.
func Main(tool func(ctx context.Context, args []string, env Env) int) {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	rc := tool(ctx, os.Args[1:], StdEnv())
	stop()
	os.Exit(rc)
}
