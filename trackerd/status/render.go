package status

import (
	_ "embed"
	"fmt"
	"html/template"
	"io"
	"math"
	"time"
)

//go:embed page.html
var pageHTML string

// page is what the template sees: the snapshot plus totals.
type page struct {
	Snapshot
	Refresh              int
	Reachable, Writeable int
	MBUsed, MBTotal      int64
}

var pageTmpl = template.Must(template.New("page").Funcs(template.FuncMap{
	"mb":       formatMB,
	"pct":      formatPct,
	"barClass": barClass,
	"count":    formatCount,
	"dur":      formatDur,
	"clock":    func(t time.Time) string { return t.Format("2006-01-02 15:04:05 MST") },
	"rfc3339":  func(t time.Time) string { return t.Format(time.RFC3339) },
}).Parse(pageHTML))

// render writes the HTML page of s (already normalized).
func render(w io.Writer, s Snapshot) error {
	p := page{Snapshot: s, Refresh: RefreshSeconds}
	for _, h := range s.Hosts {
		if h.Reachable {
			p.Reachable++
		}
	}
	for _, d := range s.Devices {
		if d.State == "writeable" {
			p.Writeable++
		}
		if d.HaveUsage {
			p.MBUsed += d.MBUsed
			p.MBTotal += d.MBTotal
		}
	}
	return pageTmpl.Execute(w, p)
}

// formatMB shows a size given in MiB with a binary unit.
func formatMB(mb int64) string {
	switch {
	case mb >= 1<<20:
		return fmt.Sprintf("%.1f TiB", float64(mb)/(1<<20))
	case mb >= 1<<10:
		return fmt.Sprintf("%.1f GiB", float64(mb)/(1<<10))
	}
	return fmt.Sprintf("%d MiB", mb)
}

// formatPct shows a percentage with one decimal (see clampPct).
func formatPct(v any) string { return fmt.Sprintf("%.1f", clampPct(v)) }

// clampPct accepts a float64 or *float64 and clamps it to 0-100, so a bar
// never overflows whatever a node reported.
func clampPct(v any) float64 {
	var f float64
	switch x := v.(type) {
	case float64:
		f = x
	case *float64:
		if x != nil {
			f = *x
		}
	}
	if math.IsNaN(f) || f < 0 {
		f = 0
	}
	return min(f, 100)
}

// barClass colours a bar: green below 80 %, amber below 95 %, red above.
func barClass(v any) string {
	switch f := clampPct(v); {
	case f >= 95:
		return "crit"
	case f >= 80:
		return "warn"
	}
	return "ok"
}

func formatCount(n *int64) string {
	if n == nil {
		return "—"
	}
	return fmt.Sprint(*n)
}

// formatDur shows an uptime as "3d 4h 5m 6s" without leading zero units.
func formatDur(sec float64) string {
	d := time.Duration(sec) * time.Second
	days := d / (24 * time.Hour)
	d -= days * 24 * time.Hour
	if days > 0 {
		return fmt.Sprintf("%dd %s", days, d.Round(time.Minute))
	}
	return d.Round(time.Second).String()
}
