package nodeproto

import (
	"context"
	"fmt"
	"io"
	"net/http"
)

// Probe is what a storage node answered about one replica URL, whatever
// the status: what a diagnostic tool (mogfiledebug) shows of each copy.
// HeadProbe and GetProbe report any answer with its status line;
// Client.Head and Client.DigestGet, for the tracker's own checks, are
// built on them and turn a 404 into ErrMissing.
type Probe struct {
	Status       string // the status line without the protocol: "200 OK", "404 Not Found"
	Code         int
	LastModified string // the Last-Modified header; "" when none
	// Length is, for a HEAD, the Content-Length header (-1 when none);
	// for a GET, the body bytes read (0 unless the status is 2xx).
	Length int64
	// Sum is, for a GET with a 2xx status, the digest of the bytes read;
	// nil otherwise.
	Sum []byte
}

// HeadProbe sends HEAD url and reports the answer, a 404 or 500 as well as
// a 200. An error (wrapping ErrUnreachable and its cause) means there was
// no answer.
func (c *Client) HeadProbe(ctx context.Context, url string) (Probe, error) {
	ctx, cancel := c.bound(ctx, c.Timeout)
	defer cancel()
	resp, err := c.probe(ctx, http.MethodHead, url)
	if err != nil {
		return Probe{}, err
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	p := probeOf(resp)
	p.Length = resp.ContentLength
	return p, nil
}

// GetProbe GETs url and, when the status is 2xx, counts and digests (with
// hashtype) the body; other answers' bodies are discarded. size, the
// expected length, bounds the whole transfer (CopyTimeout). An error
// (wrapping ErrUnreachable) means no answer, or a body cut short: then the
// Probe holds the status and what was read.
func (c *Client) GetProbe(ctx context.Context, url string, hashtype int, size int64) (Probe, error) {
	h := NewHash(hashtype)
	if h == nil {
		return Probe{}, fmt.Errorf("nodeproto: unknown hash type %d", hashtype)
	}
	ctx, cancel := context.WithTimeout(ctx, CopyTimeout(size))
	defer cancel()
	resp, err := c.probe(ctx, http.MethodGet, url)
	if err != nil {
		return Probe{}, err
	}
	defer resp.Body.Close()
	p := probeOf(resp)
	p.Length = 0
	if resp.StatusCode/100 != 2 {
		io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		return p, nil
	}
	p.Length, err = io.Copy(h, resp.Body)
	p.Sum = h.Sum(nil)
	if err != nil {
		return p, fmt.Errorf("%w: GET %s: body: %w", ErrUnreachable, url, err)
	}
	return p, nil
}

func (c *Client) probe(ctx context.Context, method, url string) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, method, url, nil)
	if err != nil {
		return nil, fmt.Errorf("%w: %s %s: %w", ErrUnreachable, method, url, err)
	}
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%w: %s %s: %w", ErrUnreachable, method, url, err)
	}
	return resp, nil
}

// err is the tracker's reading of an answer: a 404 is ErrMissing, and an
// answer other than ok (a status, or 2 for any 2xx) is ErrUnreachable.
func (p Probe) err(method, url string, ok int) error {
	switch {
	case p.Code == http.StatusNotFound:
		return fmt.Errorf("%w: %s %s: %s", ErrMissing, method, url, p.Status)
	case ok == 2 && p.Code/100 != 2, ok != 2 && p.Code != ok:
		return fmt.Errorf("%w: %s %s: %s", ErrUnreachable, method, url, p.Status)
	}
	return nil
}

func probeOf(resp *http.Response) Probe {
	return Probe{Status: resp.Status, Code: resp.StatusCode, LastModified: resp.Header.Get("Last-Modified"), Length: -1}
}
