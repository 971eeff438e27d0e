package metrics

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Mount holds the FUSE mount's event families. Build it with NewMount.
type Mount struct {
	// Ops counts filesystem operations by name ("lookup", "read",
	// "write", "readdir", ...) (mogfs_mount_ops_total{op}).
	Ops *prometheus.CounterVec
	// OpErrors counts operations that failed, by name and errno name
	// ("ENOENT", "EIO") (mogfs_mount_op_errors_total{op,errno}).
	OpErrors *prometheus.CounterVec
	// OpDuration observes operation time in seconds by name
	// (mogfs_mount_op_duration_seconds{op}).
	OpDuration *prometheus.HistogramVec
	// UploadBytes counts bytes PUT to storage nodes
	// (mogfs_mount_upload_bytes_total).
	UploadBytes prometheus.Counter
	// DownloadBytes counts bytes fetched from storage nodes, cache misses
	// only (mogfs_mount_download_bytes_total).
	DownloadBytes prometheus.Counter
	// StreamedBytes counts the uploaded bytes that went to the node while
	// the file was being written, not read back from the staging file
	// (mogfs_mount_streamed_bytes_total).
	StreamedBytes prometheus.Counter
}

// CacheStats is the block cache's state read at scrape time.
type CacheStats struct {
	Hits, Misses uint64 // cumulative lookups
	Bytes        int64  // block data currently held
}

// NewMount creates the mount families and registers them with reg. When
// cache is not nil it also registers a collector that calls it on every
// scrape and exports mogfs_mount_cache_hits_total,
// mogfs_mount_cache_misses_total and mogfs_mount_cache_bytes, so the cache
// keeps its own atomic counters and nothing is counted twice.
func NewMount(reg prometheus.Registerer, cache func() CacheStats) *Mount {
	m := &Mount{
		Ops: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "mogfs_mount_ops_total",
			Help: "Filesystem operations handled by the mount, by operation.",
		}, []string{"op"}),
		OpErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "mogfs_mount_op_errors_total",
			Help: "Filesystem operations that returned an error, by operation and errno.",
		}, []string{"op", "errno"}),
		OpDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "mogfs_mount_op_duration_seconds",
			Help:    "Time to handle a filesystem operation, by operation.",
			Buckets: DurationBuckets,
		}, []string{"op"}),
		UploadBytes: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "mogfs_mount_upload_bytes_total",
			Help: "Bytes uploaded to storage nodes.",
		}),
		DownloadBytes: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "mogfs_mount_download_bytes_total",
			Help: "Bytes downloaded from storage nodes.",
		}),
		StreamedBytes: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "mogfs_mount_streamed_bytes_total",
			Help: "Uploaded bytes streamed to storage nodes as they were written.",
		}),
	}
	reg.MustRegister(m.Ops, m.OpErrors, m.OpDuration, m.UploadBytes, m.DownloadBytes, m.StreamedBytes)
	if cache != nil {
		reg.MustRegister(&cacheCollector{
			stats:  cache,
			hits:   prometheus.NewDesc("mogfs_mount_cache_hits_total", "Block cache lookups that hit.", nil, nil),
			misses: prometheus.NewDesc("mogfs_mount_cache_misses_total", "Block cache lookups that missed.", nil, nil),
			bytes:  prometheus.NewDesc("mogfs_mount_cache_bytes", "Block data held by the cache.", nil, nil),
		})
	}
	return m
}

// ObserveOp records one operation; errno is "" on success, else the errno
// name (e.g. "ENOENT"). A nil *Mount does nothing.
func (m *Mount) ObserveOp(op, errno string, d time.Duration) {
	if m == nil {
		return
	}
	m.Ops.WithLabelValues(op).Inc()
	if errno != "" {
		m.OpErrors.WithLabelValues(op, errno).Inc()
	}
	m.OpDuration.WithLabelValues(op).Observe(d.Seconds())
}

// AddUpload counts n uploaded bytes. A nil *Mount does nothing.
func (m *Mount) AddUpload(n int64) {
	if m != nil && n > 0 {
		m.UploadBytes.Add(float64(n))
	}
}

// AddStreamed counts n bytes uploaded by a stream. A nil *Mount does
// nothing.
func (m *Mount) AddStreamed(n int64) {
	if m != nil && n > 0 {
		m.StreamedBytes.Add(float64(n))
	}
}

// AddDownload counts n downloaded bytes. A nil *Mount does nothing.
func (m *Mount) AddDownload(n int64) {
	if m != nil && n > 0 {
		m.DownloadBytes.Add(float64(n))
	}
}

// cacheCollector exports CacheStats at scrape time.
type cacheCollector struct {
	stats               func() CacheStats
	hits, misses, bytes *prometheus.Desc
}

// Describe implements prometheus.Collector.
func (c *cacheCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.hits
	ch <- c.misses
	ch <- c.bytes
}

// Collect implements prometheus.Collector.
func (c *cacheCollector) Collect(ch chan<- prometheus.Metric) {
	s := c.stats()
	ch <- prometheus.MustNewConstMetric(c.hits, prometheus.CounterValue, float64(s.Hits))
	ch <- prometheus.MustNewConstMetric(c.misses, prometheus.CounterValue, float64(s.Misses))
	ch <- prometheus.MustNewConstMetric(c.bytes, prometheus.GaugeValue, float64(s.Bytes))
}
