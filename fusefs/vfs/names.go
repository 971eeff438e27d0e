package vfs

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
)

// MaxName is the longest file name the kernel passes to a FUSE file system.
const MaxName = 255

// EscapePrefix starts every file name that stands for a key segment which
// cannot be a file name by itself (see doc.go). Names with this prefix are
// reserved: they never reach the tracker literally.
const EscapePrefix = ".mogfs%"

// longTag marks an escaped name that carries a hash of an over-long segment
// instead of the segment itself; resolving it needs the directory listing.
const longTag = EscapePrefix + "long-"

// NameOf returns the file name under which key segment seg appears. Segments
// that are valid names and do not start with EscapePrefix appear as they are.
func NameOf(seg string) string {
	if validName(seg) && !strings.HasPrefix(seg, EscapePrefix) {
		return seg
	}
	esc := EscapePrefix + percentEscape(seg)
	if len(esc) <= MaxName {
		return esc
	}
	return LongName(seg)
}

// LongName is the name of a segment too long to be escaped in full: a prefix
// kept for humans and a hash that identifies it within its directory.
func LongName(seg string) string {
	sum := sha256.Sum256([]byte(seg))
	head := percentEscape(seg)
	if len(head) > 120 {
		head = head[:120]
		// Never cut an escape in half; the head is only decoration.
		if i := strings.LastIndexByte(head, '%'); i >= len(head)-2 {
			head = head[:i]
		}
	}
	return longTag + hex.EncodeToString(sum[:16]) + "-" + head
}

// IsLongName reports whether name stands for an over-long segment, which
// SegmentOf cannot decode: the caller must find the segment whose LongName
// matches in the directory listing.
func IsLongName(name string) bool { return strings.HasPrefix(name, longTag) }

// SegmentOf returns the key segment a file name stands for: the inverse of
// NameOf. It fails with ErrBadName for an EscapePrefix name that is not a
// valid escape (or is a long name, see IsLongName).
func SegmentOf(name string) (string, error) {
	if !strings.HasPrefix(name, EscapePrefix) {
		return name, nil
	}
	if IsLongName(name) {
		return "", fmt.Errorf("%w: %q needs a directory lookup", ErrBadName, name)
	}
	seg, ok := percentUnescape(name[len(EscapePrefix):])
	// Only the canonical escape is accepted, so every key has one name.
	if !ok || NameOf(seg) != name {
		return "", fmt.Errorf("%w: %q", ErrBadName, name)
	}
	return seg, nil
}

// validName reports whether s can be a file name as it is.
func validName(s string) bool {
	return s != "" && s != "." && s != ".." && len(s) <= MaxName && !strings.ContainsRune(s, 0)
}

// percentEscape escapes '%', NUL and, when they would make the name a dot
// name, dots; everything else is kept so escaped names stay readable.
func percentEscape(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '%' || c == 0 || c == '/':
			fmt.Fprintf(&b, "%%%02X", c)
		case c == '.' && (s == "." || s == ".."):
			b.WriteString("%2E")
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

func percentUnescape(s string) (string, bool) {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '%' {
			b.WriteByte(s[i])
			continue
		}
		if i+2 >= len(s) {
			return "", false
		}
		hi, ok1 := unhex(s[i+1])
		lo, ok2 := unhex(s[i+2])
		if !ok1 || !ok2 {
			return "", false
		}
		b.WriteByte(hi<<4 | lo)
		i += 2
	}
	return b.String(), true
}

func unhex(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// A directory is identified by its prefix: "" for the domain's root, else
// the parent's prefix, the segment and "/". A file's key is its directory's
// prefix plus its segment. Prefixes (not "paths without the slash") keep the
// key "/x" — a directory with an empty name at the root — distinct from the
// root itself.

// ChildKey returns the key of segment seg in the directory with prefix dir.
func ChildKey(dir, seg string) string { return dir + seg }

// ChildDir returns the prefix of sub-directory seg of directory dir.
func ChildDir(dir, seg string) string { return dir + seg + "/" }

// AttrPath returns the mogfs_attr path of a directory prefix: the prefix
// without its trailing "/" (contracts.md).
func AttrPath(dir string) string { return strings.TrimSuffix(dir, "/") }

// Segments splits a directory prefix or key into its segments.
func Segments(p string) []string {
	if p == "" {
		return nil
	}
	return strings.Split(strings.TrimSuffix(p, "/"), "/")
}
