package cli

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"
)

// Env is what a tool reads and writes besides its arguments. Tests fill it
// with buffers and their own config files.
type Env struct {
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
	// ConfFiles are read in order, later files overriding earlier ones, and
	// the command line overriding them all. Nil means the originals' list:
	// /etc/mogilefs/mogilefs.conf then ~/.mogilefs.conf.
	ConfFiles []string
}

// StdEnv returns an Env on the process's standard files.
func StdEnv() Env {
	return Env{Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr}
}

func (e Env) confFiles() []string {
	if e.ConfFiles != nil {
		return e.ConfFiles
	}
	files := []string{"/etc/mogilefs/mogilefs.conf"}
	if home, err := os.UserHomeDir(); err == nil {
		files = append(files, filepath.Join(home, ".mogilefs.conf"))
	}
	return files
}

// Spec names a tool's options: true for a flag without a value (--noverify),
// false for one that takes a value. Names use '_'; on the command line '-'
// and '_' are interchangeable (--key-prefix is --key_prefix).
type Spec map[string]bool

// Parse splits args into options and positional arguments. It accepts
// --name=value, --name value, -name=value and -name value; a flag
// may be given as --name or --name=0/1. "--" ends the options and a lone
// "-" is positional. Options may come before, between or after positional
// arguments.
func Parse(args []string, spec Spec) (opts map[string]string, pos []string, err error) {
	opts = map[string]string{}
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			pos = append(pos, args[i+1:]...)
			break
		}
		if len(a) < 2 || a[0] != '-' {
			pos = append(pos, a)
			continue
		}
		name, val, hasVal := strings.Cut(strings.TrimPrefix(a[1:], "-"), "=")
		name = strings.ReplaceAll(name, "-", "_")
		isFlag, known := spec[name]
		if !known {
			return nil, nil, fmt.Errorf("unknown option: %s", a)
		}
		switch {
		case isFlag && !hasVal:
			val = "1"
		case !isFlag && !hasVal:
			if i+1 >= len(args) {
				return nil, nil, fmt.Errorf("option --%s requires a value", name)
			}
			i++
			val = args[i]
		}
		opts[name] = val
	}
	return opts, pos, nil
}

var confLine = regexp.MustCompile(`^\s*(\w+)\s*=\s*(.+?)\s*$`)

// ParseConf reads a mogilefs.conf: "key = value" lines, '#' to the end of a
// line is a comment, other lines are ignored (as the originals do).
func ParseConf(r io.Reader) (map[string]string, error) {
	out := map[string]string{}
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		line := sc.Text()
		if i := strings.IndexByte(line, '#'); i >= 0 {
			line = line[:i]
		}
		// The original's regex lets "key =   " through as a blank value;
		// a blank setting is no setting.
		if m := confLine.FindStringSubmatch(line); m != nil && strings.TrimSpace(m[2]) != "" {
			out[m[1]] = strings.TrimSpace(m[2])
		}
	}
	return out, sc.Err()
}

// loadConf merges the config files (missing ones are skipped) into opts for
// the names spec knows, without overriding options given on the command
// line. An explicit --config=FILE is read last of the files.
func loadConf(env Env, opts map[string]string, spec Spec) error {
	files := env.confFiles()
	if f := opts["config"]; f != "" {
		files = append(files[:len(files):len(files)], f)
	}
	merged := map[string]string{}
	for _, fn := range files {
		f, err := os.Open(fn)
		if os.IsNotExist(err) && fn != opts["config"] {
			continue
		}
		if err != nil {
			return err
		}
		kv, err := ParseConf(f)
		f.Close()
		if err != nil {
			return fmt.Errorf("%s: %w", fn, err)
		}
		for k, v := range kv {
			merged[k] = v
		}
	}
	for k, v := range merged {
		if _, known := spec[k]; known {
			if _, given := opts[k]; !given {
				opts[k] = v
			}
		}
	}
	return nil
}

// SplitTrackers splits a trackers setting ("h:p, h:p").
func SplitTrackers(s string) []string {
	var out []string
	for t := range strings.SplitSeq(s, ",") {
		if t = strings.TrimSpace(t); t != "" {
			out = append(out, t)
		}
	}
	return out
}

// localTracker is where the originals look when no trackers are configured.
const localTracker = "127.0.0.1:7001"

const noTrackersText = `In order to use the MogileFS tools you need to provide the information about
where your trackers are.

In your configuration file (~/.mogilefs.conf or /etc/mogilefs/mogilefs.conf):

    trackers = 10.10.0.33:7001, 10.10.0.34:7001

Or on the command line:

    --trackers=10.10.0.33:7001,10.10.0.34:7001`

// trackers returns the configured trackers, or the local tracker when none
// are configured and one answers there, as mogadm does.
func trackers(opts map[string]string) ([]string, error) {
	if t := SplitTrackers(opts["trackers"]); len(t) > 0 {
		return t, nil
	}
	if c, err := net.DialTimeout("tcp", localTracker, time.Second); err == nil {
		c.Close()
		return []string{localTracker}, nil
	}
	return nil, fmt.Errorf("%s", noTrackersText)
}

func secondsDuration(s float64) time.Duration { return time.Duration(s * float64(time.Second)) }
