package stord

import (
	"fmt"
	"strconv"
	"strings"
)

// byteRange is an inclusive byte range from a PUT Content-Range header.
type byteRange struct {
	start, end int64 // inclusive; end >= start
	total      int64 // -1 when "*"
}

// parseContentRange parses "bytes a-b/*" or "bytes a-b/total", the form
// MogileFS::Client's largefile mode sends with PUT.
func parseContentRange(h string) (byteRange, error) {
	spec, ok := strings.CutPrefix(strings.TrimSpace(h), "bytes ")
	if !ok {
		return byteRange{}, fmt.Errorf("%w: %q", ErrBadContentRange, h)
	}
	rng, total, ok := strings.Cut(strings.TrimSpace(spec), "/")
	if !ok {
		return byteRange{}, fmt.Errorf("%w: %q", ErrBadContentRange, h)
	}
	a, b, ok := strings.Cut(rng, "-")
	if !ok {
		return byteRange{}, fmt.Errorf("%w: %q", ErrBadContentRange, h)
	}
	start, err1 := parseUint(a)
	end, err2 := parseUint(b)
	if err1 != nil || err2 != nil || end < start {
		return byteRange{}, fmt.Errorf("%w: %q", ErrBadContentRange, h)
	}
	br := byteRange{start: start, end: end, total: -1}
	if total != "*" {
		t, err := parseUint(total)
		if err != nil || t <= end {
			return byteRange{}, fmt.Errorf("%w: %q", ErrBadContentRange, h)
		}
		br.total = t
	}
	return br, nil
}

// parseUint parses a non-negative decimal int64 with no sign or spaces.
func parseUint(s string) (int64, error) {
	if s == "" || s[0] < '0' || s[0] > '9' {
		return 0, ErrBadContentRange
	}
	return strconv.ParseInt(s, 10, 64)
}
