package trackerd

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"mogfs/protocol"
	"mogfs/trackerd/jobs"
)

// request is one decoded query handed to a handler.
type request struct {
	ctx  context.Context
	cmd  string
	args map[string]string
	conn *connState
}

// get returns an argument ("" when absent).
func (r *request) get(k string) string { return r.args[k] }

// has reports whether an argument is present, even empty.
func (r *request) has(k string) bool { _, ok := r.args[k]; return ok }

// truthy is Perl truth: present, non-empty and not "0".
func (r *request) truthy(k string) bool {
	v := r.args[k]
	return v != "" && v != "0"
}

// int64Arg parses an integer argument the way Perl numifies: leading digits
// count, anything else is 0. ok is false when the argument is absent or empty.
func (r *request) int64Arg(k string) (n int64, ok bool) {
	v := strings.TrimSpace(r.args[k])
	if v == "" {
		return 0, false
	}
	return perlInt(v), true
}

// perlInt numifies like Perl: an optional sign and leading digits.
func perlInt(v string) int64 {
	i := 0
	neg := false
	if i < len(v) && (v[i] == '-' || v[i] == '+') {
		neg = v[i] == '-'
		i++
	}
	var n int64
	for ; i < len(v) && v[i] >= '0' && v[i] <= '9'; i++ {
		n = n*10 + int64(v[i]-'0')
		if n > 1<<53 {
			break
		}
	}
	if neg {
		return -n
	}
	return n
}

// reply is a handler's success payload.
type reply map[string]string

// extensions are the commands a stock MogileFS 2.73 tracker does not know;
// with Config.NoExtensions they answer unknown_command as there.
var extensions = map[string]bool{
	"mogfs_getattr": true, "mogfs_setattr": true, "mogfs_delattr": true, "mogfs_renameattrs": true,
	"mogfs_list": true, "mogfs_lookup": true, "mogfs_link": true, "mogfs_unlink": true, "mogfs_caps": true, "stats": true,
}

// handleLine answers one request line; "" means no reply (blank line).
func (t *Tracker) handleLine(ctx context.Context, cs *connState, line string) string {
	req, err := protocol.ParseRequest(line)
	if errors.Is(err, protocol.ErrEmptyLine) {
		return ""
	}
	if err != nil {
		t.stats.count("malformed", true)
		t.observeRequest("unknown_command", protocol.Err("unknown_command"), 0)
		return protocol.FormatErr(protocol.Err("unknown_command"))
	}
	if req.Cmd[0] == '!' {
		t.stats.count(req.Cmd, false)
		t.observeRequest("admin_console", nil, 0)
		if !t.allowed(req.Cmd, cs.ip) {
			return "ERROR: " + errUnauthorized(req.Cmd, cs.ip).Message + "\r\n.\r\n"
		}
		return t.adminConsole(cs, req.Cmd, req.Args[""])
	}
	h, ok := t.commands[req.Cmd]
	if !ok || (t.cfg.NoExtensions && extensions[req.Cmd]) {
		t.stats.count("unknown_command", true)
		t.observeRequest("unknown_command", protocol.Err("unknown_command"), 0)
		return withCallID(protocol.FormatErr(protocol.Err("unknown_command")), req.Args)
	}
	if !t.allowed(req.Cmd, cs.ip) {
		t.stats.count(req.Cmd, true)
		t.observeRequest(req.Cmd, errUnauthorized(req.Cmd, cs.ip), 0)
		t.log.Info("command refused by admin_allow", "cmd", req.Cmd, "client", cs.ip)
		return withCallID(protocol.FormatErr(errUnauthorized(req.Cmd, cs.ip)), req.Args)
	}
	r := &request{ctx: ctx, cmd: req.Cmd, args: req.Args, conn: cs}
	start := time.Now()
	out, err := t.call(h, r)
	d := time.Since(start)
	t.stats.observe(req.Cmd, err != nil, d)
	t.observeRequest(req.Cmd, err, d)
	if err != nil {
		var pe *protocol.Error
		if !errors.As(err, &pe) {
			t.log.Warn("command failed", "cmd", req.Cmd, "err", err)
			pe = protocol.Err("failure")
		} else if pe.Code == "db" {
			t.log.Warn("command failed", "cmd", req.Cmd, "err", err)
		} else {
			t.log.Debug("command error", "cmd", req.Cmd, "code", pe.Code, "msg", pe.Message)
		}
		return withCallID(protocol.FormatErr(pe), req.Args)
	}
	if cid, ok := req.Args["callid"]; ok {
		if out == nil {
			out = reply{}
		}
		out["callid"] = cid
	}
	return protocol.FormatOK(out)
}

