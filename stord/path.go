package stord

import (
	"fmt"
	"strconv"
	"strings"
)

// maxPathLen caps request paths; real MogileFS paths are under 50 bytes.
const maxPathLen = 4096

// Path is a validated request path of the form /devN[/rel...].
type Path struct {
	Dev    int    // N of devN
	DevDir string // the device directory name as spelled in the request ("dev7")
	// Rel is the slash-separated path inside the device directory, "" for
	// the device directory itself. It never starts with "/" and has no
	// empty, "." or ".." elements, so it is always local to the device.
	Rel string
	Dir bool // the request path ended in "/" (MKCOL /dev1/0/)
}

// ParsePath validates a decoded URL path and splits it into device and
// relative path. It applies Perlbal's PUT filename rule
// (^((/[\w\-.]+)*)/([\w\-.]+)$, no "..") to every method, after collapsing
// leading slashes ("//dev1/usage" from mogadm check is "/dev1/usage"). A
// trailing slash is allowed and reported in Dir. Any failure is
// ErrInvalidPath.
func ParsePath(p string) (Path, error) {
	if len(p) > maxPathLen {
		return Path{}, fmt.Errorf("%w: longer than %d bytes", ErrInvalidPath, maxPathLen)
	}
	if !strings.HasPrefix(p, "/") {
		return Path{}, fmt.Errorf("%w: %q does not start with /", ErrInvalidPath, p)
	}
	// The original refuses any "..", even inside a name ("a..b").
	if strings.Contains(p, "..") {
		return Path{}, fmt.Errorf("%w: \"..\" in %q", ErrInvalidPath, p)
	}
	rest := strings.TrimLeft(p, "/")
	var out Path
	if strings.HasSuffix(rest, "/") {
		out.Dir = true
		rest = rest[:len(rest)-1]
	}
	if rest == "" {
		return Path{}, fmt.Errorf("%w: %q names no device", ErrInvalidPath, p)
	}
	dev, rel, _ := strings.Cut(rest, "/")
	n, ok := parseDevDir(dev)
	if !ok {
		return Path{}, fmt.Errorf("%w: %q is not a devN directory", ErrInvalidPath, dev)
	}
	if rel == "" && strings.Contains(rest, "/") {
		return Path{}, fmt.Errorf("%w: %q has an empty element", ErrInvalidPath, p)
	}
	if rel != "" {
		for elem := range strings.SplitSeq(rel, "/") {
			if !validElem(elem) {
				return Path{}, fmt.Errorf("%w: bad element %q in %q", ErrInvalidPath, elem, p)
			}
		}
	}
	out.Dev, out.DevDir, out.Rel = n, dev, rel
	return out, nil
}

// parseDevDir reports whether name is "dev" followed by decimal digits, and
// the number. These are the directories the usage writer and the tracker
// know as devices.
func parseDevDir(name string) (int, bool) {
	digits, ok := strings.CutPrefix(name, "dev")
	if !ok || digits == "" || len(digits) > 9 {
		return 0, false
	}
	for i := 0; i < len(digits); i++ {
		if digits[i] < '0' || digits[i] > '9' {
			return 0, false
		}
	}
	n, err := strconv.Atoi(digits)
	return n, err == nil
}

// validElem reports whether elem is a non-empty run of [A-Za-z0-9_.-] other
// than ".": Perl's [\w\-.] restricted to ASCII.
func validElem(elem string) bool {
	if elem == "" || elem == "." {
		return false
	}
	for i := 0; i < len(elem); i++ {
		c := elem[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '_', c == '-', c == '.':
		default:
			return false
		}
	}
	return true
}

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
