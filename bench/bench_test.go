package bench

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"mogfs/internal/testenv"
)

func TestMain(m *testing.M) {
	code := m.Run()
	testenv.CleanupBinaries()
	os.Exit(code)
}

// wantRows are the rows every run reports, by section and workload prefix.
var wantRows = []struct{ section, prefix string }{
	{"tracker", "get_paths noverify, 1 conn"},
	{"tracker", "get_paths noverify, 32 conns"},
	{"tracker", "get_paths noverify, path cache off, 1 conn"},
	{"tracker", "get_paths noverify, path cache off, 32 conns"},
	{"tracker", "file_info, 1 conn"},
	{"tracker", "file_info, 32 conns"},
	{"tracker", "create_open + 0-byte PUT + create_close"},
	{"tracker", "create_open + 4 KiB PUT + create_close"},
	{"tracker", "list_keys pages of 1000"},
	{"tracker", "list_keys pages of 100, 1 conn"},
	{"tracker", "list_keys pages of 100, 32 conns"},
	{"stord", "PUT one"},
	{"stord", "GET one"},
	{"stord", "PUT 50 x 4 KiB"},
	{"stord", "GET 50 x 4 KiB"},
	{"client", "store 50 x 4 KiB"},
	{"client", "fetch 50 x 4 KiB"},
	{"client", "store one"},
	{"client", "fetch one"},
	{"mount", "sequential write"},
	{"mount", "sequential read 4 MiB, cold"},
	{"mount", "sequential read 4 MiB, cached"},
	{"mount", "4 KiB random reads, 200 in the cached"},
	{"mount", "4 KiB random reads, 20 in the 4 MiB file, cold"},
	{"mount", "create 50 files"},
	{"mount", "tar -x Go src (50 files"},
	{"mount", "ls -lR"},
	{"mount", "cat of every file"},
	{"mount", "rm -rf"},
	{"mount", "writeback: create 50 files"},
	{"mount", "writeback: tar -x of the tree"},
	{"mount", "writeback: tar -x, then every file uploaded"},
	{"scale", "create+write+close of a 1-byte file among 2,000 entries"},
	{"scale", "mkdir among"},
	{"scale", "rename of a file among"},
	{"scale", "unlink of a file among"},
	{"scale", "stat of a name not looked up before among"},
	{"scale", "stat of a missing name among"},
	{"scale", "ls -f of the directory among"},
	{"scale", "ls -l of the directory among"},
	{"scale", "mogfs peak RSS in find over 1,000 keys"},
	{"memory", "trackerd peak RSS"},
	{"memory", "stord (largest node) peak RSS"},
	{"memory", "mogfs peak RSS"},
}

