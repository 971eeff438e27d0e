package trackerd

import (
	"strings"
	"testing"
)

// FuzzHandleLine feeds arbitrary lines to the dispatcher: it must never
// panic, and it answers exactly one CRLF-terminated line (or nothing for a
// blank line; several lines ending in "." for a "!" command).
func FuzzHandleLine(f *testing.F) {
	for _, s := range []string{
		"noop", "", "   ", "NOOP callid=1", "get_paths domain=testdom&key=a&noverify=1",
		"create_open domain=testdom&key=k&fid=0&multi_dest=1&size=-5", "list_keys domain=testdom&prefix=a&after=b&limit=-1",
		"create_close domain=testdom&fid=1&devid=1&path=http://x/&checksum=MD5:00", "mogfs_list domain=testdom&prefix=a/&after=b/&limit=0",
		"mogfs_setattr domain=testdom&path=p&mode=9&mtime=1.2.3", "file_debug fid=%41", "!version", "!bogus", "a=b&&0&=", "%zz %00",
		"set_server_setting key=zone_x&value=1.2.3.4/40", "create_class domain=testdom&class=c&mindevcount=1&replpolicy=MultipleHosts(",
		"sleep duration=0", "list_fids from=-1&to=-1", "rebalance_set_policy policy=from_devices=1+to_hosts",
	} {
		f.Add(s)
	}
	tr, _ := startTracker(f)
	ctx := f.Context()
	tr.ns.store.CreateDomain(ctx, "testdom")
	tr.ns.reload(ctx)
	f.Fuzz(func(t *testing.T, line string) {
		if strings.ContainsAny(line, "\r\n") {
			return // the reader splits lines before the dispatcher
		}
		if strings.HasPrefix(strings.ToLower(strings.TrimSpace(line)), "sleep") {
			return // would sleep for real
		}
		out := tr.handleLine(ctx, &connState{ip: "127.0.0.1"}, line)
		if strings.TrimSpace(line) == "" {
			if out != "" {
				t.Fatalf("blank line %q got reply %q", line, out)
			}
			return
		}
		if line[0] == '!' {
			if !strings.HasSuffix(out, ".\r\n") {
				t.Fatalf("admin %q = %q, want a dot-terminated block", line, out)
			}
			return
		}
		if !strings.HasSuffix(out, "\r\n") || strings.Count(out, "\n") != 1 {
			t.Fatalf("%q = %q, want one CRLF line", line, out)
		}
		if !strings.HasPrefix(out, "OK ") && !strings.HasPrefix(out, "ERR ") {
			t.Fatalf("%q = %q, want OK or ERR", line, out)
		}
	})
}
