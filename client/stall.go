package client

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync/atomic"
	"time"

	"mogfs/nodeproto"
)

// A storage node can accept a connection and then answer nothing: the
// process is stopped or wedged (the kernel still completes handshakes into
// its listen backlog), or the network between us dropped it. The
// transport's ResponseHeaderTimeout does not cover that: it starts only
// once the whole request is written, and a PUT whose body fills the socket
// buffers blocks in the write for ever; nor does anything bound the body
// of a GET that stops half way. A watchdog does, per transfer: it fails
// the transfer with ErrNodeTimeout when no byte has moved for
// Config.Timeout while we waited on the node, so Fetch and the store
// methods go on to the next path or destination.

// watchdog cancels one transfer's context once it has been armed for its
// limit without being re-armed. It is armed only while we wait on the
// node (connecting, sending, awaiting the answer, reading the body) and
// paused while we wait on the caller (the reader of an upload, the writer
// a download goes to, a ReadRange consumer between reads), so a slow
// caller never trips it.
type watchdog struct {
	ctx    context.Context
	cancel context.CancelCauseFunc
	timer  *time.Timer
	limit  time.Duration
	armed  atomic.Int64 // the duration last armed, for the error
}

// watch derives the transfer's context from ctx and arms the watchdog.
// The caller must call done when the transfer is over.
func (c *Client) watch(ctx context.Context, method, url string) *watchdog {
	w := &watchdog{limit: c.timeout}
	w.ctx, w.cancel = context.WithCancelCause(ctx)
	w.armed.Store(int64(w.limit))
	w.timer = time.AfterFunc(w.limit, func() {
		w.cancel(fmt.Errorf("%s %s: %w (nothing moved for %v)", method, url, ErrNodeTimeout, time.Duration(w.armed.Load())))
	})
	return w
}

// arm restarts the countdown at d.
func (w *watchdog) arm(d time.Duration) {
	w.armed.Store(int64(d))
	w.timer.Reset(d)
}

// pause stops the countdown until the next arm.
func (w *watchdog) pause() { w.timer.Stop() }

// done releases the transfer's context.
func (w *watchdog) done() {
	w.timer.Stop()
	w.cancel(nil)
}

// err returns the watchdog's ErrNodeTimeout in place of the context error
// it caused; other errors are returned as they are.
func (w *watchdog) err(err error) error {
	if err == nil {
		return nil
	}
	if cause := context.Cause(w.ctx); errors.Is(cause, ErrNodeTimeout) {
		return cause
	}
	return err
}

// upload wraps a PUT's body: the countdown runs while the transport sends
// what it read, not while the caller's reader produces it. Once the body
// has ended the node gets the limit plus the time to sync what was sent.
type upload struct {
	r io.Reader
	w *watchdog
	n int64
}

func (u *upload) Read(p []byte) (int, error) {
	u.w.pause()
	n, err := u.r.Read(p)
	u.n += int64(n)
	if err == io.EOF {
		u.w.arm(u.w.limit + nodeproto.SyncAllowance(u.n))
	} else {
		u.w.arm(u.w.limit)
	}
	return n, err
}

// download wraps a response body: the countdown runs only inside Read,
// and Close releases the transfer.
type download struct {
	body io.ReadCloser
	w    *watchdog
}

func (d *download) Read(p []byte) (int, error) {
	d.w.arm(d.w.limit)
	n, err := d.body.Read(p)
	d.w.pause()
	if err != nil && err != io.EOF {
		err = d.w.err(err)
	}
	return n, err
}

func (d *download) Close() error {
	err := d.body.Close()
	d.w.done()
	return err
}
