package monitor

import (
	"bufio"
	"bytes"
	"fmt"
	"regexp"
	"strconv"
)

// usageLine is the original's pattern (Monitor.pm::check_usage_response).
var usageLine = regexp.MustCompile(`^(\w+)\s*:\s*(.+)$`)

// Usage is a parsed /devN/usage file (storage-protocol.md §4).
type Usage struct {
	UsedKB  int64             // "used", KiB
	TotalKB int64             // "total" (= used + available), KiB
	Fields  map[string]string // every key: value line, verbatim
}

// MBUsed is the used space in MiB, rounded down as the original's int(used/1024).
func (u Usage) MBUsed() int64 { return u.UsedKB / 1024 }

// MBTotal is the total space in MiB, rounded down.
func (u Usage) MBTotal() int64 { return u.TotalKB / 1024 }

// ParseUsage parses a usage file. Lines that do not match `key: value` are
// ignored; "used" and "total" must be present, numeric and non-zero
// (ErrBadUsage otherwise).
func ParseUsage(b []byte) (Usage, error) {
	u := Usage{Fields: map[string]string{}}
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 0, 4096), 1<<20)
	for sc.Scan() {
		line := bytes.TrimRight(sc.Bytes(), "\r")
		m := usageLine.FindSubmatch(line)
		if m == nil {
			continue
		}
		u.Fields[string(m[1])] = string(m[2])
	}
	if err := sc.Err(); err != nil {
		return Usage{}, fmt.Errorf("%w: %v", ErrBadUsage, err)
	}
	var err error
	if u.UsedKB, err = usageInt(u.Fields, "used"); err != nil {
		return Usage{}, err
	}
	if u.TotalKB, err = usageInt(u.Fields, "total"); err != nil {
		return Usage{}, err
	}
	return u, nil
}

func usageInt(f map[string]string, key string) (int64, error) {
	s, ok := f[key]
	if !ok {
		return 0, fmt.Errorf("%w: no %s", ErrBadUsage, key)
	}
	n, err := strconv.ParseInt(string(bytes.TrimSpace([]byte(s))), 10, 64)
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("%w: %s=%q", ErrBadUsage, key, s)
	}
	return n, nil
}