// withCallID appends the request's callid to an ERR line, as the original's
// err_line does ("ERR code msg callid").
func withCallID(errLine string, args map[string]string) string {
	cid, ok := args["callid"]
	if !ok {
		return errLine
	}
	return strings.TrimSuffix(errLine, "\r\n") + " " + protocol.Escape(cid) + "\r\n"
}

// call runs a handler, turning a panic into "ERR failure" so that one bad
// request never takes the connection or the tracker down.
func (t *Tracker) call(h handler, r *request) (out reply, err error) {
	defer func() {
		if v := recover(); v != nil {
			t.log.Error("panic in command", "cmd", r.cmd, "panic", v, "stack", string(debug.Stack()))
			out, err = nil, protocol.Err("failure")
		}
	}()
	return h(r)
}

// stats counts requests and errors per command for "!stats" (and later the
// metrics endpoint). The map is filled once at construction and only read
// afterwards, so lookups need no lock; counters are atomic.
type stats struct {
	byCmd map[string]*cmdStat
	other cmdStat // commands not in the table (bang commands, junk)
}

type cmdStat struct {
	requests atomic.Int64
	errors   atomic.Int64
	nanos    atomic.Int64
}

func newStats(commands map[string]handler) *stats {
	s := &stats{byCmd: map[string]*cmdStat{}}
	for name := range commands {
		s.byCmd[name] = &cmdStat{}
	}
	for _, name := range []string{"unknown_command", "malformed", "line_too_long"} {
		s.byCmd[name] = &cmdStat{}
	}
	return s
}

func (s *stats) get(cmd string) *cmdStat {
	if c, ok := s.byCmd[cmd]; ok {
		return c
	}
	return &s.other
}

func (s *stats) count(cmd string, isErr bool) { s.observe(cmd, isErr, 0) }

func (s *stats) observe(cmd string, isErr bool, d time.Duration) {
	c := s.get(cmd)
	c.requests.Add(1)
	if isErr {
		c.errors.Add(1)
	}
	c.nanos.Add(int64(d))
}

// lines renders the non-zero counters as "name value" lines, sorted.
func (s *stats) lines() []string {
	var out []string
	var total int64
	for name, c := range s.byCmd {
		n := c.requests.Load()
		if n == 0 {
			continue
		}
		total += n
		out = append(out, fmt.Sprintf("cmd_%s %d", name, n))
		if e := c.errors.Load(); e > 0 {
			out = append(out, fmt.Sprintf("err_%s %d", name, e))
		}
		out = append(out, fmt.Sprintf("usec_%s %d", name, c.nanos.Load()/1000))
	}
	if n := s.other.requests.Load(); n > 0 {
		total += n
		out = append(out, fmt.Sprintf("cmd_other %d", n))
	}
	sort.Strings(out)
	return append([]string{"queries " + strconv.FormatInt(total, 10)}, out...)
}

