package protocol

import (
	"sort"
	"strings"
)

// safe reports whether b is left as-is by eurl: [A-Za-z0-9_,\-./\\: ]
// (space is then turned into '+').
func safe(b byte) bool {
	switch {
	case 'a' <= b && b <= 'z', 'A' <= b && b <= 'Z', '0' <= b && b <= '9':
		return true
	}
	switch b {
	case '_', ',', '-', '.', '/', '\\', ':', ' ':
		return true
	}
	return false
}

const hexUpper = "0123456789ABCDEF"

// Escape encodes s as the original's eurl does: bytes outside
// [A-Za-z0-9_,\-./\\: ] become %XX with upper-case hex, and space becomes '+'.
func Escape(s string) string {
	n := 0
	for i := 0; i < len(s); i++ {
		if !safe(s[i]) {
			n++
		}
	}
	if n == 0 && !strings.Contains(s, " ") {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 2*n)
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == ' ':
			b.WriteByte('+')
		case safe(c):
			b.WriteByte(c)
		default:
			b.WriteByte('%')
			b.WriteByte(hexUpper[c>>4])
			b.WriteByte(hexUpper[c&15])
		}
	}
	return b.String()
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

// Unescape reverses Escape and anything a generic URL encoder produces: '+'
// is a space, %XX (either case) is a byte, and an invalid % sequence is kept
// as it is, as the original does.
func Unescape(s string) string {
	if !strings.ContainsAny(s, "+%") {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch c {
		case '+':
			b.WriteByte(' ')
		case '%':
			if i+2 < len(s) {
				hi, ok1 := unhex(s[i+1])
				lo, ok2 := unhex(s[i+2])
				if ok1 && ok2 {
					b.WriteByte(hi<<4 | lo)
					i += 2
					continue
				}
			}
			b.WriteByte('%')
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// DecodeArgs parses an argument string ("k=v&k2=v2") with the original's
// rules: pairs that are empty or exactly "0" are dropped, only the first two
// '='-separated fields count, a name without '=' has an empty value, and a
// repeated name joins its values with a NUL byte.
func DecodeArgs(s string) map[string]string {
	out := make(map[string]string, strings.Count(s, "&")+1)
	for pair := range strings.SplitSeq(s, "&") {
		if pair == "" || pair == "0" {
			continue
		}
		name, val, _ := strings.Cut(pair, "=")
		val, _, _ = strings.Cut(val, "=")
		name, val = Unescape(name), Unescape(val)
		if old, dup := out[name]; dup {
			val = old + "\x00" + val
		}
		out[name] = val
	}
	return out
}

// sortedArgsMax is the largest argument list EncodeArgs sorts.
const sortedArgsMax = 256

// EncodeArgs encodes args as "k=v&k=v" with Escape applied to names and
// values. Up to sortedArgsMax keys are sorted, so requests and ordinary
// replies are deterministic (logs, transcripts); the original's order is
// random and clients must not depend on it, so a long listing reply
// (mogfs_list: thousands of keys) skips the sort, which cost more than
// the query that filled it.
func EncodeArgs(args map[string]string) string {
	if len(args) == 0 {
		return ""
	}
	keys := make([]string, 0, len(args))
	for k := range args {
		keys = append(keys, k)
	}
	if len(keys) <= sortedArgsMax {
		sort.Strings(keys)
	}
	var b strings.Builder
	for i, k := range keys {
		if i > 0 {
			b.WriteByte('&')
		}
		b.WriteString(Escape(k))
		b.WriteByte('=')
		b.WriteString(Escape(args[k]))
	}
	return b.String()
}
