package nodeproto

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// Usage is one device's /devN/usage file (§4), in the units of
// `df -P -k`: KiB.
type Usage struct {
	Available int64  // KiB available to unprivileged users
	Used      int64  // KiB in use
	Total     int64  // KiB; mogfs writes used + available (reserved blocks excluded on purpose)
	Device    string // mount source, df's first column ("/dev/sdb1")
	Disk      string // mount point, or docroot/devN when that is not a devN mount
	Time      int64  // unix seconds
	// ReadOnly reports that the file system is mounted read-only (a
	// mogfs extension, the line "readonly: 1", written only then; the
	// original tracker ignores keys it does not know). A kernel remounts a
	// failing disk read-only; the tracker then stops sending it files at
	// its next round instead of at its next write test.
	ReadOnly bool
}

// MBUsed is the used space in MiB, rounded down as the original's int(used/1024).
func (u Usage) MBUsed() int64 { return u.Used / 1024 }

// MBTotal is the total space in MiB, rounded down.
func (u Usage) MBTotal() int64 { return u.Total / 1024 }

// Format renders u as mogstored's usage file: "key: value" lines, keys
// sorted, use rounded up like df's Capacity column.
func (u Usage) Format() string {
	pct := int64(0)
	if u.Total > 0 {
		pct = (u.Used*100 + u.Total - 1) / u.Total
	}
	ro := ""
	if u.ReadOnly {
		ro = "readonly: 1\n"
	}
	return fmt.Sprintf("available: %d\ndevice: %s\ndisk: %s\n%stime: %d\ntotal: %d\nuse: %d%%\nused: %d\n",
		u.Available, u.Device, u.Disk, ro, u.Time, u.Total, pct, u.Used)
}

// ErrBadUsage is returned by ParseUsage when the usage file lacks a
// numeric, positive "used" or "total" line.
var ErrBadUsage = errors.New("nodeproto: bad usage file")

// usageLine is the original's pattern (Monitor.pm::check_usage_response).
var usageLine = regexp.MustCompile(`^(\w+)\s*:\s*(.+)$`)

// ParseUsage parses a usage file as the original tracker does. Lines that
// do not match `key: value` are ignored; "used" and "total" must be
// present and numeric, and total non-zero (ErrBadUsage otherwise);
// "available", "device", "disk" and "time" are read when present and
// well-formed, and "readonly: 1" sets ReadOnly.
func ParseUsage(b []byte) (Usage, error) {
	fields := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 0, 4096), 1<<20)
	for sc.Scan() {
		line := bytes.TrimRight(sc.Bytes(), "\r")
		m := usageLine.FindSubmatch(line)
		if m == nil {
			continue
		}
		fields[string(m[1])] = string(m[2])
	}
	if err := sc.Err(); err != nil {
		return Usage{}, fmt.Errorf("%w: %v", ErrBadUsage, err)
	}
	var u Usage
	var err error
	if u.Used, err = usageInt(fields, "used"); err != nil {
		return Usage{}, err
	}
	if u.Total, err = usageInt(fields, "total"); err != nil {
		return Usage{}, err
	}
	if u.Total == 0 {
		return Usage{}, fmt.Errorf("%w: total=0", ErrBadUsage)
	}
	u.Available, _ = usageInt(fields, "available")
	u.Time, _ = usageInt(fields, "time")
	u.Device, u.Disk = fields["device"], fields["disk"]
	u.ReadOnly = strings.TrimSpace(fields["readonly"]) == "1"
	return u, nil
}

func usageInt(f map[string]string, key string) (int64, error) {
	s, ok := f[key]
	if !ok {
		return 0, fmt.Errorf("%w: no %s", ErrBadUsage, key)
	}
	n, err := strconv.ParseInt(string(bytes.TrimSpace([]byte(s))), 10, 64)
	if err != nil || n < 0 { // used is 0 on an empty file system
		return 0, fmt.Errorf("%w: %s=%q", ErrBadUsage, key, s)
	}
	return n, nil
}
