package monitor

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/base64"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strconv"
	"time"

	"mogfs/nodeproto"
	"mogfs/trackerd/meta"
)

// hostResult is what one round learned about one host.
type hostResult struct {
	reachable bool
	latency   time.Duration // the fastest usage probe that succeeded; 0: none
	dev       map[int]DevObs
	usage     map[int]nodeproto.Usage
}

// probeHost checks the host's monitored devices one after another, as the
// original does; a slow failure marks the host unreachable and skips the
// rest of its devices.
func (m *Monitor) probeHost(ctx context.Context, h meta.Host, devs []meta.Device) hostResult {
	r := hostResult{dev: map[int]DevObs{}, usage: map[int]nodeproto.Usage{}}
	m.mu.Lock()
	prev := make(map[int]DevObs, len(devs))
	for _, d := range devs {
		prev[d.ID] = m.obs[d.ID]
	}
	m.mu.Unlock()

	hostDown := false
	for _, d := range devs {
		if hostDown || ctx.Err() != nil {
			r.dev[d.ID] = DevObs{State: StateUnreachable}
			continue
		}
		start := time.Now()
		u, err := m.fetchUsage(ctx, h, d.ID)
		if err != nil {
			m.forgetWriteTest(d.ID)
			if time.Since(start) >= slowFailure {
				hostDown = true
				m.log.Debug("host unreachable", "host", h.Name, "devid", d.ID, "err", err)
			} else {
				m.log.Debug("device unreachable", "host", h.Name, "devid", d.ID, "err", err)
			}
			r.dev[d.ID] = DevObs{State: StateUnreachable}
			continue
		}
		r.reachable = true
		if took := max(time.Since(start), time.Nanosecond); r.latency == 0 || took < r.latency {
			r.latency = took
		}
		if u.Total > 0 {
			r.usage[d.ID] = u
		}
		r.dev[d.ID] = m.checkWritable(ctx, h, d, prev[d.ID], u)
	}
	if hostDown {
		r.reachable = false
		for _, d := range devs {
			r.dev[d.ID] = DevObs{State: StateUnreachable}
		}
	}
	return r
}

// fetchUsage GETs /devN/usage. A body that does not parse still proves the
// node answers (the original logs an error but keeps the host reachable), so
// it returns a zero Usage and no error.
func (m *Monitor) fetchUsage(ctx context.Context, h meta.Host, devid int) (nodeproto.Usage, error) {
	url := fmt.Sprintf("http://%s:%d/dev%d/usage", h.IP, getPort(h), devid)
	body, status, err := m.do(ctx, http.MethodGet, url, nil, nil)
	if err != nil {
		return nodeproto.Usage{}, err
	}
	if status != http.StatusOK {
		return nodeproto.Usage{}, fmt.Errorf("monitor: GET %s: status %d", url, status)
	}
	u, err := nodeproto.ParseUsage(body)
	if err != nil {
		m.log.Warn("bad usage file", "host", h.Name, "devid", devid, "err", err)
		return nodeproto.Usage{}, nil
	}
	return u, nil
}

func (m *Monitor) forgetWriteTest(devid int) {
	m.probeMu.Lock()
	delete(m.lastWriteTest, devid)
	m.probeMu.Unlock()
}

