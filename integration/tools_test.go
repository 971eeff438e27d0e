package integration

import (
	"bytes"
	"crypto/rand"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"mogfs/client"
	"mogfs/internal/testenv"
)

// runTool runs one of the built mog* tools and returns its stdout, stderr
// and exit status. HOME points at an empty directory so no
// ~/.mogilefs.conf of the machine leaks in.
func runTool(t *testing.T, c *Cluster, stdin []byte, tool string, args ...string) (string, string, int) {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), filepath.Join(c.Bin, tool), args...)
	cmd.Env = append(os.Environ(), "HOME="+t.TempDir())
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	rc := 0
	if ee, ok := err.(*exec.ExitError); ok {
		rc = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("%s %q: %v", tool, args, err)
	}
	return out.String(), errb.String(), rc
}

// mustTool runs a tool that must succeed and returns its stdout.
func mustTool(t *testing.T, c *Cluster, stdin []byte, tool string, args ...string) string {
	t.Helper()
	out, errs, rc := runTool(t, c, stdin, tool, args...)
	if rc != 0 {
		t.Fatalf("%s %q: exit %d, stderr %q", tool, args, rc, errs)
	}
	return out
}

// failTool runs a tool that must fail with a message containing want.
func failTool(t *testing.T, c *Cluster, tool string, want string, args ...string) {
	t.Helper()
	_, errs, rc := runTool(t, c, nil, tool, args...)
	if rc == 0 || !strings.Contains(errs, want) {
		t.Errorf("%s %q: exit %d, stderr %q; want failure mentioning %q", tool, args, rc, errs, want)
	}
}

func randomBytes(t testing.TB, n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	return b
}

