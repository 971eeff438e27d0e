package bench

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Machine describes where a report was measured.
type Machine struct {
	NProc  int       `json:"nproc"`
	Model  string    `json:"model"`
	Kernel string    `json:"kernel"`
	Go     string    `json:"go"`
	Date   time.Time `json:"date"`
	// Load is the 1-minute load average at the start and at the end of the
	// run: other work on a shared machine shows up here, and in the
	// absolute figures, more than in the ratios.
	Load [2]float64 `json:"load_avg_1m_start_end"`
}

// String is the header line of the table.
func (m Machine) String() string {
	return fmt.Sprintf("machine: %d x %s, kernel %s, %s, %s, load average %.1f at start, %.1f at end",
		m.NProc, m.Model, m.Kernel, m.Go, m.Date.Format("2006-01-02 15:04 MST"), m.Load[0], m.Load[1])
}

// DetectMachine reads the processor count and model, the kernel release and
// the Go toolchain version (`go version` when a go command is on PATH, the
// toolchain mogbench was built with otherwise).
func DetectMachine() Machine {
	m := Machine{NProc: runtime.NumCPU(), Model: "unknown", Kernel: "unknown", Go: runtime.Version(), Date: time.Now()}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for l := range strings.SplitSeq(string(b), "\n") {
			if k, v, ok := strings.Cut(l, ":"); ok && strings.TrimSpace(k) == "model name" {
				m.Model = strings.TrimSpace(v)
				break
			}
		}
	}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.Kernel = strings.TrimSpace(string(b))
	}
	m.Load[0] = loadAvg()
	if out, err := exec.Command("go", "env", "GOVERSION").Output(); err == nil && len(strings.TrimSpace(string(out))) > 0 {
		m.Go = strings.TrimSpace(string(out))
	}
	return m
}

// loadAvg is the 1-minute load average (0 when unknown).
func loadAvg() float64 {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return 0
	}
	v, _ := strconv.ParseFloat(f[0], 64)
	return v
}

// Row is one line of the table: a workload's samples and the reference
// measured beside it, rep by rep.
type Row struct {
	Section  string  `json:"section"`
	Workload string  `json:"workload"`
	Unit     string  `json:"unit"`
	Median   float64 `json:"median"`
	Min      float64 `json:"min"`
	Max      float64 `json:"max"`
	// Reference names the physical reference ("noop round trips, same
	// connections", "local dir"...); RefMedian is its median over the same
	// reps, in the same unit.
	Reference  string    `json:"reference"`
	RefMedian  float64   `json:"reference_median"`
	Ratio      float64   `json:"ratio"`
	Samples    []float64 `json:"samples"`
	RefSamples []float64 `json:"reference_samples"`
	// Err says why the row has no (or fewer) samples: the workload failed
	// or was skipped. Empty when every rep ran.
	Err string `json:"error,omitempty"`
}

// add records one rep: the workload's value and the reference's.
func (r *Row) add(v, ref float64) {
	r.Samples = append(r.Samples, v)
	r.RefSamples = append(r.RefSamples, ref)
}

// fail records why the row stopped; the first error wins.
func (r *Row) fail(err error) {
	if r.Err == "" && err != nil {
		r.Err = err.Error()
	}
}

// summarize computes median, min, max and ratio from the samples.
func (r *Row) summarize() {
	r.Median, r.Min, r.Max = stats(r.Samples)
	r.RefMedian, _, _ = stats(r.RefSamples)
	r.Ratio = 0
	if r.RefMedian != 0 && len(r.Samples) > 0 {
		r.Ratio = r.Median / r.RefMedian
	}
}