// checkWritable runs the write test and the Content-MD5 probe when due. A
// device that was not known readable or writeable (new, or back from being
// unreachable) is tested at once, so it is back within one round.
//
// The usage u the node just sent settles two cases without a test, in the
// round that first sees them rather than at the next test, up to
// WriteTestEvery later (a mogfs extension; see Usage.ReadOnly): a file
// system mounted read-only is readable at once, and a device with less
// than MinFreeMB free keeps its state untested (ShouldGetNewFiles already
// keeps files off it, and a test could only fail for want of room). Both
// forget the last test, so the first round after the device recovers
// tests it and it takes files again within that round.
func (m *Monitor) checkWritable(ctx context.Context, h meta.Host, d meta.Device, prev DevObs, u nodeproto.Usage) DevObs {
	if h.Status != "alive" || (d.Status != "alive" && d.Status != "drain") {
		// readonly host or device: readable without a write test.
		return DevObs{State: StateReadable, RejectBadMD5: prev.RejectBadMD5}
	}
	known := prev.State == StateWriteable || prev.State == StateReadable
	noRoom := u.Total > 0 && u.MBTotal()-u.MBUsed() < m.cfg.MinFreeMB
	if u.ReadOnly || (noRoom && known) {
		m.forgetWriteTest(d.ID)
		o := prev
		if u.ReadOnly {
			o = DevObs{State: StateReadable, RejectBadMD5: prev.RejectBadMD5}
		}
		if o.State != prev.State {
			m.log.Warn("device state", "host", h.Name, "devid", d.ID, "observed_state", o.State, "reason", "file system mounted read-only")
		}
		return o
	}
	now := time.Now()
	m.probeMu.Lock()
	last, tested := m.lastWriteTest[d.ID]
	mkcol := !m.mkcolDone[d.ID]
	m.probeMu.Unlock()
	if known && tested && now.Sub(last) < m.cfg.WriteTestEvery {
		return prev
	}

	base := fmt.Sprintf("http://%s:%d/dev%d/test-write", h.IP, httpPort(h), d.ID)
	getBase := fmt.Sprintf("http://%s:%d/dev%d/test-write", h.IP, getPort(h), d.ID)
	if mkcol {
		// Result ignored, as the original: PUT creates directories anyway.
		if _, status, err := m.do(ctx, "MKCOL", base+"/", nil, nil); err == nil && status < 500 {
			m.probeMu.Lock()
			m.mkcolDone[d.ID] = true
			m.probeMu.Unlock()
		}
	}
	o := DevObs{State: StateReadable, RejectBadMD5: prev.RejectBadMD5}
	for range 2 { // a mismatch is retried once
		n := rand.IntN(100)
		content := []byte(fmt.Sprintf("time=%d rand=%d", now.Unix(), n))
		path := "/test-write-" + strconv.Itoa(n)
		hdr := http.Header{"Content-Type": {"application/octet-stream"}}
		_, status, err := m.do(ctx, http.MethodPut, base+path, content, hdr)
		if err != nil || status/100 != 2 {
			break
		}
		got, status, err := m.do(ctx, http.MethodGet, getBase+path, nil, nil)
		if err != nil || status != http.StatusOK {
			break
		}
		if bytes.Equal(got, content) {
			o.State = StateWriteable
			break
		}
	}
	if o.State == StateWriteable {
		bad := md5.Sum([]byte("!"))
		hdr := http.Header{"Content-MD5": {base64.StdEncoding.EncodeToString(bad[:])}}
		if _, status, err := m.do(ctx, http.MethodPut, base+"/test-md5", []byte("."), hdr); err == nil {
			o.RejectBadMD5 = status/100 != 2
		}
	}
	m.probeMu.Lock()
	m.lastWriteTest[d.ID] = now
	m.probeMu.Unlock()
	if o.State != prev.State {
		m.log.Info("device state", "host", h.Name, "devid", d.ID, "observed_state", o.State)
	}
	return o
}

// do performs one request with the ConnTimeout deadline and returns the body
// (at most 1 MiB) and status.
func (m *Monitor) do(ctx context.Context, method, url string, body []byte, hdr http.Header) ([]byte, int, error) {
	ctx, cancel := context.WithTimeout(ctx, m.cfg.ConnTimeout)
	defer cancel()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, rd)
	if err != nil {
		return nil, 0, fmt.Errorf("monitor: %s %s: %w", method, url, err)
	}
	for k, v := range hdr {
		req.Header[k] = v
	}
	resp, err := m.cfg.HTTPClient.Do(req)
	if err != nil {
		return nil, 0, fmt.Errorf("monitor: %s %s: %w", method, url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, 0, fmt.Errorf("monitor: %s %s: read body: %w", method, url, err)
	}
	return b, resp.StatusCode, nil
}
