package jobs

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"mogfs/trackerd/meta"
	"mogfs/trackerd/meta/metatest"
)

// TestLeaseRenewedWhileWorking: two job masters on one database, a lease of
// three seconds and a job that runs for five. The running job's lease is
// renewed, so the other master never takes the row; without renewal it
// would have run twice.
func TestLeaseRenewedWhileWorking(t *testing.T) {
	st := metatest.NewSQLite(t)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	if err := st.Enqueue(ctx, meta.Job{Queue: meta.QueueReplicate, FID: 42}); err != nil {
		t.Fatal(err)
	}
	var runs atomic.Int64
	done := make(chan struct{})
	handle := func(ctx context.Context, job meta.Job) {
		runs.Add(1)
		select {
		case <-time.After(5 * time.Second):
		case <-ctx.Done():
			return
		}
		if err := st.Finish(ctx, meta.QueueReplicate, job.FID); err != nil {
			t.Error(err)
		}
		close(done)
	}
	var wg sync.WaitGroup
	var masters []*Jobs
	for range 2 {
		j := New(Config{Store: st, ReplicateJobs: 1, DeleteJobs: -1, FsckJobs: -1, Poll: 50 * time.Millisecond, Lease: 3 * time.Second})
		masters = append(masters, j)
		wg.Go(func() { j.runQueue(ctx, meta.QueueReplicate, handle) })
	}
	select {
	case <-done:
	case <-time.After(15 * time.Second):
		t.Fatal("the job did not finish")
	}
	time.Sleep(3500 * time.Millisecond) // past the lease: a second run would have started
	cancel()
	wg.Wait()
	if n := runs.Load(); n != 1 {
		t.Errorf("the row ran %d times, want once", n)
	}
	renewed := masters[0].Stats()["leases_renewed"] + masters[1].Stats()["leases_renewed"]
	if renewed < 3 {
		t.Errorf("leases renewed %d times, want at least 3 in 5 s with a 3 s lease", renewed)
	}
}
