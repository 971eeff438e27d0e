package protocol

import (
	"bufio"
	"fmt"
	"strings"
)

// MaxLine is the default cap on a request or reply line. The original has
// none; we cap so a peer cannot make us buffer without bound. 1 MiB holds any
// legitimate line (keys are at most a few KiB even escaped).
const MaxLine = 1 << 20

// ReadLine reads one line ending in "\n" (a preceding "\r" is removed) of at
// most max bytes. On an over-long line it consumes and drops the rest of the
// line and returns ErrLineTooLong, so the caller can reply and go on.
func ReadLine(r *bufio.Reader, max int) (string, error) {
	var buf []byte
	tooLong := false
	for {
		frag, err := r.ReadSlice('\n')
		if !tooLong {
			if len(buf)+len(frag) > max+2 {
				tooLong = true
				buf = nil
			} else {
				buf = append(buf, frag...)
			}
		}
		if err == bufio.ErrBufferFull {
			continue
		}
		if err != nil {
			if tooLong {
				return "", ErrLineTooLong
			}
			return string(buf), err
		}
		break
	}
	if tooLong {
		return "", ErrLineTooLong
	}
	line := string(buf[:len(buf)-1])
	line = strings.TrimSuffix(line, "\r")
	if len(line) > max {
		return "", ErrLineTooLong
	}
	return line, nil
}

// Request is one parsed query line.
type Request struct {
	Cmd  string            // lower-cased command name
	Args map[string]string // decoded arguments
}

// ParseRequest parses a query line (without its line ending). Admin lines
// starting with '!' are returned with Cmd including the '!' and the rest of
// the line in Args[""]. A blank line yields ErrEmptyLine; a command that is
// not a \w+ word yields ErrMalformed.
func ParseRequest(line string) (Request, error) {
	if strings.TrimSpace(line) == "" {
		return Request{}, ErrEmptyLine
	}
	if line[0] == '!' {
		cmd, rest, _ := strings.Cut(line, " ")
		return Request{Cmd: strings.ToLower(cmd), Args: map[string]string{"": strings.TrimSpace(rest)}}, nil
	}
	// The original matches ^(\w+) then whitespace, then the argument string.
	i := 0
	for i < len(line) && isWord(line[i]) {
		i++
	}
	if i == 0 || (i < len(line) && line[i] != ' ' && line[i] != '\t') {
		return Request{}, fmt.Errorf("%w: command must be a word", ErrMalformed)
	}
	cmd := strings.ToLower(line[:i])
	rest := strings.TrimLeft(line[i:], " \t")
	return Request{Cmd: cmd, Args: DecodeArgs(rest)}, nil
}

func isWord(c byte) bool {
	return c == '_' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
}

// FormatRequest renders a request line with its "\r\n". With no arguments the
// line keeps the trailing space the Perl client sends ("noop \r\n").
func FormatRequest(cmd string, args map[string]string) string {
	return cmd + " " + EncodeArgs(args) + "\r\n"
}

// FormatOK renders a success reply: "OK " + args + "\r\n". The space after OK
// is kept even with no arguments: pymogilefs splits on it.
func FormatOK(args map[string]string) string {
	return "OK " + EncodeArgs(args) + "\r\n"
}

// FormatErr renders an error reply; an empty message becomes the code's
// default text, so the line always has a message token.
func FormatErr(e *Error) string {
	msg := e.Message
	if msg == "" {
		msg = DefaultMessage(e.Code)
	}
	return "ERR " + e.Code + " " + Escape(msg) + "\r\n"
}

// ParseResponse parses a reply line (without its line ending). An ERR line
// is returned as an *Error. Like the Perl client it tolerates an optional
// legacy numeric field after OK.
func ParseResponse(line string) (map[string]string, error) {
	switch {
	case strings.HasPrefix(line, "OK"):
		rest := strings.TrimLeft(line[2:], " \t")
		if rest != "" && line[2] != ' ' && line[2] != '\t' {
			return nil, fmt.Errorf("%w: %q", ErrMalformed, line)
		}
		// optional digits then whitespace (legacy arg length)
		j := 0
		for j < len(rest) && '0' <= rest[j] && rest[j] <= '9' {
			j++
		}
		if j > 0 && (j == len(rest) || rest[j] == ' ') {
			rest = strings.TrimLeft(rest[j:], " ")
		}
		if k := strings.IndexAny(rest, " \t"); k >= 0 {
			rest = rest[:k]
		}
		return DecodeArgs(rest), nil
	case strings.HasPrefix(line, "ERR"):
		fields := strings.Fields(line[3:])
		if len(fields) == 0 {
			return nil, fmt.Errorf("%w: %q", ErrMalformed, line)
		}
		e := &Error{Code: fields[0]}
		if len(fields) > 1 {
			e.Message = Unescape(fields[1])
		} else {
			e.Message = DefaultMessage(e.Code)
		}
		return nil, e
	}
	return nil, fmt.Errorf("%w: %q", ErrMalformed, line)
}
