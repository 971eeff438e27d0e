package nodeproto

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"time"
)

// Client does the requests a tracker makes of storage nodes: HEAD, DELETE
// and MKCOL over HTTP, and digests over the side channel with a GET
// fallback. The tracker's commands, its jobs and its monitor share it.
type Client struct {
	HTTP       *http.Client
	Timeout    time.Duration // bounds each request; 0: only the caller's context
	StreamPort int           // the side channel (7501); <= 0: digests only by GET
}

// A failed request to a node is one of these (HTTPFile.pm's words), wrapped
// with its cause.
var (
	ErrMissing     = errors.New("nodeproto: file missing on device") // 404, or MD5=-1
	ErrUnreachable = errors.New("nodeproto: cannot reach")           // no answer, or another status
)

func (c *Client) bound(ctx context.Context, d time.Duration) (context.Context, context.CancelFunc) {
	if d <= 0 {
		return context.WithCancel(ctx)
	}
	return context.WithTimeout(ctx, d)
}

// Head returns the Content-Length of url, or -1 when the node sent none:
// HeadProbe with a 404 as ErrMissing and any other non-2xx answer as
// ErrUnreachable.
func (c *Client) Head(ctx context.Context, url string) (int64, error) {
	p, err := c.HeadProbe(ctx, url)
	if err != nil {
		return 0, err
	}
	if err := p.err(http.MethodHead, url, 2); err != nil {
		return 0, err
	}
	return p.Length, nil
}

// Do sends a body-less request (DELETE, MKCOL) and returns the status.
func (c *Client) Do(ctx context.Context, method, url string) (int, error) {
	ctx, cancel := c.bound(ctx, c.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, url, nil)
	if err != nil {
		return 0, err
	}
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return 0, fmt.Errorf("%w: %s %s: %v", ErrUnreachable, method, url, err)
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	return resp.StatusCode, nil
}

// Digest returns the hashtype digest of the replica at path on the node
// hostIP: asked over the side channel (`MD5 <uri>[ fsck]`), falling back to
// hashing an HTTP GET of getURL when the node does not answer digests.
// ErrMissing when the file is not there.
func (c *Client) Digest(ctx context.Context, hostIP, getURL, path string, hashtype int, size int64, fsck bool) ([]byte, error) {
	if c.StreamPort > 0 {
		sum, err := c.digestSide(ctx, hostIP, path, hashtype, size, fsck)
		if err == nil || errors.Is(err, ErrMissing) || ctx.Err() != nil {
			return sum, err
		}
	}
	return c.DigestGet(ctx, getURL, hashtype, size)
}

func (c *Client) digestSide(ctx context.Context, hostIP, path string, hashtype int, size int64, fsck bool) ([]byte, error) {
	// The original waits size/2MiB + node_timeout seconds (+1 h for fsck,
	// whose requests queue per disk).
	wait := c.Timeout + time.Duration(size/(2<<20))*time.Second
	if fsck {
		wait += time.Hour
	}
	ctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	var d net.Dialer
	addr := net.JoinHostPort(hostIP, strconv.Itoa(c.StreamPort))
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("nodeproto: side channel %s: %w", addr, err)
	}
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	if _, err := io.WriteString(conn, DigestRequest(HashName(hashtype), path, fsck)); err != nil {
		return nil, fmt.Errorf("nodeproto: side channel %s: %w", addr, err)
	}
	line, err := bufio.NewReader(conn).ReadString('\n')
	if err != nil {
		return nil, fmt.Errorf("nodeproto: side channel %s: %w", addr, err)
	}
	sum, missing, err := ParseDigestReply(line, path)
	switch {
	case err != nil:
		return nil, fmt.Errorf("%w from %s: %q", err, addr, line)
	case missing:
		return nil, fmt.Errorf("%w: %s on %s", ErrMissing, path, addr)
	}
	return sum, nil
}

// DigestGet hashes an HTTP GET of url: GetProbe with a 404 as ErrMissing
// and any answer but 200 as ErrUnreachable.
func (c *Client) DigestGet(ctx context.Context, url string, hashtype int, size int64) ([]byte, error) {
	p, err := c.GetProbe(ctx, url, hashtype, size)
	if err == nil {
		err = p.err(http.MethodGet, url, http.StatusOK)
	}
	if err != nil {
		return nil, err
	}
	return p.Sum, nil
}

// CopyTimeout bounds a whole transfer of size bytes: generous at 1 MiB/s.
func CopyTimeout(size int64) time.Duration {
	return 45*time.Second + time.Duration(size>>20)*time.Second
}

// SyncRate is the slowest rate, in bytes per second, at which a node is
// expected to make an upload durable: it fdatasyncs the file before it
// answers the PUT, so the wait for that answer grows with the size.
const SyncRate = 16 << 20

// SyncAllowance is how much longer than its usual answer time a node may
// take to answer a PUT of size bytes: the time to sync them at SyncRate.
func SyncAllowance(size int64) time.Duration {
	return time.Duration(size) * time.Second / SyncRate
}