// startExtraNode runs one more storage node, not registered with the
// tracker, on its own loopback address; it is killed at cleanup.
func startExtraNode(t *testing.T, c *Cluster, devid int) string {
	t.Helper()
	ip := testenv.LoopbackIP(t, 7500, 7501)
	docroot := t.TempDir()
	if err := os.MkdirAll(filepath.Join(docroot, "dev"+strconv.Itoa(devid)), 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(filepath.Join(c.Bin, "stord"), "--httplisten", ip+":7500", "--mgmtlisten", ip+":7501", "--docroot", docroot)
	cmd.Stderr = t.Output()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	testenv.WaitListening(t, ip+":7500", 10*time.Second)
	return ip
}

// waitWriteable waits until the tracker observes devid as writeable.
func waitWriteable(t *testing.T, cl *client.Client, devid int) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		devs, err := cl.Devices(t.Context())
		if err == nil {
			for _, d := range devs {
				if d.ID == devid && d.ObservedState == "writeable" && d.MBTotal > 0 {
					return
				}
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("device %d not writeable after 20s: %+v, %v", devid, devs, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestToolsFromScratch sets a host, device, domain and class up with
// mogadm, then moves files with the data tools.
func TestToolsFromScratch(t *testing.T) {
	c := StartCluster(t, ClusterOpts{})
	tr := "--trackers=" + strings.Join(c.Trackers, ",")
	ip := startExtraNode(t, c, 100)

	mustTool(t, c, nil, "mogadm", tr, "host", "add", "extra", "--ip="+ip, "--port", "7500", "--status=alive")
	mustTool(t, c, nil, "mogadm", tr, "device", "add", "extra", "100")
	mustTool(t, c, nil, "mogadm", tr, "domain", "add", "scratch")
	mustTool(t, c, nil, "mogadm", tr, "class", "add", "scratch", "pair", "--mindevcount=2")
	failTool(t, c, "mogadm", "domain_exists", tr, "domain", "add", "scratch")
	failTool(t, c, "mogadm", "class_exists", tr, "class", "add", "scratch", "pair")
	failTool(t, c, "mogadm", "Usage", tr, "class", "add", "scratch")

	if out := mustTool(t, c, nil, "mogadm", tr, "host", "list"); !strings.Contains(out, "extra [") || !strings.Contains(out, ip+":7500") {
		t.Errorf("host list missing the new host:\n%s", out)
	}
	if out := mustTool(t, c, nil, "mogadm", tr, "class", "list"); !regexp.MustCompile(`(?m)^ scratch\s+pair\s+2 `).MatchString(out) {
		t.Errorf("class list missing scratch/pair with mindevcount 2:\n%s", out)
	}
	waitWriteable(t, c.Client(t), 100)
	if out := mustTool(t, c, nil, "mogadm", tr, "device", "list"); !regexp.MustCompile(`(?m)^\s*dev100: alive `).MatchString(out) {
		t.Errorf("device list missing dev100:\n%s", out)
	}
	check := mustTool(t, c, nil, "mogadm", tr, "check")
	for _, want := range []string{"Checking trackers...", c.Trackers[0] + " ... OK", "Checking hosts...", "extra ... OK",
		"Checking devices...", "dev100", "writeable", "total:"} {
		if !strings.Contains(check, want) {
			t.Errorf("mogadm check output lacks %q:\n%s", want, check)
		}
	}
	sum := mustTool(t, c, nil, "mogadm", tr, "device", "summary", "--hostname=extra")
	if !regexp.MustCompile(`^Hostname +HostID +Status +used\(G\) +free\(G\) +total\(G\) +%Used\n` +
		`extra +\[ *\d+\]: +alive +\d+\.\d{3} +\d+\.\d{3} +\d+\.\d{3} +\d+\.\d{2}\n$`).MatchString(sum) {
		t.Errorf("device summary --hostname=extra:\n%s", sum)
	}
	// Slave databases, stored as the original's settings.
	mustTool(t, c, nil, "mogadm", tr, "slave", "add", "s1", "--dsn=DBI:mysql:mogilefs:host=10.0.0.9", "--username=ro", "--password=pw")
	mustTool(t, c, nil, "mogadm", tr, "slave", "add", "s2", "--dsn=DBI:mysql:m2", "--username=u2", "--password=p2")
	failTool(t, c, "mogadm", "slave failed to be added", tr, "slave", "add", "s1", "--dsn=x", "--username=y", "--password=z")
	mustTool(t, c, nil, "mogadm", tr, "slave", "modify", "s1", "--password=new")
	mustTool(t, c, nil, "mogadm", tr, "slave", "delete", "s2")
	failTool(t, c, "mogadm", "slave delete failed", tr, "slave", "delete", "s2")
	if out := mustTool(t, c, nil, "mogadm", tr, "slave", "list"); out != "s1 --dsn=DBI:mysql:mogilefs:host=10.0.0.9 --username=ro --password=new\n" {
		t.Errorf("slave list = %q", out)
	}
	if ss, err := c.Client(t).ServerSettings(t.Context()); err != nil || ss["slave_keys"] != "s1" || ss["slave_s2"] != "" {
		t.Errorf("settings after the slave commands: slave_keys %q, slave_s2 %q, %v", ss["slave_keys"], ss["slave_s2"], err)
	}
	mustTool(t, c, nil, "mogadm", tr, "settings", "list")
	mustTool(t, c, nil, "mogadm", tr, "device", "modify", "extra", "100", "--weight=50")
	if out := mustTool(t, c, nil, "mogadm", tr, "fsck", "status"); !strings.Contains(out, "Running: No") {
		t.Errorf("fsck status:\n%s", out)
	}

	dom := []string{tr, "--domain=scratch"}
	dir := t.TempDir()
	fileA := filepath.Join(dir, "a.bin")
	dataA := randomBytes(t, 300<<10)
	os.WriteFile(fileA, dataA, 0o644)
	dataB := randomBytes(t, 70<<10)

	mustTool(t, c, nil, "mogupload", append(dom, "--class", "pair", "--key=/t/a.bin", "--file="+fileA)...)
	mustTool(t, c, dataB, "mogupload", append(dom, "--key=/t/b.bin", "--file=-")...)

	got := filepath.Join(dir, "a.out")
	mustTool(t, c, nil, "mogfetch", append(dom, "--key=/t/a.bin", "--file="+got)...)
	if b, _ := os.ReadFile(got); !bytes.Equal(b, dataA) {
		t.Errorf("mogfetch to a file: %d bytes differ from the %d uploaded", len(b), len(dataA))
	}
	if out := mustTool(t, c, nil, "mogfetch", append(dom, "--key=/t/b.bin", "--file=-")...); out != string(dataB) {
		t.Errorf("mogfetch to stdout: %d bytes, want the %d uploaded from stdin", len(out), len(dataB))
	}
	if out := mustTool(t, c, nil, "moglistkeys", append(dom, "--key_prefix=/t/")...); out != "/t/a.bin\n/t/b.bin\n" {
		t.Errorf("moglistkeys = %q", out)
	}

	info := mustTool(t, c, nil, "mogfileinfo", append(dom, "--key=/t/a.bin")...)
	shape := regexp.MustCompile(`^- file: /t/a\.bin
     class:                 pair
  devcount:\s+\d
    domain:              scratch
       fid:\s+\d+
       key:\s+/t/a\.bin
    length:               307200
( - http://[0-9.]+:7500/dev\d+/\d/\d{3}/\d{3}/\d{10}\.fid
)+$`)
	if !shape.MatchString(info) {
		t.Errorf("mogfileinfo output has the wrong shape:\n%s", info)
	}

	mustTool(t, c, nil, "mogdelete", append(dom, "--key=/t/a.bin")...)
	failTool(t, c, "mogfetch", "unknown_key", append(dom, "--key=/t/a.bin", "--file="+filepath.Join(dir, "gone"))...)
	if _, err := os.Stat(filepath.Join(dir, "gone")); err == nil {
		t.Error("failed mogfetch left an output file")
	}
	failTool(t, c, "mogfileinfo", "unknown_key", append(dom, "--key=/t/a.bin")...)

	// Error paths.
	failTool(t, c, "mogupload", "unreg_domain", tr, "--domain=nosuch", "--key=k", "--file="+fileA)
	failTool(t, c, "mogupload", "unreg_class", append(dom, "--class=nosuch", "--key=k", "--file="+fileA)...)
	failTool(t, c, "mogupload", "no such file", append(dom, "--key=k", "--file="+filepath.Join(dir, "missing"))...)
	failTool(t, c, "moglistkeys", "unreg_domain", tr, "--domain=nosuch")
	failTool(t, c, "mogadm", "domain_has_", tr, "domain", "delete", "scratch")
}

// TestToolsConfFile reads trackers and domain from ~/.mogilefs.conf.
func TestToolsConfFile(t *testing.T) {
	c := StartCluster(t, ClusterOpts{})
	home := t.TempDir()
	conf := fmt.Sprintf("# test\ntrackers = %s\ndomain = %s\n", strings.Join(c.Trackers, ", "), c.Opts.Domain)
	os.WriteFile(filepath.Join(home, ".mogilefs.conf"), []byte(conf), 0o644)
	run := func(stdin []byte, tool string, args ...string) string {
		cmd := exec.CommandContext(t.Context(), filepath.Join(c.Bin, tool), args...)
		cmd.Env = append(os.Environ(), "HOME="+home)
		cmd.Stdin = bytes.NewReader(stdin)
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("%s %q: %v", tool, args, err)
		}
		return string(out)
	}
	run([]byte("hello"), "mogupload", "--key=conf", "--file=-")
	if got := run(nil, "mogfetch", "--key=conf", "--file=-"); got != "hello" {
		t.Errorf("mogfetch with conf file = %q", got)
	}
}

// TestToolsStorageNodeDown uploads right after a storage node dies, before
// the tracker's monitor notices: create_open may still offer the dead node,
// and the client must write elsewhere.
func TestToolsStorageNodeDown(t *testing.T) {
	c := StartCluster(t, ClusterOpts{})
	tr := "--trackers=" + strings.Join(c.Trackers, ",")
	c.StopNode(t, 0)
	for i := range 6 {
		key := "/down/" + strconv.Itoa(i)
		data := randomBytes(t, 10<<10)
		mustTool(t, c, data, "mogupload", tr, "--domain="+c.Opts.Domain, "--key="+key, "--file=-")
		if out := mustTool(t, c, nil, "mogfetch", tr, "--domain="+c.Opts.Domain, "--key="+key, "--file=-"); out != string(data) {
			t.Errorf("%s: fetched %d bytes differ from the uploaded", key, len(out))
		}
	}
}

// TestToolsTrackerDown: with the first tracker of --trackers killed, the
// tools use the next one.
func TestToolsTrackerDown(t *testing.T) {
	c := StartCluster(t, ClusterOpts{})
	first := c.Trackers[0]
	second := c.StartTracker(t)
	tr := "--trackers=" + first + "," + second
	c.StopTracker(t, 0)
	data := randomBytes(t, 5000)
	mustTool(t, c, data, "mogupload", tr, "--domain="+c.Opts.Domain, "--key=/td", "--file=-")
	if out := mustTool(t, c, nil, "mogfetch", tr, "--domain="+c.Opts.Domain, "--key=/td", "--file=-"); out != string(data) {
		t.Error("mogfetch through the second tracker returned different bytes")
	}
	out := mustTool(t, c, nil, "mogadm", tr, "check")
	if !strings.Contains(out, first+" ... REQUEST FAILURE") || !strings.Contains(out, second+" ... OK") {
		t.Errorf("mogadm check with the first tracker down:\n%s", out)
	}
}

// TestToolsRenameListFIDs: mogrename moves a key to a new name with the
// same fid, and moglistfids prints the originals' records, paging past the
// tracker's 500 files a request.
func TestToolsRenameListFIDs(t *testing.T) {
	c := StartCluster(t, ClusterOpts{})
	cl := c.Client(t)
	tr, dom := "--trackers="+strings.Join(c.Trackers, ","), "--domain="+c.Opts.Domain
	const n = 520
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for w := range 8 {
		wg.Go(func() {
			for i := w; i < n; i += 8 {
				if _, err := cl.Store(t.Context(), c.Opts.Domain, fmt.Sprintf("f/%03d", i), c.Opts.Class, strings.NewReader("x"), 1); err != nil {
					errs <- err
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	before, err := cl.FileInfo(t.Context(), c.Opts.Domain, "f/007")
	if err != nil {
		t.Fatal(err)
	}
	mustTool(t, c, nil, "mogrename", tr, dom, "--old_key=f/007", "--new_key=g/seven")
	if after, err := cl.FileInfo(t.Context(), c.Opts.Domain, "g/seven"); err != nil || after.FID != before.FID {
		t.Errorf("after mogrename: %+v, %v; want fid %d", after, err, before.FID)
	}
	failTool(t, c, "mogrename", "unknown_key", tr, dom, "--old_key=f/007", "--new_key=g/eight")

	out := mustTool(t, c, nil, "moglistfids", tr, "--fromfid=0", "--count=600")
	recs := strings.Split(strings.TrimSuffix(out, "\n\n"), "\n\n")
	if len(recs) != n {
		t.Fatalf("moglistfids printed %d records, want %d", len(recs), n)
	}
	want := fmt.Sprintf("fid %d\nclass %s\ndevcount 1\ndomain %s\nkey g/seven\nlength 1", before.FID, c.Opts.Class, c.Opts.Domain)
	if !slices.ContainsFunc(recs, func(r string) bool {
		return strings.HasPrefix(r, fmt.Sprintf("fid %d\n", before.FID)) && (r == want || r == strings.Replace(want, "devcount 1", "devcount 2", 1))
	}) {
		t.Errorf("moglistfids lacks %q", want)
	}
	last := int64(0)
	for _, r := range recs {
		var fid int64
		if _, err := fmt.Sscanf(r, "fid %d\n", &fid); err != nil || fid <= last {
			t.Fatalf("record %q out of order after fid %d", r, last)
		}
		last = fid
	}
	if out := mustTool(t, c, nil, "moglistfids", tr, fmt.Sprintf("--fromfid=%d", last-3), "--count=2"); strings.Count(out, "fid ") != 2 {
		t.Errorf("moglistfids --count=2 printed:\n%s", out)
	}
}