// adminConsole answers a "!" line with text lines ending in ".\r\n".
func (t *Tracker) adminConsole(cs *connState, cmd, rest string) string {
	var lines []string
	switch {
	case cmd == "!version":
		lines = []string{Version}
	case cmd == "!stats":
		t.mu.Lock()
		nconn := len(t.conns)
		t.mu.Unlock()
		lines = []string{
			fmt.Sprintf("uptime %d", int(time.Since(t.start).Seconds())),
			"pending_queries 0",
			"processing_queries 0",
			"bored_queryworkers 0",
			fmt.Sprintf("connections %d", nconn),
		}
		lines = append(lines, t.stats.lines()...)
	case cmd == "!jobs":
		lines = t.jobLines()
	case cmd == "!watch":
		cs.watch = !cs.watch
		if cs.watch {
			lines = []string{"Added you to watcher list."}
		} else {
			lines = []string{"Removed you from watcher list."}
		}
	case strings.HasPrefix(cmd, "!want"):
		lines = []string{t.wantJob(rest)}
	case strings.HasPrefix(cmd, "!to"):
		// The original sends the message to each worker process of the
		// class; mogfs's workers are goroutines and take no messages.
		if f := strings.Fields(rest); len(f) < 2 {
			lines = []string{"ERROR: usage: !to <jobclass> <message>"}
		} else {
			lines = []string{"Message sent to 0 children."}
		}
	case strings.HasPrefix(cmd, "!shutdown"):
		t.log.Info("user requested shutdown", "args", rest)
		t.shutdownOnce.Do(func() { close(t.shutdown) })
	case strings.HasPrefix(cmd, "!queue"), strings.HasPrefix(cmd, "!pend"), strings.HasPrefix(cmd, "!recent"):
		// Nothing is ever queued: every connection has its own goroutine.
	default:
		lines = []string{
			"Commands:",
			"   !version   server version",
			"   !stats     counters",
			"   !jobs      background jobs",
			"   !watch     toggle watching (no debug stream in mogfs)",
			"   !queue     pending queries (always empty)",
			"   !want N J  run N workers of job J (replicate, delete, fsck)",
			"   !shutdown  stop this tracker",
		}
	}
	var b strings.Builder
	for _, l := range lines {
		b.WriteString(l)
		b.WriteString("\r\n")
	}
	b.WriteString(".\r\n")
	return b.String()
}

// jobLines is "!jobs": what runs in this tracker, in the original's format.
func (t *Tracker) jobLines() []string {
	c := t.cfg
	var out []string
	add := func(name string, n, want int) {
		out = append(out, fmt.Sprintf("%s count %d", name, max(n, 0)), fmt.Sprintf("%s desired %d", name, max(want, 0)))
	}
	fixed := func(name string, n int) { add(name, n, n) }
	fixed("queryworker", 0)
	fixed("monitor", 1)
	for _, job := range []string{"replicate", "delete", "fsck"} {
		n, want, ok := t.jobs.Workers(job)
		if !ok {
			n, want = 0, 0
		}
		add(job, n, want)
	}
	fixed("reaper", jobCount(c.JobMaster, c.ReaperJobs))
	fixed("job_master", jobCount(c.JobMaster, 1))
	return out
}

// wantJob answers "!want <count> <job>": the replicate, delete and fsck
// pools resize at once (at most jobs.MaxWorkers, as the original caps
// it); the other jobs of the original are not pools in mogfs.
func (t *Tracker) wantJob(args string) string {
	f := strings.Fields(args)
	n, err := 0, error(nil)
	if len(f) >= 2 {
		n, err = strconv.Atoi(f[0])
	}
	if len(f) < 2 || err != nil || n < 0 {
		return "ERROR: usage: !want <count> <jobclass>"
	}
	n, job := min(n, jobs.MaxWorkers), f[1]
	switch job {
	case "replicate", "delete", "fsck":
		if !t.jobs.Want(job, n) {
			return fmt.Sprintf("ERROR: '%s' does not run on this tracker (job_master=0 or %s_jobs=0)", job, job)
		}
		t.log.Info("admin console: workers wanted", "job", job, "count", n)
		return fmt.Sprintf("Now desiring %d children doing '%s'.", n, job)
	case "queryworker", "monitor", "reaper", "job_master":
		return fmt.Sprintf("ERROR: '%s' is not a worker pool in mogfs (a goroutine per connection, or one loop)", job)
	}
	return fmt.Sprintf("ERROR: Invalid class '%s'.  Valid classes: delete, fsck, job_master, monitor, queryworker, reaper, replicate", job)
}
