package jobs

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync/atomic"
	"time"

	"mogfs/nodeproto"
)

// copyStall fails a copy whose bytes stop moving for its limit (the
// node_timeout): a source that stops sending or a destination that stops
// taking (the node hung or cut off) would otherwise hold a replication
// worker for the whole CopyTimeout, 45 s and more, and with one worker
// every other file's replication waits with it. It runs from the GET
// until the destination has answered the PUT: every read of the source
// body, which the PUT then writes, restarts it, and once the body has
// ended the destination gets the limit plus the time to sync it
// (nodeproto.SyncAllowance) to answer.
type copyStall struct {
	*nodeproto.Stall
	// inSource says we wait on the source: for its answer to the GET,
	// then while a read of its body is in progress.
	inSource atomic.Bool
}

// newCopyStall arms the stall timer over ctx; the caller reads the source
// body through reader and calls Done when the copy is over.
func newCopyStall(ctx context.Context, limit time.Duration, srcURL, dstURL string) *copyStall {
	s := &copyStall{}
	s.inSource.Store(true)
	s.Stall = nodeproto.NewStall(ctx, limit, func(armed time.Duration) error {
		// Whichever side we were waiting on stopped.
		if s.inSource.Load() {
			return fmt.Errorf("%w: GET %s: %w: nothing received for %v", errSource, srcURL, errStalled, armed)
		}
		return fmt.Errorf("%w: PUT %s: %w: nothing taken for %v", errDest, dstURL, errStalled, armed)
	})
	return s
}

// errStalled marks a copy ended by its stall timer.
var errStalled = errors.New("stalled")

// answered stops the timer once the destination has answered the PUT;
// what follows (HEAD, digest) has its own timeouts.
func (s *copyStall) answered() { s.Pause() }

// err returns the stall's error, which says which side stopped, in place
// of the cancellation it caused.
func (s *copyStall) err(err error) error { return s.Err(err, errStalled) }

// reader wraps the source body, once the source has answered: from then
// on we wait on the destination except inside a read.
func (s *copyStall) reader(r io.Reader) io.Reader {
	s.inSource.Store(false)
	return &stallReader{r: r, s: s}
}

type stallReader struct {
	r io.Reader
	s *copyStall
	n int64 // bytes read
}

func (sr *stallReader) Read(p []byte) (int, error) {
	sr.s.inSource.Store(true)
	n, err := sr.r.Read(p)
	sr.s.inSource.Store(false)
	sr.n += int64(n)
	switch err {
	case nil:
		sr.s.Progress(sr.n, false)
	case io.EOF:
		sr.s.Progress(sr.n, true)
	default:
		sr.s.Pause() // a failure the copy reports itself
	}
	return n, err
}
