package stord

import (
	"errors"
	"strings"
)

// mgmtKind is what a side-channel request asks for.
type mgmtKind int

const (
	mgmtEmpty  mgmtKind = iota // blank line: no reply
	mgmtSize                   // size <uri>
	mgmtDigest                 // MD5|SHA-1 <uri>[ <reason>]
	mgmtWatch                  // watch
)

// mgmtReq is one parsed side-channel request line.
type mgmtReq struct {
	kind   mgmtKind
	alg    string // "MD5" or "SHA-1" for mgmtDigest
	uri    string
	reason string // "fsck" queues the digest per device
}

// Side-channel parse errors; reply() renders them as mogstored does.
var (
	errURIDotDot = errors.New("ERROR: uri invalid (contains ..)")
	errUnknown   = errors.New("ERROR: unknown command")
)

// parseMgmtLine parses one request line (without its line ending) the way
// SideChannelClient.pm matches them: "size <uri>", case-insensitive
// "watch", "MD5|SHA-1 <uri>[ <reason>]" with the algorithm spelled
// upper-case. A uri containing ".." is refused before anything else.
func parseMgmtLine(line string) (mgmtReq, error) {
	line = strings.TrimRight(line, "\r")
	if strings.TrimSpace(line) == "" {
		return mgmtReq{kind: mgmtEmpty}, nil
	}
	if strings.EqualFold(strings.TrimSpace(line), "watch") {
		return mgmtReq{kind: mgmtWatch}, nil
	}
	f := strings.Split(line, " ")
	switch {
	case f[0] == "size" && len(f) == 2 && f[1] != "":
		if strings.Contains(f[1], "..") {
			return mgmtReq{}, errURIDotDot
		}
		return mgmtReq{kind: mgmtSize, uri: f[1]}, nil
	case (f[0] == "MD5" || f[0] == "SHA-1") && (len(f) == 2 || len(f) == 3) && f[1] != "":
		if strings.Contains(f[1], "..") {
			return mgmtReq{}, errURIDotDot
		}
		r := mgmtReq{kind: mgmtDigest, alg: f[0], uri: f[1]}
		if len(f) == 3 {
			if !isWord(f[2]) {
				break
			}
			r.reason = f[2]
		}
		return r, nil
	}
	return mgmtReq{}, unknownCommand(f[0])
}

// unknownCommand carries the first word of an unrecognised request.
type unknownCommand string

func (u unknownCommand) Error() string { return errUnknown.Error() + ": " + string(u) }
func (u unknownCommand) Unwrap() error { return errUnknown }

// isWord matches Perl's \w+ over ASCII.
func isWord(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}
