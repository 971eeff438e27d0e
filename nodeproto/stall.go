package nodeproto

import (
	"context"
	"errors"
	"sync/atomic"
	"time"
)

// Stall bounds a transfer with a storage node by its progress rather than
// its total time. A node can accept a connection and then answer nothing
// (stopped, wedged, cut off: the kernel still completes handshakes into
// its listen backlog), and an HTTP transport's timeouts do not cover that
// (a PUT whose body fills the socket buffers blocks in the write for ever;
// nothing bounds a body that stops half way). The transfer runs under
// Context, which is cancelled with the caller's cause once the countdown
// last armed runs out before it is armed again or paused: the caller arms
// it while it waits on the node and pauses it while it waits on itself.
type Stall struct {
	ctx    context.Context
	cancel context.CancelCauseFunc
	timer  *time.Timer
	limit  time.Duration // the countdown NewStall set, which Progress re-arms
	armed  atomic.Int64  // the duration last armed, for the cause
}

// NewStall derives the transfer's context from ctx and arms the countdown
// at d; cause makes the error the context is cancelled with, from the
// duration last armed. The caller must call Done when the transfer is over.
func NewStall(ctx context.Context, d time.Duration, cause func(armed time.Duration) error) *Stall {
	s := &Stall{limit: d}
	s.ctx, s.cancel = context.WithCancelCause(ctx)
	s.armed.Store(int64(d))
	s.timer = time.AfterFunc(d, func() { s.cancel(cause(time.Duration(s.armed.Load()))) })
	return s
}

// Context is the transfer's context.
func (s *Stall) Context() context.Context { return s.ctx }

// Arm restarts the countdown at d.
func (s *Stall) Arm(d time.Duration) {
	s.armed.Store(int64(d))
	s.timer.Reset(d)
}

// Progress re-arms the countdown after bytes moved: at the limit NewStall
// set, or, once a body of sent bytes has ended, at the limit plus the time
// a node may take to sync that many (SyncAllowance).
func (s *Stall) Progress(sent int64, ended bool) {
	if ended {
		s.Arm(s.limit + SyncAllowance(sent))
		return
	}
	s.Arm(s.limit)
}

// Pause stops the countdown until the next Arm.
func (s *Stall) Pause() { s.timer.Stop() }

// Done releases the timer and the context.
func (s *Stall) Done() {
	s.timer.Stop()
	s.cancel(nil)
}

// Err returns the stall's cause in place of the cancellation it caused
// when the cause is target; err otherwise (nil stays nil).
func (s *Stall) Err(err, target error) error {
	if err == nil {
		return nil
	}
	if cause := context.Cause(s.ctx); errors.Is(cause, target) {
		return cause
	}
	return err
}
