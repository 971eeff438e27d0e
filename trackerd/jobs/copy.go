package jobs

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/base64"
	"errors"
	"fmt"
	"hash"
	"io"
	"log/slog"
	"net/http"
	"path"

	"mogfs/nodeproto"
	"mogfs/trackerd/meta"
	"mogfs/trackerd/monitor"
)

// copyArgs describes one replica copy (HTTPFile / Replicate.pm::http_copy).
type copyArgs struct {
	fid       int64
	length    int64
	src, dst  int
	sumType   int    // hashtype of the stored checksum row (0: none)
	sum       []byte // stored checksum (raw)
	classHash int    // class hashtype (0: none)
}

// copyResult carries the digest computed while streaming (for classHash).
type copyResult struct {
	classSum []byte
}

// httpCopy streams the replica from src to dst and verifies it (size by HEAD,
// checksums as the class requires). It does not record the copy. Errors wrap
// errSource or errDest to say which side failed.
func (j *Jobs) httpCopy(ctx context.Context, snap *monitor.Snapshot, a copyArgs) (res copyResult, err error) {
	ctx, cancel := context.WithTimeout(ctx, nodeproto.CopyTimeout(a.length))
	defer cancel()
	srcURL := "http://" + snap.GetHostPort(a.src) + nodeproto.FIDPath(a.src, a.fid)
	dstPath := nodeproto.FIDPath(a.dst, a.fid)
	dstURL := "http://" + snap.HostPort(a.dst) + dstPath

	// MKCOL the leaf directory; the result is ignored as in the original
	// (a PUT creates directories anyway).
	j.nodes.Do(ctx, "MKCOL", "http://"+snap.HostPort(a.dst)+path.Dir(dstPath)+"/")

	stall := newCopyStall(ctx, j.cfg.NodeTimeout, srcURL, dstURL)
	defer stall.Done()
	defer func() { err = stall.err(err) }()
	ctx = stall.Context()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, srcURL, nil)
	if err != nil {
		return copyResult{}, fmt.Errorf("%w: %v", errSource, err)
	}
	resp, err := j.nodes.HTTP.Do(req)
	if err != nil {
		return copyResult{}, fmt.Errorf("%w: GET %s: %v", errSource, srcURL, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return copyResult{}, fmt.Errorf("%w: GET %s: status %d", errSource, srcURL, resp.StatusCode)
	}
	if resp.ContentLength != a.length {
		return copyResult{}, fmt.Errorf("%w: GET %s: Content-Length %d, file length %d", errSource, srcURL, resp.ContentLength, a.length)
	}

	var sumH, classH hash.Hash
	var ws []io.Writer
	if a.sumType != 0 {
		sumH = nodeproto.NewHash(a.sumType)
		ws = append(ws, sumH)
	}
	if a.classHash != 0 {
		if a.classHash == a.sumType {
			classH = sumH
		} else {
			classH = nodeproto.NewHash(a.classHash)
			ws = append(ws, classH)
		}
	}
	body := io.Reader(resp.Body)
	if len(ws) > 0 {
		body = io.TeeReader(body, io.MultiWriter(ws...))
	}
	// The source must deliver exactly length bytes.
	body = stall.reader(&exactReader{r: body, left: a.length})

	put, err := http.NewRequestWithContext(ctx, http.MethodPut, dstURL, body)
	if err != nil {
		return copyResult{}, fmt.Errorf("%w: %v", errDest, err)
	}
	put.ContentLength = a.length
	if a.length == 0 {
		put.Body = http.NoBody
	}
	if a.sumType == nodeproto.HashMD5 && len(a.sum) == md5.Size {
		put.Header.Set("Content-MD5", base64.StdEncoding.EncodeToString(a.sum))
	}
	presp, err := j.nodes.HTTP.Do(put)
	stall.answered()
	if err != nil {
		var se *sourceReadError
		if errors.As(err, &se) {
			return copyResult{}, fmt.Errorf("%w: GET %s: %v", errSource, srcURL, se.err)
		}
		return copyResult{}, fmt.Errorf("%w: PUT %s: %v", errDest, dstURL, err)
	}
	io.Copy(io.Discard, io.LimitReader(presp.Body, 64<<10))
	presp.Body.Close()
	if presp.StatusCode/100 != 2 {
		return copyResult{}, fmt.Errorf("%w: PUT %s: status %d", errDest, dstURL, presp.StatusCode)
	}
	if sumH != nil && !bytes.Equal(sumH.Sum(nil), a.sum) {
		return copyResult{}, fmt.Errorf("%w: %s: checksum mismatch while copying fid %d", errSource, srcURL, a.fid)
	}

	size, err := j.head(ctx, dstURL)
	if err != nil || size != a.length {
		return copyResult{}, fmt.Errorf("%w: HEAD %s after copy: size %d, want %d: %v", errDest, dstURL, size, a.length, err)
	}
	if classH != nil {
		res.classSum = classH.Sum(nil)
		// Re-read the destination unless the node verified Content-MD5
		// itself (Replicate.pm skips it for reject_bad_md5 nodes).
		verified := a.classHash == nodeproto.HashMD5 && a.sumType == nodeproto.HashMD5 && snap.Dev[a.dst].RejectBadMD5
		if !verified {
			h := snap.Hosts[snap.Devices[a.dst].HostID]
			got, err := j.nodes.Digest(ctx, h.IP, "http://"+snap.GetHostPort(a.dst)+dstPath, dstPath, a.classHash, a.length, false)
			if err != nil {
				return copyResult{}, fmt.Errorf("%w: digest of %s: %v", errDest, dstURL, err)
			}
			if !bytes.Equal(got, res.classSum) {
				return copyResult{}, fmt.Errorf("%w: %s: checksum mismatch after copy", errDest, dstURL)
			}
		}
	}
	return res, nil
}

