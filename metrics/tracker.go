package metrics

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// DurationBuckets are the histogram buckets for request latencies, from a
// cached get_paths (~100 µs) to a multi-second stall.
var DurationBuckets = []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10}

// Tracker holds the event-driven families of trackerd. Build it with
// NewTracker; state (queues, devices) goes through NewTrackerCollector.
type Tracker struct {
	// Requests counts protocol requests by command
	// (mogfs_tracker_requests_total{command}).
	Requests *prometheus.CounterVec
	// RequestErrors counts ERR replies by command and wire error code
	// (mogfs_tracker_request_errors_total{command,code}).
	RequestErrors *prometheus.CounterVec
	// RequestDuration observes the handling time of each request in
	// seconds (mogfs_tracker_request_duration_seconds{command}).
	RequestDuration *prometheus.HistogramVec
	// Connections is the number of open client connections
	// (mogfs_tracker_connections).
	Connections prometheus.Gauge
	// Jobs counts background job outcomes by job and outcome
	// (mogfs_tracker_jobs_total{job,outcome}), e.g. job="replicate",
	// outcome="ok"|"retry"|"failed".
	Jobs *prometheus.CounterVec
}

// NewTracker creates the tracker families and registers them with reg. It
// panics if they are already registered there (one Tracker per registry).
func NewTracker(reg prometheus.Registerer) *Tracker {
	m := &Tracker{
		Requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "mogfs_tracker_requests_total",
			Help: "Tracker protocol requests handled, by command.",
		}, []string{"command"}),
		RequestErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "mogfs_tracker_request_errors_total",
			Help: "Tracker protocol requests answered with ERR, by command and error code.",
		}, []string{"command", "code"}),
		RequestDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "mogfs_tracker_request_duration_seconds",
			Help:    "Time to handle a tracker protocol request, by command.",
			Buckets: DurationBuckets,
		}, []string{"command"}),
		Connections: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "mogfs_tracker_connections",
			Help: "Open tracker protocol client connections.",
		}),
		Jobs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "mogfs_tracker_jobs_total",
			Help: "Background job outcomes (replicate, delete, fsck, rebalance, reaper, ...), by job and outcome.",
		}, []string{"job", "outcome"}),
	}
	reg.MustRegister(m.Requests, m.RequestErrors, m.RequestDuration, m.Connections, m.Jobs)
	return m
}

// ObserveRequest records one handled request: it counts it, counts an error
// when code (the wire error code, e.g. "unknown_key") is not empty, and
// observes d. cmd must come from the tracker's command table; pass
// "unknown_command" for anything else. A nil *Tracker does nothing, so a
// tracker built without metrics needs no checks.
func (m *Tracker) ObserveRequest(cmd, code string, d time.Duration) {
	if m == nil {
		return
	}
	m.Requests.WithLabelValues(cmd).Inc()
	if code != "" {
		m.RequestErrors.WithLabelValues(cmd, code).Inc()
	}
	m.RequestDuration.WithLabelValues(cmd).Observe(d.Seconds())
}

// JobOutcome counts one outcome of a background job. A nil *Tracker does
// nothing.
func (m *Tracker) JobOutcome(job, outcome string) {
	if m == nil {
		return
	}
	m.Jobs.WithLabelValues(job, outcome).Inc()
}