// stats returns the median, minimum and maximum of xs (zeros when empty).
func stats(xs []float64) (median, lo, hi float64) {
	if len(xs) == 0 {
		return 0, 0, 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	n := len(s)
	median = s[n/2]
	if n%2 == 0 {
		median = (s[n/2-1] + s[n/2]) / 2
	}
	return median, s[0], s[n-1]
}

// Report is the outcome of one run.
type Report struct {
	Machine Machine `json:"machine"`
	Mode    string  `json:"mode"` // "quick", "full" or "tiny"
	Quick   bool    `json:"quick"`
	DB      string  `json:"db"` // "sqlite" or "mysql"
	Reps    int     `json:"reps"`
	Rows    []*Row  `json:"rows"`
	// Notes are free-form remarks printed under the table (what a section
	// measured, why it was skipped).
	Notes   []string `json:"notes,omitempty"`
	Elapsed float64  `json:"elapsed_seconds"`
	// SectionSeconds is the wall time of each section that ran.
	SectionSeconds map[string]float64 `json:"section_seconds"`
}

// Failed returns the rows that carry an error other than a skip.
func (rep *Report) Failed() []*Row {
	var out []*Row
	for _, r := range rep.Rows {
		if r.Err != "" && !strings.HasPrefix(r.Err, ErrSkipped.Error()) {
			out = append(out, r)
		}
	}
	return out
}

// WriteJSON writes the report as indented JSON.
func (rep *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(rep)
}

// tableHeader is the column row of the table.
var tableHeader = []string{"workload", "median", "min", "max", "unit", "reference", "ratio"}

// WriteTable writes the header line and the aligned Markdown table: one row
// per workload, grouped by section, then the notes.
func (rep *Report) WriteTable(w io.Writer) error {
	lines := [][]string{tableHeader}
	var foot []string // errors, numbered, under the table: they would not fit a column
	for _, r := range rep.Rows {
		name := r.Section + ": " + r.Workload
		if r.Err != "" {
			what, msg := "FAILED", r.Err
			if strings.HasPrefix(msg, ErrSkipped.Error()) {
				what, msg = "skipped", strings.TrimPrefix(strings.TrimPrefix(msg, ErrSkipped.Error()), ": ")
			}
			msg, _, _ = strings.Cut(msg, "\n")
			if len(msg) > 300 {
				msg = msg[:300] + "..."
			}
			foot = append(foot, fmt.Sprintf("[%d] %s: %s", len(foot)+1, name, msg))
			if len(r.Samples) == 0 {
				lines = append(lines, []string{name, fmt.Sprintf("%s [%d]", what, len(foot)), "", "", r.Unit, r.Reference, ""})
				continue
			}
			name += fmt.Sprintf(" (%s after %d reps [%d])", what, len(r.Samples), len(foot))
		}
		lines = append(lines, []string{name, num(r.Median), num(r.Min), num(r.Max), r.Unit,
			num(r.RefMedian) + " " + r.Reference, ratio(r.Ratio)})
	}
	width := make([]int, len(tableHeader))
	for _, l := range lines {
		for i, c := range l {
			width[i] = max(width[i], len(c))
		}
	}
	var b strings.Builder
	var secs []string
	for _, name := range []string{"tracker", "stord", "client", "mount", "scale", "million"} {
		if v, ok := rep.SectionSeconds[name]; ok {
			secs = append(secs, fmt.Sprintf("%s %.0fs", name, v))
		}
	}
	fmt.Fprintf(&b, "%s\nmogbench %s, %d reps, metadata on %s, %.0fs (%s); ratio = median / reference median (rates: 1.00 = as fast as the reference; memory: growth over start-up)\n\n",
		rep.Machine, rep.Mode, rep.Reps, rep.DB, rep.Elapsed, strings.Join(secs, ", "))
	for i, l := range lines {
		b.WriteString("|")
		for j, c := range l {
			if j >= 1 && j <= 3 || j == 6 { // numbers align right
				fmt.Fprintf(&b, " %*s |", width[j], c)
			} else {
				fmt.Fprintf(&b, " %-*s |", width[j], c)
			}
		}
		b.WriteString("\n")
		if i == 0 {
			b.WriteString("|")
			for j := range l {
				b.WriteString(strings.Repeat("-", width[j]+2) + "|")
			}
			b.WriteString("\n")
		}
	}
	for _, n := range rep.Notes {
		b.WriteString("\n- " + n)
	}
	if len(rep.Notes) > 0 {
		b.WriteString("\n")
	}
	if len(foot) > 0 {
		b.WriteString("\n" + strings.Join(foot, "\n") + "\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// num formats a figure with about three significant digits.
func num(v float64) string {
	a := math.Abs(v)
	switch {
	case a >= 1000:
		return strconv.FormatFloat(v, 'f', 0, 64)
	case a >= 100:
		return strconv.FormatFloat(v, 'f', 0, 64)
	case a >= 10:
		return strconv.FormatFloat(v, 'f', 1, 64)
	case a >= 1:
		return strconv.FormatFloat(v, 'f', 2, 64)
	case a == 0:
		return "0"
	default:
		return strconv.FormatFloat(v, 'g', 3, 64)
	}
}

func ratio(v float64) string {
	if v != 0 && math.Abs(v) < 0.01 {
		return strconv.FormatFloat(v, 'f', 4, 64)
	}
	return strconv.FormatFloat(v, 'f', 2, 64)
}
