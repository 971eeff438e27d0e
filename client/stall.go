package client

import (
	"context"
	"fmt"
	"io"
	"time"

	"mogfs/nodeproto"
)

// A transfer with a storage node fails with ErrNodeTimeout when no byte
// has moved for Config.Timeout while we waited on the node (see
// nodeproto.Stall for why the transport's own timeouts do not do it), so
// Fetch and the store methods go on to the next path or destination.

// watchdog is the transfer's nodeproto.Stall at the client's timeout. It
// is armed only while we wait on the node (connecting, sending, awaiting
// the answer, reading the body) and paused while we wait on the caller
// (the reader of an upload, the writer a download goes to, a ReadRange
// consumer between reads), so a slow caller never trips it.
type watchdog struct {
	*nodeproto.Stall
}

// watch derives the transfer's context from ctx and arms the watchdog.
// The caller must call Done when the transfer is over.
func (c *Client) watch(ctx context.Context, method, url string) *watchdog {
	return &watchdog{Stall: nodeproto.NewStall(ctx, c.timeout, func(armed time.Duration) error {
		return fmt.Errorf("%s %s: %w (nothing moved for %v)", method, url, ErrNodeTimeout, armed)
	})}
}

// err returns the watchdog's ErrNodeTimeout in place of the context error
// it caused; other errors are returned as they are.
func (w *watchdog) err(err error) error { return w.Err(err, ErrNodeTimeout) }

// upload wraps a PUT's body: the countdown runs while the transport sends
// what it read, not while the caller's reader produces it. Once the body
// has ended the node gets the limit plus the time to sync what was sent.
type upload struct {
	r io.Reader
	w *watchdog
	n int64
}

func (u *upload) Read(p []byte) (int, error) {
	u.w.Pause()
	n, err := u.r.Read(p)
	u.n += int64(n)
	u.w.Progress(u.n, err == io.EOF)
	return n, err
}

// download wraps a response body: the countdown runs only inside Read,
// and Close releases the transfer.
type download struct {
	body io.ReadCloser
	w    *watchdog
}

func (d *download) Read(p []byte) (int, error) {
	d.w.Progress(0, false)
	n, err := d.body.Read(p)
	d.w.Pause()
	if err != nil && err != io.EOF {
		err = d.w.err(err)
	}
	return n, err
}

func (d *download) Close() error {
	err := d.body.Close()
	d.w.Done()
	return err
}
