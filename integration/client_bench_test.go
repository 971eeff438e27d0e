package integration

import (
	"bytes"
	"fmt"
	"runtime"
	"strconv"
	"sync/atomic"
	"testing"
	"time"
)

// BenchmarkStore4K stores 4 KiB files end to end (create_open, PUT,
// create_close) from 8 goroutines; files/s is the figure to watch.
func BenchmarkStore4K(b *testing.B) {
	c := StartCluster(b, ClusterOpts{})
	cl := c.Client(b)
	data := bytes.Repeat([]byte("x"), 4096)
	var n atomic.Int64
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	b.SetParallelism(max(1, 8/runtimeProcs()))
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			key := "/bench/s" + strconv.FormatInt(n.Add(1), 10)
			if _, err := cl.Store(b.Context(), c.Opts.Domain, key, c.Opts.Class, bytes.NewReader(data), int64(len(data))); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "files/s")
}

// BenchmarkGetPaths measures get_paths round trips (noverify) from 8
// goroutines over the pooled tracker connections.
func BenchmarkGetPaths(b *testing.B) {
	c := StartCluster(b, ClusterOpts{})
	cl := c.Client(b)
	if _, err := cl.Store(b.Context(), c.Opts.Domain, "/bench/gp", c.Opts.Class, bytes.NewReader([]byte("hello")), 5); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.SetParallelism(max(1, 8/runtimeProcs()))
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := cl.GetPaths(b.Context(), c.Opts.Domain, "/bench/gp", true, 0); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "get_paths/s")
}

// BenchmarkFetch4K fetches a 4 KiB file end to end (get_paths + GET) from 8
// goroutines.
func BenchmarkFetch4K(b *testing.B) {
	c := StartCluster(b, ClusterOpts{})
	cl := c.Client(b)
	data := bytes.Repeat([]byte("y"), 4096)
	if _, err := cl.Store(b.Context(), c.Opts.Domain, "/bench/f", c.Opts.Class, bytes.NewReader(data), int64(len(data))); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	b.SetParallelism(max(1, 8/runtimeProcs()))
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		var buf bytes.Buffer
		for pb.Next() {
			buf.Reset()
			if _, err := cl.Fetch(b.Context(), c.Opts.Domain, "/bench/f", &buf); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "files/s")
}

func runtimeProcs() int { return runtime.GOMAXPROCS(0) }

// BenchmarkStoreSteps times the three steps of one small upload on their
// own, one at a time (the latency a close(2) of the mount waits for):
// create_open, the PUT of 4 KiB to the first destination, create_close.
func BenchmarkStoreSteps(b *testing.B) {
	c := StartCluster(b, ClusterOpts{})
	cl := c.Client(b)
	ctx := b.Context()
	data := make([]byte, 4096)
	var open, put, closeT time.Duration
	i := 0
	for b.Loop() {
		i++
		key := fmt.Sprintf("steps/%d", i)
		t0 := time.Now()
		o, err := cl.CreateOpen(ctx, c.Opts.Domain, key, c.Opts.Class, 4096)
		if err != nil {
			b.Fatal(err)
		}
		t1 := time.Now()
		if err := cl.Put(ctx, o.Dests[0].Path, bytes.NewReader(data), 4096); err != nil {
			b.Fatal(err)
		}
		t2 := time.Now()
		if err := cl.CreateClose(ctx, c.Opts.Domain, key, o.FID, o.Dests[0], 4096, ""); err != nil {
			b.Fatal(err)
		}
		open, put, closeT = open+t1.Sub(t0), put+t2.Sub(t1), closeT+time.Since(t2)
	}
	n := float64(i)
	b.ReportMetric(float64(open.Microseconds())/n, "open-µs/op")
	b.ReportMetric(float64(put.Microseconds())/n, "put-µs/op")
	b.ReportMetric(float64(closeT.Microseconds())/n, "close-µs/op")
}