// sourceReadError marks a failure reading the source body inside a PUT.
type sourceReadError struct{ err error }

func (e *sourceReadError) Error() string { return "source read: " + e.err.Error() }

// exactReader yields exactly left bytes from r; a short source is an error
// (not a silent EOF that would store a truncated replica).
type exactReader struct {
	r    io.Reader
	left int64
}

func (e *exactReader) Read(p []byte) (int, error) {
	if e.left <= 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > e.left {
		p = p[:e.left]
	}
	n, err := e.r.Read(p)
	e.left -= int64(n)
	if err == io.EOF && e.left > 0 {
		return n, &sourceReadError{io.ErrUnexpectedEOF}
	}
	if err != nil && err != io.EOF {
		return n, &sourceReadError{err}
	}
	if e.left == 0 {
		return n, io.EOF
	}
	return n, nil
}

// replicaSet is one file's copy loop state, shared by the replicator and
// the rebalancer: the file, its class, its stored checksum (hashtype 0:
// none) and the copies found unreadable so far.
type replicaSet struct {
	f       meta.File
	cls     meta.Class
	sumType int
	sum     []byte
	devids  []int // the file's copies, growing as copies are made
	badSrc  map[int]bool
}

// errNoSource means no copy of the file is left to copy from.
var errNoSource = errors.New("jobs: no readable copy")

// copyTo copies the file to dst from a readable copy (prefer first),
// records the class checksum the copy computed if none was stored, and
// adds dst to file_on and rs.devids. When the copy fails it returns false
// and a nil error after noting the failed side (a bad source, or dst in
// skip) so the caller tries again; errNoSource when no source is left.
// report, when not "", names the job whose failures reach OnError.
func (j *Jobs) copyTo(ctx context.Context, snap *monitor.Snapshot, log *slog.Logger, report string, rs *replicaSet, prefer, dst int, skip map[int]bool) (bool, error) {
	src, ok := j.pickSource(snap, rs.devids, rs.badSrc, prefer)
	if !ok {
		return false, errNoSource
	}
	res, err := j.httpCopy(ctx, snap, copyArgs{
		fid: rs.f.FID, length: rs.f.Length, src: src, dst: dst,
		sumType: rs.sumType, sum: rs.sum, classHash: rs.cls.HashType,
	})
	if ctx.Err() != nil {
		return false, ctx.Err()
	}
	if err != nil {
		log.Info("copy failed", "fid", rs.f.FID, "src", src, "dst", dst, "err", err)
		if report != "" {
			j.reportErr(report, rs.f.FID, dst, fmt.Errorf("copy from dev%d: %w", src, err))
		}
		if errors.Is(err, errSource) {
			rs.badSrc[src] = true
		} else {
			skip[dst] = true
		}
		return false, nil
	}
	if rs.cls.HashType != 0 && rs.sumType == 0 && len(res.classSum) > 0 {
		if err := j.cfg.Store.SetChecksum(ctx, rs.f.FID, rs.cls.HashType, res.classSum); err != nil {
			return false, err
		}
		rs.sumType, rs.sum = rs.cls.HashType, res.classSum
	}
	if err := j.cfg.Store.AddFileOn(ctx, rs.f.FID, dst); err != nil {
		return false, err
	}
	log.Debug("copied", "fid", rs.f.FID, "src", src, "dst", dst)
	rs.devids = append(rs.devids, dst)
	return true, nil
}
