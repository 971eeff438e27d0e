package vfs

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync/atomic"
	"time"

	"mogfs/client"
	"mogfs/protocol"
)

// preOpenMaxAge is how long an early create_open is trusted: after that the
// tracker may have reaped its temp row, or its destinations gone bad, so
// the upload asks for a fresh one.
const preOpenMaxAge = 10 * time.Minute

// PreOpen is a create_open issued when a file is created or opened for
// writing, in the background, so that close(2) only has to PUT and
// create_close: one tracker round trip less on the path a caller waits for.
// An unused PreOpen costs a temp row, which the tracker reaps.
type PreOpen struct {
	done    chan struct{}
	at      time.Time
	res     client.OpenResult
	err     error
	claimed atomic.Bool // an upload or a stream took it: a fid is PUT once
}

// claim takes p for one upload; false if another took it already.
func (p *PreOpen) claim() bool { return !p.claimed.Swap(true) }

// Streamer returns what a Session calls at the first write of a new
// content to stream it to the store as it is written: a PUT to pre's
// first destination (see client.Stream). It returns nil when pre is
// already used or failed, or when streaming is off: a storage node that
// refused a chunked body (the original mogstored) turns it off for the
// mount, and uploads read the staging file again. -o writeback does not
// stream: its close does not upload.
func (fs *FS) Streamer(pre *PreOpen) func(ctx context.Context) *client.Stream {
	return func(ctx context.Context) *client.Stream {
		if !fs.streaming() || pre == nil || time.Since(pre.at) >= preOpenMaxAge || !pre.claim() {
			return nil
		}
		open, err := pre.wait(ctx)
		if err != nil {
			return nil
		}
		st, err := fs.c.StartStream(open)
		if err != nil {
			return nil
		}
		return st
	}
}

// LateStreamer is Streamer for a content that has no early create_open of
// its own: the next one of a file whose empty content was just stored (a
// shell redirect or dd closes a duplicate descriptor before writing). It
// takes a create_open only when the content is big enough to stream, so a
// file that stays small costs none.
func (fs *FS) LateStreamer(domain, key string) func(ctx context.Context) *client.Stream {
	return func(ctx context.Context) *client.Stream {
		if !fs.streaming() {
			return nil
		}
		return fs.Streamer(fs.PreOpen(domain, key))(ctx)
	}
}

// streaming reports whether uploads may stream.
func (fs *FS) streaming() bool { return !fs.noStream.Load() && fs.wb == nil }

// streamRefused reports whether a stream failed because the node does not
// take chunked bodies.
func streamRefused(err error) bool {
	var he *client.HTTPError
	return errors.As(err, &he) && (he.Status == 411 || he.Status == 400 || he.Status == 501)
}

// PreOpen returns a create_open for key with the mount's class and no
// size: one made ahead (openPool) when there is one, else a new one.
func (fs *FS) PreOpen(domain, key string) *PreOpen {
	fs.fresh.named(domain, key)
	return fs.pool.take(domain, key)
}

// ClosePool gives up the create_opens made ahead and waits for those in
// flight (each bounded by a minute); for unmount.
func (fs *FS) ClosePool() {
	fs.pool.close()
	fs.opens.Wait()
}

// startOpen starts a create_open in the background.
func (fs *FS) startOpen(domain, key string) *PreOpen {
	p := &PreOpen{done: make(chan struct{}), at: time.Now()}
	fs.opens.Go(func() {
		defer close(p.done)
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		p.res, p.err = fs.c.CreateOpen(ctx, domain, key, fs.opt.Class, -1)
	})
	return p
}

// FID waits for the create_open and returns the fid it reserved: unique,
// never reused, so it serves as the new file's inode number. no_devices
// is ErrNoSpace.
func (p *PreOpen) FID(ctx context.Context) (int64, error) {
	res, err := p.wait(ctx)
	if protocol.IsCode(err, "no_devices") {
		return 0, fmt.Errorf("%w: %v", ErrNoSpace, err)
	}
	return res.FID, err
}

// wait returns the create_open's answer.
func (p *PreOpen) wait(ctx context.Context) (client.OpenResult, error) {
	select {
	case <-p.done:
		return p.res, p.err
	case <-ctx.Done():
		return client.OpenResult{}, ctx.Err()
	}
}

// closeAttrs reports whether create_close takes the attribute extension
// (mogfs_caps create_close_attrs=1), asking the tracker once.
func (fs *FS) closeAttrs(ctx context.Context) bool {
	switch fs.caps.Load() {
	case capYes:
		return true
	case capNo:
		return false
	}
	caps, err := fs.c.Caps(ctx)
	if err != nil {
		return false // ask again next time
	}
	if caps["create_close_attrs"] == "1" {
		fs.caps.Store(capYes)
		return true
	}
	fs.caps.Store(capNo)
	return false
}

// Values of FS.caps.
const (
	capUnknown = iota
	capYes
	capNo
)

