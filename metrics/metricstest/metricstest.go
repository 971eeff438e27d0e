// Package metricstest scrapes a /metrics endpoint in tests and looks up
// samples by name and labels, so a test can assert that a counter moved on
// a real daemon.
package metricstest

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// Families is one scrape: metric families by name.
type Families map[string]*dto.MetricFamily

// Scrape GETs url (a /metrics endpoint) and parses the text exposition
// format, failing the test on any error.
func Scrape(t testing.TB, url string) Families {
	t.Helper()
	f, err := ScrapeContext(t.Context(), url)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// ScrapeContext is Scrape returning errors, for polling loops.
func ScrapeContext(ctx context.Context, url string) (Families, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	// Ask for text explicitly: the parser below reads only that format.
	req.Header.Set("Accept", "text/plain;version=0.0.4")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("metricstest: scrape %s: %w", url, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		return nil, fmt.Errorf("metricstest: scrape %s: %s: %s", url, resp.Status, b)
	}
	return Parse(resp.Body)
}

// Parse reads the text exposition format.
func Parse(r io.Reader) (Families, error) {
	p := expfmt.NewTextParser(model.UTF8Validation)
	m, err := p.TextToMetricFamilies(r)
	if err != nil {
		return nil, fmt.Errorf("metricstest: parse: %w", err)
	}
	return Families(m), nil
}

// Value returns the value of the series of family name whose labels include
// the given name/value pairs: a counter's or gauge's value, a histogram's
// sample count. With several matching series it returns their sum, so
// Value("mogfs_stord_requests_total", "method", "PUT") adds every status
// code. ok is false when no series matches.
func (f Families) Value(name string, labelPairs ...string) (v float64, ok bool) {
	mf := f[name]
	if mf == nil {
		return 0, false
	}
	for _, m := range mf.GetMetric() {
		if !hasLabels(m, labelPairs) {
			continue
		}
		ok = true
		switch {
		case m.Counter != nil:
			v += m.Counter.GetValue()
		case m.Gauge != nil:
			v += m.Gauge.GetValue()
		case m.Histogram != nil:
			v += float64(m.Histogram.GetSampleCount())
		case m.Untyped != nil:
			v += m.Untyped.GetValue()
		case m.Summary != nil:
			v += float64(m.Summary.GetSampleCount())
		}
	}
	return v, ok
}

// String lists the family names, for failure messages.
func (f Families) String() string {
	var names []string
	for n := range f {
		names = append(names, n)
	}
	return strings.Join(names, " ")
}

func hasLabels(m *dto.Metric, pairs []string) bool {
	for i := 0; i+1 < len(pairs); i += 2 {
		found := false
		for _, l := range m.GetLabel() {
			if l.GetName() == pairs[i] && l.GetValue() == pairs[i+1] {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}
