package metrics

import (
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Stord holds the storage node's families. Build it with NewStord.
type Stord struct {
	// Requests counts data-port requests by method and status code
	// (mogfs_stord_requests_total{method,code}).
	Requests *prometheus.CounterVec
	// Bytes counts body bytes by direction, "in" (PUT bodies) or "out"
	// (GET bodies) (mogfs_stord_bytes_total{direction}).
	Bytes *prometheus.CounterVec
	// RequestDuration observes request handling time in seconds by method
	// (mogfs_stord_request_duration_seconds{method}).
	RequestDuration *prometheus.HistogramVec
	// InFlight is the number of data-port requests being handled
	// (mogfs_stord_requests_in_flight).
	InFlight prometheus.Gauge
}

// NewStord creates the storage node families and registers them with reg.
func NewStord(reg prometheus.Registerer) *Stord {
	m := &Stord{
		Requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "mogfs_stord_requests_total",
			Help: "Data port requests handled, by method and HTTP status code.",
		}, []string{"method", "code"}),
		Bytes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "mogfs_stord_bytes_total",
			Help: "Body bytes moved by the data port, by direction (in = uploads, out = downloads).",
		}, []string{"direction"}),
		RequestDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "mogfs_stord_request_duration_seconds",
			Help:    "Time to handle a data port request, by method.",
			Buckets: DurationBuckets,
		}, []string{"method"}),
		InFlight: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "mogfs_stord_requests_in_flight",
			Help: "Data port requests being handled.",
		}),
	}
	reg.MustRegister(m.Requests, m.Bytes, m.RequestDuration, m.InFlight)
	// Pre-create the direction series so that both exist from the start:
	// rate() over a series that appears late loses its first increase.
	m.Bytes.WithLabelValues("in")
	m.Bytes.WithLabelValues("out")
	return m
}

// ObserveRequest records one finished request: method (mapped to "other"
// unless it is one the node serves), the status code sent (0 counts as 200,
// what net/http sends when a handler writes nothing), the body bytes read
// and written, and the duration. A nil *Stord does nothing.
func (m *Stord) ObserveRequest(method string, code int, in, out int64, d time.Duration) {
	if m == nil {
		return
	}
	method = StordMethod(method)
	if code == 0 {
		code = http.StatusOK
	}
	m.Requests.WithLabelValues(method, strconv.Itoa(code)).Inc()
	if in > 0 {
		m.Bytes.WithLabelValues("in").Add(float64(in))
	}
	if out > 0 {
		m.Bytes.WithLabelValues("out").Add(float64(out))
	}
	m.RequestDuration.WithLabelValues(method).Observe(d.Seconds())
}

// StordMethod returns method if the data port serves it and "other"
// otherwise, which keeps a client's junk methods out of the label set.
func StordMethod(method string) string {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodPut, http.MethodDelete, "MKCOL":
		return method
	}
	return "other"
}
