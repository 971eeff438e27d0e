package integration

import (
	"bytes"
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"mogfs/trackerd/meta"
	"mogfs/trackerd/meta/metatest"
)

// storeKey stores data under key with the client library and returns its fid.
func storeKey(t *testing.T, c *Cluster, domain, key, class string, data []byte) int64 {
	t.Helper()
	cl := c.Client(t)
	if _, err := cl.Store(t.Context(), domain, key, class, bytes.NewReader(data), int64(len(data))); err != nil {
		t.Fatalf("store %s/%s: %v", domain, key, err)
	}
	fi, err := cl.FileInfo(t.Context(), domain, key)
	if err != nil {
		t.Fatal(err)
	}
	return fi.FID
}

// waitReplicated waits until fid has want copies and no replication queue
// row (the replicator is done with it).
func waitReplicated(t *testing.T, c *Cluster, fid int64, want int) map[string]string {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		dbg, err := c.Do(t, "file_debug", map[string]string{"fid": strconv.FormatInt(fid, 10)})
		if err == nil && dbg["fid_devcount"] == strconv.Itoa(want) && dbg["replqueue_fid"] == "" {
			return dbg
		}
		if time.Now().After(deadline) {
			t.Fatalf("fid %d not replicated to %d copies after 30s: %v, %v", fid, want, dbg, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// replicaFile maps a replica URL to its file under the node's docroot.
func replicaFile(t *testing.T, c *Cluster, rawURL string) string {
	t.Helper()
	u, err := url.Parse(rawURL)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range c.Nodes {
		if n.HTTP == u.Host {
			return filepath.Join(n.Docroot, filepath.FromSlash(u.Path))
		}
	}
	t.Fatalf("no node serves %s", rawURL)
	return ""
}

func md5Hex(b []byte) string {
	s := md5.Sum(b)
	return hex.EncodeToString(s[:])
}

// TestMogFileDebug runs mogfiledebug on a healthy file, on one whose copy
// was removed behind the tracker's back, on one the replicator cannot
// satisfy, and by fid on a deleted one.
func TestMogFileDebug(t *testing.T) {
	c := StartCluster(t, ClusterOpts{})
	tr, dom := "--trackers="+strings.Join(c.Trackers, ","), "--domain="+c.Opts.Domain
	data := randomBytes(t, 200<<10)
	fid := storeKey(t, c, c.Opts.Domain, "/dbg/a", c.Opts.Class, data)
	dbg := waitReplicated(t, c, fid, 2)
	var paths []string
	for k, v := range dbg {
		if strings.HasPrefix(k, "devpath_") {
			paths = append(paths, v)
		}
	}
	if len(paths) != 2 {
		t.Fatalf("file_debug paths = %q, want 2", paths)
	}
	fileRow := "\n- File Row:\n"
	for _, kv := range [][2]string{{"class", c.Opts.Class}, {"classid", "1"}, {"devcount", "2"}, {"dkey", "/dbg/a"}, {"dmid", "1"},
		{"domain", c.Opts.Domain}, {"fid", strconv.FormatInt(fid, 10)}, {"length", strconv.Itoa(len(data))}} {
		fileRow += fmt.Sprintf("  %8s: %20s\n", kv[0], kv[1])
	}
	fileRow += "\n- Raw devids: " + dbg["devids"] + "\n\n- Stored checksum: NONE\n"

	out := mustTool(t, c, nil, "mogfiledebug", tr, dom, "--key=/dbg/a")
	okPath := regexp.MustCompile(`\nResults for path: (http://\S+)\n - MD5 Hash: ` + md5Hex(data) + "\n - Length: " + strconv.Itoa(len(data)) +
		"\n - Last-Modified: [^\n]+ GMT\n - HTTP result: 200 OK\n")
	if !strings.HasPrefix(out, "Fetching and summing paths...\n") || len(okPath.FindAllString(out, -1)) != 2 ||
		strings.Contains(out, "ERROR") || !strings.HasSuffix(out, "\nTempfile and/or queue rows...\nnone.\n"+fileRow) {
		t.Errorf("mogfiledebug of a healthy file:\n%s", out)
	}
	if byFID := mustTool(t, c, nil, "mogfiledebug", tr, "--fid", strconv.FormatInt(fid, 10)); byFID != out {
		t.Errorf("mogfiledebug --fid (no domain) differs from --key:\n%s\nwant\n%s", byFID, out)
	}

	// One copy gone from its disk: the tracker still lists it.
	gone := paths[0]
	if err := os.Remove(replicaFile(t, c, gone)); err != nil {
		t.Fatal(err)
	}
	out = mustTool(t, c, nil, "mogfiledebug", tr, dom, "--key=/dbg/a", "--paths=fetch")
	missing := "\nResults for path: " + gone + "\n - ERROR: File copy is missing: 404 Not Found\n"
	if !strings.Contains(out, missing) || len(okPath.FindAllString(out, -1)) != 1 || !strings.HasSuffix(out, fileRow) {
		t.Errorf("mogfiledebug with a copy removed lacks %q or the good copy:\n%s", missing, out)
	}
	out = mustTool(t, c, nil, "mogfiledebug", tr, dom, "--key=/dbg/a", "--paths=stat")
	statOK := regexp.MustCompile(`\nResults for path: http://\S+\n - Length: ` + strconv.Itoa(len(data)) + "\n - Last-Modified: [^\n]+\n - HTTP result: 200 OK\n")
	if !strings.HasPrefix(out, "Checking status of paths...\n") || !strings.Contains(out, missing) ||
		len(statOK.FindAllString(out, -1)) != 1 || strings.Contains(out, "MD5") {
		t.Errorf("mogfiledebug --paths=stat with a copy removed:\n%s", out)
	}
	out = mustTool(t, c, nil, "mogfiledebug", tr, dom, "--key=/dbg/a", "--paths=print")
	if !strings.HasPrefix(out, "Paths...\n") || !strings.Contains(out, " - "+paths[0]+"\n") || !strings.Contains(out, " - "+paths[1]+"\n") ||
		strings.Contains(out, "Results") {
		t.Errorf("mogfiledebug --paths=print:\n%s", out)
	}

	// A class the three devices cannot satisfy keeps its replication row.
	c.mustDo(t, "create_class", map[string]string{"domain": c.Opts.Domain, "class": "four", "mindevcount": "4"})
	fid4 := storeKey(t, c, c.Opts.Domain, "/dbg/four", "four", []byte("four copies wanted"))
	out = mustTool(t, c, nil, "mogfiledebug", tr, dom, "--key=/dbg/four", "--paths=print")
	if !regexp.MustCompile(`\nTempfile and/or queue rows...\n-    replqueue\n( +\w+: +\d*\n){5}\n- File Row:\n`).MatchString(out) ||
		!strings.Contains(out, fmt.Sprintf("  %20s: %20d\n", "fid", fid4)) {
		t.Errorf("mogfiledebug of an under-replicated file lacks its replqueue row:\n%s", out)
	}

	// A node down: its copy cannot be reached.
	for i, n := range c.Nodes {
		if strings.Contains(paths[1], "//"+n.HTTP+"/") {
			c.StopNode(t, i)
		}
	}
	out = mustTool(t, c, nil, "mogfiledebug", tr, dom, "--key=/dbg/a")
	u, _ := url.Parse(paths[1])
	if !strings.Contains(out, " - HTTP result: 500 Can't connect to "+u.Host+" (Connection refused)\n") {
		t.Errorf("mogfiledebug with a node down:\n%s", out)
	}

	// Deleted: by fid there is no file row any more.
	mustTool(t, c, nil, "mogdelete", tr, dom, "--key=/dbg/four")
	out = mustTool(t, c, nil, "mogfiledebug", tr, "--fid="+strconv.FormatInt(fid4, 10), "--paths=print")
	if !strings.Contains(out, "- ERROR: No file row was found!\nFile may have been deleted or never closed.\n") {
		t.Errorf("mogfiledebug of a deleted fid:\n%s", out)
	}
	failTool(t, c, "mogfiledebug", "unknown_key", tr, dom, "--key=/dbg/nosuch")
	failTool(t, c, "mogfiledebug", "--paths must be", tr, dom, "--key=/dbg/a", "--paths=all")
}

// TestMogStats checks mogstats' numbers against what was stored, reading
// the database while the tracker runs, on SQLite and on MariaDB.
func TestMogStats(t *testing.T) {
	for _, db := range []string{"sqlite", "mariadb"} {
		t.Run(db, func(t *testing.T) {
			o := ClusterOpts{}
			dsn := ""
			if db == "mariadb" {
				cfg := metatest.MySQLConfig(t) // a private database; skips without MariaDB (fails under CI)
				o.DSN, o.DBUser, o.DBPass = cfg.DSN, cfg.User, cfg.Pass
				d, err := meta.ParseDSN(cfg.DSN)
				if err != nil {
					t.Fatal(err)
				}
				dsn = fmt.Sprintf("DBI:mysql:%s:host=%s;port=%d", d.Database, d.Host, d.Port) // the original's usual form
			}
			c := StartCluster(t, o)
			if dsn == "" {
				dsn = c.Opts.DSN
			}
			mogStats(t, c, dsn)
		})
	}
}

func mogStats(t *testing.T, c *Cluster, dsn string) {
	c.mustDo(t, "create_domain", map[string]string{"domain": "other"})
	c.mustDo(t, "create_class", map[string]string{"domain": "other", "class": "one", "mindevcount": "1"})
	var maxFID int64
	for _, f := range []struct {
		domain, class, key string
		size, copies       int
	}{
		{c.Opts.Domain, c.Opts.Class, "s/1", 1 << 20, 2},
		{c.Opts.Domain, c.Opts.Class, "s/2", 2 << 20, 2},
		{c.Opts.Domain, c.Opts.Class, "s/3", 3<<20 + 100, 2},
		{"other", "one", "s/4", 512 << 10, 1},
		{"other", "one", "s/5", 1 << 20, 1},
	} {
		fid := storeKey(t, c, f.domain, f.key, f.class, randomBytes(t, f.size))
		waitReplicated(t, c, fid, f.copies)
		maxFID = max(maxFID, fid)
	}
	db := []string{"--db_dsn=" + dsn, "--db_user=" + c.Opts.DBUser, "--db_pass=" + c.Opts.DBPass}

	out := mustTool(t, c, nil, "mogstats", append(db, "--stats=all")...)
	row := func(format string, args ...any) string { return fmt.Sprintf(format, args...) }
	files := "  -------------------- ----------- ---------- ----------- -------------\n" +
		row("  %-20s %-10s %10s %11s %13s\n", "other", "one", "2", "1", "1") +
		row("  %-20s %-10s %10s %11s %13s\n", c.Opts.Domain, c.Opts.Class, "3", "6", "12") +
		"  -------------------- ----------- ---------- ----------- -------------\n"
	repl := "  -------------------- ----------- ---------- ----------\n" +
		row("  %-20s %-10s %10s %10s\n", "other", "one", "1", "2") +
		row("  %-20s %-10s %10s %10s\n", c.Opts.Domain, c.Opts.Class, "2", "3") +
		"  -------------------- ----------- ---------- ----------\n"
	for _, want := range []string{
		"Fetching statistics... (all)\n\nStatistics for devices...\n",
		fmt.Sprintf("\nStatistics for file ids...\n  Max file id: %d\n", maxFID),
		"\nStatistics for files...\n  domain               class           files    size (m)  fullsize (m)\n" + files,
		"\nStatistics for replication...\n  domain               class        devcount      files\n" + repl,
		"\nStatistics for replication queue...\n  status                      count\n  -------------------- ------------\n  -------------------- ------------\n",
		"\nStatistics for delete queue...\n",
		"\nStatistics for general queues...\n",
		"\ndone\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("mogstats --stats=all lacks\n%s\nin\n%s", want, out)
		}
	}
	// The devices table holds the 8 copies, on the cluster's hosts.
	devRow := regexp.MustCompile(`(?m)^  dev(\d+) +(node\d) +(\d+) +alive$`)
	total := 0
	for _, m := range devRow.FindAllStringSubmatch(out, -1) {
		n, _ := strconv.Atoi(m[3])
		total += n
	}
	if total != 8 {
		t.Errorf("mogstats devices rows add up to %d copies, want 8:\n%s", total, out)
	}

	out = mustTool(t, c, nil, "mogstats", append(db, "--stats=domains,fids", "--verbose")...)
	want := fmt.Sprintf("Fetching statistics... (domains,fids)\n... domains stats...\n... done\n... fid stats...\n... done\n\n"+
		"Statistics for file ids...\n  Max file id: %d\n\nStatistics for domains...\n"+
		"  domain               class           files\n  -------------------- ----------- ----------\n"+
		"  other                one                 2\n  %-20s %-10s %10d\n  -------------------- ----------- ----------\n\ndone\n",
		maxFID, c.Opts.Domain, c.Opts.Class, 3)
	if out != want {
		t.Errorf("mogstats --stats=domains,fids --verbose =\n%s\nwant\n%s", out, want)
	}

	// The database settings may come from ~/.mogilefs.conf.
	home := t.TempDir()
	conf := fmt.Sprintf("db_dsn = %s\ndb_user = %s\ndb_pass = %s\nstats = fids\n", dsn, c.Opts.DBUser, c.Opts.DBPass)
	if err := os.WriteFile(filepath.Join(home, ".mogilefs.conf"), []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.CommandContext(t.Context(), filepath.Join(c.Bin, "mogstats"))
	cmd.Env = append(os.Environ(), "HOME="+home)
	if got, err := cmd.Output(); err != nil || !strings.Contains(string(got), fmt.Sprintf("Max file id: %d\n", maxFID)) {
		t.Errorf("mogstats with ~/.mogilefs.conf = %q, %v", got, err)
	}

	failTool(t, c, "mogstats", "missing --db_dsn", "--stats=fids")
	failTool(t, c, "mogstats", "Invalid stat bogus", append(db, "--stats=fids,bogus")...)
	failTool(t, c, "mogstats", "failed to connect to database", "--db_dsn=DBI:SQLite:dbname="+filepath.Join(t.TempDir(), "none.db"))
}
