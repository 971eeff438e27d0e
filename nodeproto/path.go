package nodeproto

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// ErrInvalidPath is returned by ParsePath for a path that is not a
// well-formed, confined /devN/... path (bad characters, "..", NUL, empty
// components, no devN prefix). A node answers it with HTTP 400 "Invalid
// filename", as Perlbal.
var ErrInvalidPath = errors.New("nodeproto: invalid path")

// FIDPath is the URL path of fid's replica on devid (§2):
// /dev<N>/<B>/<MMM>/<TTT>/<F10>.fid with B, MMM, TTT from the first ten
// digits of the zero-padded fid (DevFID.pm::uri_path). It is on every
// create_open and get_paths, so it is built without fmt.
func FIDPath(devid int, fid int64) string {
	f := strconv.FormatInt(fid, 10)
	if len(f) < 10 {
		f = strings.Repeat("0", 10-len(f)) + f
	}
	var b strings.Builder
	b.Grow(32 + len(f))
	b.WriteString("/dev")
	b.WriteString(strconv.Itoa(devid))
	b.WriteByte('/')
	b.WriteString(f[0:1])
	b.WriteByte('/')
	b.WriteString(f[1:4])
	b.WriteByte('/')
	b.WriteString(f[4:7])
	b.WriteByte('/')
	b.WriteString(f)
	b.WriteString(".fid")
	return b.String()
}

// FIDOf returns the fid a replica's URL or path names by its file name
// (".../0000000042.fid", with or without a query such as a signature); ok
// is false for a layout it does not know.
func FIDOf(url string) (fid int64, ok bool) {
	url, _, _ = strings.Cut(url, "?")
	name, ok := strings.CutSuffix(url[strings.LastIndexByte(url, '/')+1:], ".fid")
	if !ok {
		return 0, false
	}
	fid, err := strconv.ParseInt(name, 10, 64)
	return fid, err == nil
}

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

// String returns the path in its one spelling, /DevDir[/Rel][/]: the
// path a signature binds (so "//dev1/x" and "/dev1/x", which name the same
// file, share their signatures).
func (p Path) String() string {
	s := "/" + p.DevDir
	if p.Rel != "" {
		s += "/" + p.Rel
	}
	if p.Dir {
		s += "/"
	}
	return s
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
	n, ok := ParseDevDir(dev)
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

// ParseDevDir reports whether name is "dev" followed by decimal digits, and
// the number. These are the directories the usage writer and the tracker
// know as devices.
func ParseDevDir(name string) (int, bool) {
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
