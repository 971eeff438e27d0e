package nodeproto

import (
	"encoding/hex"
	"errors"
	"regexp"
	"strconv"
	"strings"
)

// The side channel (§5, port 7501): one request line, one reply line,
// except `watch`, which streams utilisation blocks until the client hangs up.

// Command is what a side-channel request asks for.
type Command int

const (
	CmdEmpty  Command = iota // blank line: no reply
	CmdSize                  // size <uri>
	CmdDigest                // MD5|SHA-1 <uri>[ <reason>]
	CmdWatch                 // watch
)

// Request is one parsed side-channel request line.
type Request struct {
	Cmd    Command
	Alg    string // "MD5" or "SHA-1" for CmdDigest
	URI    string
	Reason string // "fsck" queues the digest per device
}

// Side-channel request errors. Their text is the reply the node sends, as
// mogstored words it.
var (
	ErrURIDotDot = errors.New("ERROR: uri invalid (contains ..)")
	ErrUnknown   = errors.New("ERROR: unknown command")
)

// ParseRequest parses one request line (without its line ending) the way
// SideChannelClient.pm matches them: "size <uri>", case-insensitive
// "watch", "MD5|SHA-1 <uri>[ <reason>]" with the algorithm spelled
// upper-case. A uri containing ".." is refused before anything else.
func ParseRequest(line string) (Request, error) {
	line = strings.TrimRight(line, "\r")
	if strings.TrimSpace(line) == "" {
		return Request{Cmd: CmdEmpty}, nil
	}
	if strings.EqualFold(strings.TrimSpace(line), "watch") {
		return Request{Cmd: CmdWatch}, nil
	}
	f := strings.Split(line, " ")
	switch {
	case f[0] == "size" && len(f) == 2 && f[1] != "":
		if strings.Contains(f[1], "..") {
			return Request{}, ErrURIDotDot
		}
		return Request{Cmd: CmdSize, URI: f[1]}, nil
	case (f[0] == "MD5" || f[0] == "SHA-1") && (len(f) == 2 || len(f) == 3) && f[1] != "":
		if strings.Contains(f[1], "..") {
			return Request{}, ErrURIDotDot
		}
		r := Request{Cmd: CmdDigest, Alg: f[0], URI: f[1]}
		if len(f) == 3 {
			if !isWord(f[2]) {
				break
			}
			r.Reason = f[2]
		}
		return r, nil
	}
	return Request{}, unknownCommand(f[0])
}

// unknownCommand carries the first word of an unrecognised request.
type unknownCommand string

func (u unknownCommand) Error() string { return ErrUnknown.Error() + ": " + string(u) }
func (u unknownCommand) Unwrap() error { return ErrUnknown }

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

// DigestRequest is the request line for the alg digest of uri; fsck marks
// it as an fsck's, which the node queues per device.
func DigestRequest(alg, uri string, fsck bool) string {
	req := alg + " " + uri
	if fsck {
		req += " fsck"
	}
	return req + "\r\n"
}

// DigestReply is the node's answer to a digest request: the hex digest, or
// -1 when sum is nil (no such file).
func DigestReply(uri, alg string, sum []byte) string {
	d := "-1"
	if sum != nil {
		d = hex.EncodeToString(sum)
	}
	return uri + " " + alg + "=" + d + "\r\n"
}

// SizeReply is the node's answer to "size <uri>": -1 for no such file.
func SizeReply(uri string, size int64) string {
	return uri + " " + strconv.FormatInt(size, 10) + "\r\n"
}

var digestRE = regexp.MustCompile(`^(\S+) (?:MD5|SHA-1)=([a-f0-9]{32,128}|-1)\r?\n$`)

// ErrBadReply is a side-channel reply that does not answer the request.
var ErrBadReply = errors.New("nodeproto: unexpected side-channel reply")

// ParseDigestReply reads a reply to DigestRequest(_, uri, _): the digest,
// or nil and missing when the node has no such file.
func ParseDigestReply(line, uri string) (sum []byte, missing bool, err error) {
	m := digestRE.FindStringSubmatch(line)
	if m == nil || m[1] != uri {
		return nil, false, ErrBadReply
	}
	if m[2] == "-1" {
		return nil, true, nil
	}
	sum, err = hex.DecodeString(m[2])
	if err != nil {
		return nil, false, ErrBadReply
	}
	return sum, false, nil
}

// WatchRequest subscribes to the node's utilisation stream.
const WatchRequest = "watch\n"

// WatchLine is one device's line of a watch block; WatchEnd ends a block.
func WatchLine(devid int, util float64) string {
	return strconv.Itoa(devid) + "\t" + strconv.FormatFloat(util, 'f', 2, 64) + "\n"
}

// WatchEnd terminates a watch block.
const WatchEnd = ".\n"

// ParseWatchLine adds one `<devid> <util>` line to block. It reports done at
// the block terminator "." and isErr for a line starting "ERR" (the node has
// no iostat; the original closes quietly). Other malformed lines are ignored.
func ParseWatchLine(line string, block map[int]string) (done, isErr bool) {
	line = strings.TrimRight(line, "\r\n")
	if line == "." {
		return true, false
	}
	if strings.HasPrefix(line, "ERR") {
		return false, true
	}
	f := strings.Fields(line)
	if len(f) < 2 {
		return false, false
	}
	id, err := strconv.Atoi(f[0])
	if err != nil || id <= 0 {
		return false, false
	}
	block[id] = f[1]
	return false, false
}