// TestRunTiny runs the whole suite on real daemons (and a real mount where
// FUSE is available) at minimal sizes, and checks that the table and the
// JSON report carry every row with a sample and a reference.
func TestRunTiny(t *testing.T) {
	fuseOK := canMount() == nil
	if !fuseOK {
		testenv.RequireFUSE(t) // fails under CI; locally the mount rows must say "skipped"
	}
	goroot, err := exec.Command("go", "env", "GOROOT").Output()
	if err != nil {
		t.Fatalf("go env GOROOT: %v", err)
	}
	var progress bytes.Buffer
	rep, err := Run(t.Context(), Config{
		Bin: testenv.Binaries(t), Dir: t.TempDir(), Sizes: Tiny(), Mode: "tiny",
		GoSrc: filepath.Join(strings.TrimSpace(string(goroot)), "src"), Progress: &progress,
	})
	if err != nil {
		t.Fatalf("Run = %v", err)
	}
	var table, js bytes.Buffer
	if err := rep.WriteTable(&table); err != nil {
		t.Fatal(err)
	}
	if err := rep.WriteJSON(&js); err != nil {
		t.Fatal(err)
	}
	t.Logf("table:\n%s", table.String())

	var back Report
	if err := json.Unmarshal(js.Bytes(), &back); err != nil {
		t.Fatalf("JSON report does not parse: %v", err)
	}
	if len(back.Rows) != len(wantRows) {
		t.Errorf("JSON has %d rows, want %d", len(back.Rows), len(wantRows))
	}
	if back.Machine.NProc < 1 || back.Machine.Kernel == "" || back.Machine.Go == "" {
		t.Errorf("JSON machine = %+v, want nproc, kernel and go version", back.Machine)
	}
	if !strings.HasPrefix(table.String(), "machine: ") {
		t.Errorf("table starts %q, want the machine line", strings.SplitN(table.String(), "\n", 2)[0])
	}
	for i, w := range wantRows {
		if i >= len(back.Rows) {
			break
		}
		r := back.Rows[i]
		if r.Section != w.section || !strings.HasPrefix(r.Workload, w.prefix) {
			t.Errorf("row %d = %s: %s, want %s: %s...", i, r.Section, r.Workload, w.section, w.prefix)
			continue
		}
		if !strings.Contains(table.String(), "| "+r.Section+": "+r.Workload) {
			t.Errorf("table lacks row %s: %s", r.Section, r.Workload)
		}
		if w.section == "mount" || w.prefix == "mogfs peak RSS" {
			if !fuseOK {
				if !strings.HasPrefix(r.Err, ErrSkipped.Error()) {
					t.Errorf("row %s without FUSE: err %q, want skipped", r.Workload, r.Err)
				}
				continue
			}
		}
		if r.Err != "" || len(r.Samples) != 1 || len(r.RefSamples) != 1 {
			t.Errorf("row %s: %s: err %q, %d samples, %d reference samples; want no error and 1 each",
				r.Section, r.Workload, r.Err, len(r.Samples), len(r.RefSamples))
			continue
		}
		if !(r.Median > 0 && r.RefMedian > 0 && r.Ratio > 0 && r.Min <= r.Median && r.Median <= r.Max) {
			t.Errorf("row %s: %s: median %v (min %v max %v) reference %v ratio %v; want positive, ordered figures",
				r.Section, r.Workload, r.Median, r.Min, r.Max, r.RefMedian, r.Ratio)
		}
	}
	if !strings.Contains(progress.String(), "rep 1/1") {
		t.Errorf("progress output = %q, want per-rep lines", progress.String())
	}
}

func TestStats(t *testing.T) {
	tests := []struct {
		in          []float64
		med, lo, hi float64
	}{
		{nil, 0, 0, 0},
		{[]float64{3}, 3, 3, 3},
		{[]float64{5, 1, 3}, 3, 1, 5},
		{[]float64{4, 1, 3, 2}, 2.5, 1, 4},
	}
	for _, tc := range tests {
		med, lo, hi := stats(tc.in)
		if med != tc.med || lo != tc.lo || hi != tc.hi {
			t.Errorf("stats(%v) = %v, %v, %v, want %v, %v, %v", tc.in, med, lo, hi, tc.med, tc.lo, tc.hi)
		}
	}
}

func TestPatternReader(t *testing.T) {
	pat := []byte("0123456789")
	for _, size := range []int64{0, 3, 10, 25} {
		got := new(bytes.Buffer)
		if _, err := got.ReadFrom(newPatternReader(pat, size)); err != nil {
			t.Fatal(err)
		}
		want := bytes.Repeat(pat, 3)[:size]
		if !bytes.Equal(got.Bytes(), want) {
			t.Errorf("patternReader(%d) = %q, want %q", size, got.Bytes(), want)
		}
		buf := make([]byte, 4)
		if n, _ := newPatternReader(pat, size).ReadAt(buf, 8); size > 8 && string(buf[:n]) != string(want[8:min(size, 12)]) {
			t.Errorf("ReadAt(8) of %d = %q, want %q", size, buf[:n], want[8:min(size, 12)])
		}
	}
}