// Upload is what StoreSession needs besides the content: the early
// create_open, if any, and the attributes to record with the new content.
type Upload struct {
	Pre *PreOpen
	// Stream, when not nil, holds the content's bytes already sent; if it
	// has all size bytes the upload only ends it and records the file.
	Stream *client.Stream
	// Attr is the file's full attribute row to store with the content (a
	// new file, or one whose row is known); nil records only the mtime
	// and ctime, with a separate setattr.
	Attr  *Attr
	MTime time.Time // the content's modification time
}

// StoreSession returns the StoreFunc that uploads new content of key: PUT
// to the early create_open's destinations (or a fresh create_open's), then
// create_close carrying the attributes when the tracker can take them;
// otherwise one mogfs_setattr after the close. If the early create_open
// failed or went stale, or its create_close or every destination failed,
// the whole upload is tried once more from a fresh create_open sized for
// the content. Every destination refusing for lack of space (507), or
// no_devices, is ErrNoSpace.
func (fs *FS) StoreSession(domain, key string, up Upload) StoreFunc {
	fs.fresh.named(domain, key)
	return func(ctx context.Context, r io.ReaderAt, size int64) (int64, error) {
		now := time.Now()
		var ca *client.Attr
		if up.Attr != nil && fs.closeAttrs(ctx) {
			ca = &client.Attr{Mode: up.Attr.Mode, UID: up.Attr.UID, GID: up.Attr.GID, MTime: up.MTime, CTime: now, Ino: up.Attr.Ino}
		}
		var fid int64
		err := errNoPreOpen
		if st := up.Stream; st != nil {
			// The stream's fid is not recorded until its create_close: a
			// stream that fails or falls short is stored again from the
			// staging file under the same fid (a PUT replaces a partial
			// copy), on every destination.
			fid = st.Open().FID
			if st.Written() == size {
				if err = st.Finish(ctx, domain, key, ca); err == nil {
					fs.met.AddStreamed(size)
				}
			} else {
				st.Abort()
				err = errStreamShort
			}
			if err != nil && ctx.Err() == nil {
				if streamRefused(err) {
					fs.noStream.Store(true)
				}
				if err != errStreamShort {
					fs.log.Warn("streamed upload failed, storing the staged copy", "key", key, "err", err)
				}
				err = fs.c.StoreOpened(ctx, domain, key, st.Open(), r, size, ca)
			}
		} else if up.Pre != nil && time.Since(up.Pre.at) < preOpenMaxAge && up.Pre.claim() {
			var open client.OpenResult
			if open, err = up.Pre.wait(ctx); err == nil {
				fid = open.FID
				err = fs.c.StoreOpened(ctx, domain, key, open, r, size, ca)
			}
			if err != nil && ctx.Err() == nil {
				fs.log.Warn("upload on early create_open failed, starting over", "key", key, "err", err)
			}
		}
		if err != nil && ctx.Err() == nil && !isNoTrackers(err) {
			var open client.OpenResult
			if open, err = fs.c.CreateOpen(ctx, domain, key, fs.opt.Class, size); err == nil {
				fid = open.FID
				err = fs.c.StoreOpened(ctx, domain, key, open, r, size, ca)
			}
		}
		if err != nil {
			if protocol.IsCode(err, "no_devices") || allNoSpace(err) {
				return 0, fmt.Errorf("%w: %v", ErrNoSpace, err)
			}
			return 0, err
		}
		fs.met.AddUpload(size)
		if ca == nil {
			ch := AttrChange{MTime: &up.MTime, CTime: &now}
			if up.Attr != nil {
				ch.Mode, ch.UID, ch.GID = &up.Attr.Mode, &up.Attr.UID, &up.Attr.GID
				if up.Attr.Ino != 0 {
					ch.Ino = &up.Attr.Ino
				}
			}
			if err := fs.setAttr(ctx, domain, key, ch); err != nil && !errors.Is(err, ErrNotSupported) {
				return fid, fmt.Errorf("vfs: attributes of %s: %w", key, err)
			}
		}
		return fid, nil
	}
}

// errNoPreOpen starts StoreSession without an early create_open.
var errNoPreOpen = errors.New("vfs: no early create_open")

// errStreamShort: the stream holds less than the content (a write went
// elsewhere after it was taken).
var errStreamShort = errors.New("vfs: stream short of the content")

func isNoTrackers(err error) bool { return errors.Is(err, client.ErrNoTrackers) }

// allNoSpace reports whether an upload failed on every destination with
// 507 Insufficient Storage.
func allNoSpace(err error) bool {
	if !errors.Is(err, client.ErrNoPaths) {
		return false
	}
	var found, other bool
	var walk func(error)
	walk = func(e error) {
		if he, ok := e.(*client.HTTPError); ok {
			if he.Status == 507 {
				found = true
			} else {
				other = true
			}
			return
		}
		switch u := e.(type) {
		case interface{ Unwrap() []error }:
			for _, x := range u.Unwrap() {
				walk(x)
			}
		case interface{ Unwrap() error }:
			if x := u.Unwrap(); x != nil {
				walk(x)
			} else {
				other = true
			}
		default:
			if e != client.ErrNoPaths {
				other = true
			}
		}
	}
	walk(err)
	return found && !other
}
