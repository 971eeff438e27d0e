package metrics

import (
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// TrackerSnapshot is the tracker state exported as gauges, read once per
// scrape. Building it should be cheap (memory, or a few indexed queries with
// a short timeout), because a scrape waits for it.
type TrackerSnapshot struct {
	// Queues maps queue name ("replicate", "delete", "fsck", "rebalance")
	// to its number of rows.
	Queues map[string]int64
	// ReplicationLag is how long the oldest due replication job has been
	// waiting; 0 when the queue holds nothing due.
	ReplicationLag time.Duration
	// Files is the number of live files; negative means unknown and omits
	// the series.
	Files int64
	// Devices lists every device known to the tracker.
	Devices []DeviceSample
}

// DeviceSample is one device as the monitor last saw it.
type DeviceSample struct {
	DevID int
	Host  string // host name (the label; stable across IP changes)
	// HaveUsage reports that MBTotal and MBUsed are known; without it the
	// usage series are omitted rather than exported as 0.
	HaveUsage bool
	MBTotal   int64
	MBUsed    int64
	// HaveUtilization reports that Utilization is known; without it the
	// series is omitted.
	HaveUtilization   bool
	Utilization       float64 // iostat %util, 0-100
	ObservedWriteable bool
}

// trackerCollector turns a TrackerSnapshot into const metrics at scrape time.
type trackerCollector struct {
	snap func() TrackerSnapshot

	queue, lag, files, mbTotal, mbUsed, util, writeable *prometheus.Desc
}

// NewTrackerCollector returns a collector that calls snap on every scrape
// and exports mogfs_tracker_queue_depth{queue},
// mogfs_tracker_replication_lag_seconds, mogfs_tracker_files,
// mogfs_device_mb_total{devid,host}, mogfs_device_mb_used{devid,host},
// mogfs_device_utilization{devid,host} and
// mogfs_device_observed_writeable{devid,host}. Register it with the same
// registry as NewTracker's families.
func NewTrackerCollector(snap func() TrackerSnapshot) prometheus.Collector {
	dev := []string{"devid", "host"}
	return &trackerCollector{
		snap:      snap,
		queue:     prometheus.NewDesc("mogfs_tracker_queue_depth", "Rows in a work queue, due or not.", []string{"queue"}, nil),
		lag:       prometheus.NewDesc("mogfs_tracker_replication_lag_seconds", "Age of the oldest due replication job (0 when none is due).", nil, nil),
		files:     prometheus.NewDesc("mogfs_tracker_files", "Live files in the namespace.", nil, nil),
		mbTotal:   prometheus.NewDesc("mogfs_device_mb_total", "Device capacity in MiB, as last reported by its node.", dev, nil),
		mbUsed:    prometheus.NewDesc("mogfs_device_mb_used", "Device space used in MiB, as last reported by its node.", dev, nil),
		util:      prometheus.NewDesc("mogfs_device_utilization", "Device I/O utilisation in percent (iostat %util).", dev, nil),
		writeable: prometheus.NewDesc("mogfs_device_observed_writeable", "1 when the monitor's last write test on the device succeeded.", dev, nil),
	}
}

// Describe implements prometheus.Collector.
func (c *trackerCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.queue, c.lag, c.files, c.mbTotal, c.mbUsed, c.util, c.writeable} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (c *trackerCollector) Collect(ch chan<- prometheus.Metric) {
	s := c.snap()
	for q, n := range s.Queues {
		ch <- prometheus.MustNewConstMetric(c.queue, prometheus.GaugeValue, float64(n), q)
	}
	ch <- prometheus.MustNewConstMetric(c.lag, prometheus.GaugeValue, s.ReplicationLag.Seconds())
	if s.Files >= 0 {
		ch <- prometheus.MustNewConstMetric(c.files, prometheus.GaugeValue, float64(s.Files))
	}
	for _, d := range s.Devices {
		id := strconv.Itoa(d.DevID)
		if d.HaveUsage {
			ch <- prometheus.MustNewConstMetric(c.mbTotal, prometheus.GaugeValue, float64(d.MBTotal), id, d.Host)
			ch <- prometheus.MustNewConstMetric(c.mbUsed, prometheus.GaugeValue, float64(d.MBUsed), id, d.Host)
		}
		if d.HaveUtilization {
			ch <- prometheus.MustNewConstMetric(c.util, prometheus.GaugeValue, d.Utilization, id, d.Host)
		}
		ch <- prometheus.MustNewConstMetric(c.writeable, prometheus.GaugeValue, b2f(d.ObservedWriteable), id, d.Host)
	}
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// ParseUtilization parses the monitor's iostat %util string ("3.50"); "-",
// "" and junk report false.
func ParseUtilization(s string) (float64, bool) {
	v, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil || v != v || v < 0 {
		return 0, false
	}
	return v, true
}