// TestRunMillionTiny runs only the million section, at Tiny's size, on
// real daemons and checks that every row has a sample and a reference.
func TestRunMillionTiny(t *testing.T) {
	sz := Tiny()
	rep, err := Run(t.Context(), Config{Bin: testenv.Binaries(t), Dir: t.TempDir(), Sizes: sz, Mode: "tiny", Only: []string{"million"}})
	if err != nil {
		t.Fatalf("Run = %v", err)
	}
	var table bytes.Buffer
	if err := rep.WriteTable(&table); err != nil {
		t.Fatal(err)
	}
	t.Logf("table:\n%s", table.String())
	want := []string{
		"get_paths noverify, path cache off, 1 conn (5,000 files)",
		"get_paths noverify, path cache off, 32 conns",
		"file_info, 1 conn",
		"file_info, 32 conns",
		"list_keys pages of 100 from a random key, 1 conn",
		"list_keys pages of 100 from a random key, 32 conns",
		"create_open + 4 KiB PUT + create_close, 8 conns",
		"trackerd peak RSS (VmHWM) after the load (5,000 files)",
	}
	var got []*Row
	for _, r := range rep.Rows {
		if r.Section == "million" {
			got = append(got, r)
		}
	}
	if len(got) != len(want) {
		t.Fatalf("million section has %d rows, want %d", len(got), len(want))
	}
	for i, r := range got {
		if r.Workload != want[i] {
			t.Errorf("million row %d = %q, want %q", i, r.Workload, want[i])
		}
		if r.Err != "" || len(r.Samples) != 1 || !(r.Median > 0 && r.RefMedian > 0) {
			t.Errorf("million row %q: err %q, samples %v, reference %v; want one positive sample and reference", r.Workload, r.Err, r.Samples, r.RefSamples)
		}
	}
	if r := got[len(got)-1]; r.RefMedian != millionBudgetMB {
		t.Errorf("RSS row reference = %v, want the %d MB budget", r.RefMedian, millionBudgetMB)
	}
	for _, r := range rep.Rows {
		if r.Section != "million" && r.Section != "memory" {
			t.Errorf("Only million ran row %s: %s", r.Section, r.Workload)
		}
	}
}

func TestConfigSelects(t *testing.T) {
	tests := []struct {
		name    string
		cfg     Config
		section string
		want    bool
	}{
		{"default runs tracker", Config{}, "tracker", true},
		{"default skips million", Config{}, "million", false},
		{"--million adds it", Config{Million: true}, "million", true},
		{"--million keeps the rest", Config{Million: true}, "mount", true},
		{"--only million", Config{Only: []string{"million"}}, "million", true},
		{"--only million alone", Config{Only: []string{"million"}}, "tracker", false},
		{"--only tracker --million", Config{Only: []string{"tracker"}, Million: true}, "million", true},
		{"--only tracker --million skips stord", Config{Only: []string{"tracker"}, Million: true}, "stord", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.cfg.selects(tc.section); got != tc.want {
				t.Errorf("Config{Only: %v, Million: %v}.selects(%q) = %v, want %v", tc.cfg.Only, tc.cfg.Million, tc.section, got, tc.want)
			}
		})
	}
}

func TestMillionKey(t *testing.T) {
	tests := []struct {
		i    int
		want string
	}{{0, "m/d00000/f0000000"}, {99, "m/d00000/f0000099"}, {100, "m/d00001/f0000100"}, {999_999, "m/d09999/f0999999"}}
	for _, tc := range tests {
		if got := millionKey(tc.i); got != tc.want {
			t.Errorf("millionKey(%d) = %q, want %q", tc.i, got, tc.want)
		}
	}
	// list_keys pages and the fill rely on keys sorting in i's order.
	for _, i := range []int{0, 99, 100, 9_999, 99_999, 999_998} {
		if a, b := millionKey(i), millionKey(i+1); a >= b {
			t.Errorf("millionKey(%d) = %q >= millionKey(%d) = %q, want ascending", i, a, i+1, b)
		}
	}
}

func TestInsertSQL(t *testing.T) {
	tests := []struct {
		table      string
		cols, rows int
		want       string
	}{
		{"file_on (fid, devid)", 2, 1, "INSERT INTO file_on (fid, devid) VALUES (?, ?)"},
		{"t (a, b, c)", 3, 2, "INSERT INTO t (a, b, c) VALUES (?, ?, ?), (?, ?, ?)"},
	}
	for _, tc := range tests {
		if got := insertSQL(tc.table, tc.cols, tc.rows); got != tc.want {
			t.Errorf("insertSQL(%q, %d, %d) = %q, want %q", tc.table, tc.cols, tc.rows, got, tc.want)
		}
	}
}
