package client

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"
)

// Stream is a PUT whose body is written while it is in flight: the bytes of
// a file still being written go to the storage node as they come
// (chunked, so the length need not be known), and Finish records the file
// with create_close once the writer is done. It goes to the first
// destination of a create_open only: a stream cannot be replayed, so a
// caller that may need another destination keeps its own copy of the bytes
// (and stores them with StoreOpened after a failed stream).
//
// Chunked bodies are a stord feature: the original mogstored refuses them,
// and such a refusal ends the stream like any other failure.
type Stream struct {
	c    *Client
	open OpenResult
	pw   *io.PipeWriter
	stop context.CancelFunc
	done chan struct{} // closed when the PUT has answered
	err  error         // the PUT's result, once done

	mu      sync.Mutex // guards written
	written int64
}

// StartStream starts the PUT of open's fid to its first destination.
func (c *Client) StartStream(open OpenResult) (*Stream, error) {
	if len(open.Dests) == 0 {
		return nil, fmt.Errorf("client: stream fid %d: %w", open.FID, ErrNoPaths)
	}
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	s := &Stream{c: c, open: open, pw: pw, stop: cancel, done: make(chan struct{})}
	go func() {
		defer close(s.done)
		s.err = c.put(ctx, open.Dests[0].Path, pr, -1, nil)
		// A PUT that ended early (refused, node gone) fails the writes
		// still to come at once instead of blocking them.
		pr.CloseWithError(errStreamEnded(s.err))
	}()
	return s, nil
}

func errStreamEnded(err error) error {
	if err == nil {
		return errors.New("client: stream already answered")
	}
	return err
}

// Written is how many bytes the stream has taken.
func (s *Stream) Written() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.written
}

// streamStall is how long one Write may wait for the node to take its
// bytes before the stream is given up (the caller still has them): a node
// that accepts a connection and stops reading must not hang the writer.
var streamStall = 30 * time.Second

// Write sends p; it blocks while the node is slower than the writer, up to
// streamStall. An error means the stream is lost (Abort it); nothing else
// is.
func (s *Stream) Write(p []byte) (int, error) {
	stall := time.AfterFunc(streamStall, func() {
		s.stop()
		s.pw.CloseWithError(fmt.Errorf("client: stream to %s stalled for %v", s.open.Dests[0].Path, streamStall))
	})
	n, err := s.pw.Write(p)
	stall.Stop()
	s.mu.Lock()
	s.written += int64(n)
	s.mu.Unlock()
	return n, err
}

// Abort ends the PUT without a file; the destination keeps no complete
// copy (the body never ended) and the fid stays unrecorded.
func (s *Stream) Abort() {
	s.stop()
	s.pw.CloseWithError(errors.New("client: stream aborted"))
	<-s.done
}

// Finish ends the body, waits for the node's answer and records the file
// under key with create_close: the file is stored when it returns nil. A
// non-nil attr rides on the create_close, as in StoreOpened.
func (s *Stream) Finish(ctx context.Context, domain, key string, attr *Attr) error {
	s.pw.Close()
	select {
	case <-s.done:
	case <-ctx.Done():
		s.Abort()
		return ctx.Err()
	}
	if s.err != nil {
		return fmt.Errorf("client: streamed put of %s: %w", key, s.err)
	}
	return s.c.createClose(ctx, domain, key, s.open.FID, s.open.Dests[0], s.Written(), "", attr)
}

// Open is the create_open the stream writes to.
func (s *Stream) Open() OpenResult { return s.open }
