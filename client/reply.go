package client

import (
	"fmt"
	"strconv"
	"strings"
)

// atoi parses an integer reply field; empty (a NULL column) is 0.
func atoi(s string) int {
	n, _ := strconv.Atoi(strings.TrimSpace(s))
	return n
}

func atoi64(s string) int64 {
	n, _ := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	return n
}

// need returns reply field k, or ErrBadReply naming it when it is absent.
func need(r map[string]string, cmd, k string) (string, error) {
	v, ok := r[k]
	if !ok {
		return "", fmt.Errorf("%w: %s reply has no %s", ErrBadReply, cmd, k)
	}
	return v, nil
}

func boolArg(b bool) string {
	if b {
		return "1"
	}
	return "0"
}

// count reads a reply's item count field, bounded by the number of fields in
// the reply, so a corrupt count cannot make a parser allocate or loop
// without bound.
func count(r map[string]string, k string) int {
	return max(0, min(atoi(r[k]), len(r)))
}
