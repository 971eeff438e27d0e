package jobs

import (
	"bufio"
	"context"
	"crypto/md5"
	"crypto/sha1"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Hash types of class.hashtype and the checksum table.
const (
	hashMD5  = 1
	hashSHA1 = 2
)

func hashName(t int) string {
	switch t {
	case hashMD5:
		return "MD5"
	case hashSHA1:
		return "SHA-1"
	}
	return ""
}

func newHash(t int) hash.Hash {
	switch t {
	case hashMD5:
		return md5.New()
	case hashSHA1:
		return sha1.New()
	}
	return nil
}

func randFloat() float64 { return rand.Float64() }

func fidLockName(fid int64) string { return "mgfs:fid:" + strconv.FormatInt(fid, 10) + ":replicate" }

// FIDPath returns the URL path of fid's replica on devid
// (/dev<N>/<B>/<MMM>/<TTT>/<F10>.fid, DevFID.pm::uri_path).
func FIDPath(devid int, fid int64) string {
	f := fmt.Sprintf("%010d", fid)
	return fmt.Sprintf("/dev%d/%s/%s/%s/%s.fid", devid, f[0:1], f[1:4], f[4:7], f)
}

// nodes does the HTTP and side-channel requests to storage nodes.
type nodes struct {
	client     *http.Client
	timeout    time.Duration
	streamPort int
}

// errMissing is returned when a replica does not exist (404, MD5=-1).
var errMissing = errors.New("jobs: file missing on device")

// head returns the Content-Length of url, errMissing on 404, or another
// error when the node could not be asked.
func (n *nodes) head(ctx context.Context, url string) (int64, error) {
	ctx, cancel := context.WithTimeout(ctx, n.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodHead, url, nil)
	if err != nil {
		return 0, err
	}
	resp, err := n.client.Do(req)
	if err != nil {
		return 0, fmt.Errorf("jobs: HEAD %s: %w", url, err)
	}
	resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusNotFound:
		return 0, errMissing
	case resp.StatusCode/100 != 2:
		return 0, fmt.Errorf("jobs: HEAD %s: status %d", url, resp.StatusCode)
	case resp.ContentLength < 0:
		return 0, fmt.Errorf("jobs: HEAD %s: no Content-Length", url)
	}
	return resp.ContentLength, nil
}

// simple sends a body-less request (DELETE, MKCOL) and returns the status.
func (n *nodes) simple(ctx context.Context, method, url string) (int, error) {
	ctx, cancel := context.WithTimeout(ctx, n.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, url, nil)
	if err != nil {
		return 0, err
	}
	resp, err := n.client.Do(req)
	if err != nil {
		return 0, fmt.Errorf("jobs: %s %s: %w", method, url, err)
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	return resp.StatusCode, nil
}

// digest returns the hashtype digest of the replica at path on the node
// hostIP: asked over the side channel (`MD5 <uri>[ fsck]`), falling back to
// hashing an HTTP GET of getURL when the node does not answer digests.
// errMissing when the file is not there.
func (n *nodes) digest(ctx context.Context, hostIP, getURL, path string, hashtype int, size int64, fsck bool) ([]byte, error) {
	if n.streamPort > 0 {
		sum, err := n.digestMgmt(ctx, hostIP, path, hashtype, size, fsck)
		if err == nil || errors.Is(err, errMissing) || ctx.Err() != nil {
			return sum, err
		}
	}
	return n.digestGet(ctx, getURL, hashtype, size)
}

var digestRE = regexp.MustCompile(`^(\S+) (?:MD5|SHA-1)=([a-f0-9]{32,128}|-1)\r?\n$`)

func (n *nodes) digestMgmt(ctx context.Context, hostIP, path string, hashtype int, size int64, fsck bool) ([]byte, error) {
	// The original waits size/2MiB + node_timeout seconds (+1 h for fsck,
	// whose requests queue per disk).
	wait := n.timeout + time.Duration(size/(2<<20))*time.Second
	if fsck {
		wait += time.Hour
	}
	ctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	var d net.Dialer
	c, err := d.DialContext(ctx, "tcp", net.JoinHostPort(hostIP, strconv.Itoa(n.streamPort)))
	if err != nil {
		return nil, fmt.Errorf("jobs: side channel %s: %w", hostIP, err)
	}
	defer c.Close()
	stop := context.AfterFunc(ctx, func() { c.Close() })
	defer stop()
	req := hashName(hashtype) + " " + path
	if fsck {
		req += " fsck"
	}
	if _, err := io.WriteString(c, req+"\r\n"); err != nil {
		return nil, fmt.Errorf("jobs: side channel %s: %w", hostIP, err)
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return nil, fmt.Errorf("jobs: side channel %s: %w", hostIP, err)
	}
	m := digestRE.FindStringSubmatch(line)
	if m == nil || m[1] != path {
		return nil, fmt.Errorf("jobs: side channel %s: unexpected reply %q", hostIP, strings.TrimSpace(line))
	}
	if m[2] == "-1" {
		return nil, errMissing
	}
	return hex.DecodeString(m[2])
}

func (n *nodes) digestGet(ctx context.Context, url string, hashtype int, size int64) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, copyTimeout(size))
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	resp, err := n.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("jobs: GET %s: %w", url, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusNotFound {
		return nil, errMissing
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("jobs: GET %s: status %d", url, resp.StatusCode)
	}
	h := newHash(hashtype)
	if _, err := io.Copy(h, resp.Body); err != nil {
		return nil, fmt.Errorf("jobs: GET %s: %w", url, err)
	}
	return h.Sum(nil), nil
}

// copyTimeout bounds a whole transfer of size bytes: generous at 1 MiB/s.
func copyTimeout(size int64) time.Duration {
	return 45*time.Second + time.Duration(size>>20)*time.Second
}
