// Package config declares each daemon's settings once, as a table, and
// derives from it the command-line flags, the MogileFS-style config file
// parser and the documentation. Precedence is default < file < explicit flag,
// as in mogilefsd and mogstored, whose config keys are also their long options.
package config

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Setting is one entry of a daemon's settings table.
type Setting struct {
	Name    string // the config-file key and the flag name (--name)
	Default string
	Help    string
}

// ErrUnknownKey is returned by Parse when a config file names a key that is
// not in the table; the caller should report it and stop.
var ErrUnknownKey = errors.New("config: unknown key")

// Set holds the values of one daemon's settings after Parse.
type Set struct {
	prog     string
	settings []Setting
	values   map[string]string
	fromFile map[string]bool
}

// New returns a Set for prog over the given table. The key "config" is
// reserved for the config file path.
func New(prog string, settings []Setting) *Set {
	s := &Set{prog: prog, settings: settings, values: map[string]string{}, fromFile: map[string]bool{}}
	for _, st := range settings {
		s.values[st.Name] = st.Default
	}
	return s
}

// Settings returns the table, in declaration order.
func (s *Set) Settings() []Setting { return s.settings }

// FlagSet builds a flag.FlagSet whose flags write into the Set. Both -name
// and --name work, as with the flag package.
func (s *Set) flagSet(configPath *string, explicit map[string]string) *flag.FlagSet {
	fs := flag.NewFlagSet(s.prog, flag.ContinueOnError)
	fs.StringVar(configPath, "config", "", "read settings from this file (key = value lines)")
	for _, st := range s.settings {
		st := st
		fs.Func(st.Name, st.Help+" (default "+strconv.Quote(st.Default)+")", func(v string) error {
			explicit[st.Name] = v
			return nil
		})
	}
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage of %s:\n", s.prog)
		fs.PrintDefaults()
	}
	return fs
}

// Parse reads the command line (and the --config file it names) into the
// Set. Boolean-looking settings still take a value (--daemonize=1), matching
// the original daemons' Getopt specs. Remaining positional arguments are
// returned.
func (s *Set) Parse(args []string) ([]string, error) {
	var configPath string
	explicit := map[string]string{}
	fs := s.flagSet(&configPath, explicit)
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if configPath != "" {
		f, err := os.Open(configPath)
		if err != nil {
			return nil, fmt.Errorf("config: %w", err)
		}
		kv, err := ParseFile(f)
		f.Close()
		if err != nil {
			return nil, fmt.Errorf("config %s: %w", configPath, err)
		}
		for k, v := range kv {
			if !s.known(k) {
				return nil, fmt.Errorf("config %s: %w %q", configPath, ErrUnknownKey, k)
			}
			s.values[k] = v
			s.fromFile[k] = true
		}
	}
	for k, v := range explicit {
		s.values[k] = v
	}
	return fs.Args(), nil
}

func (s *Set) known(k string) bool {
	for _, st := range s.settings {
		if st.Name == k {
			return true
		}
	}
	return false
}

// String returns the value of setting name. It panics on a name that is not
// in the table: that is a programming error.
func (s *Set) String(name string) string {
	v, ok := s.values[name]
	if !ok {
		panic("config: no setting " + name)
	}
	return v
}

// Int returns the value of an integer setting.
func (s *Set) Int(name string) (int, error) {
	v := strings.TrimSpace(s.String(name))
	if v == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		return 0, fmt.Errorf("config: %s: %q is not an integer", name, v)
	}
	return n, nil
}

// Float returns the value of a numeric setting that may have a fraction.
func (s *Set) Float(name string) (float64, error) {
	v := strings.TrimSpace(s.String(name))
	if v == "" {
		return 0, nil
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil {
		return 0, fmt.Errorf("config: %s: %q is not a number", name, v)
	}
	return f, nil
}

// Seconds returns a setting given in (possibly fractional) seconds, as the
// original's timeouts are, or as a Go duration string ("1500ms").
func (s *Set) Seconds(name string) (time.Duration, error) {
	v := strings.TrimSpace(s.String(name))
	if d, err := time.ParseDuration(v); err == nil {
		return d, nil
	}
	f, err := s.Float(name)
	if err != nil {
		return 0, err
	}
	return time.Duration(f * float64(time.Second)), nil
}

// Bool returns a boolean setting; it accepts Perl-ish truthy spellings
// (1, true, yes, on) as the original config does.
func (s *Set) Bool(name string) bool {
	switch strings.ToLower(strings.TrimSpace(s.String(name))) {
	case "1", "t", "true", "y", "yes", "on":
		return true
	}
	return false
}

// Secret returns a secret given either inline, in setting name, or as the
// path of a file holding it, in setting fileName (so that it need not sit
// on a command line, where other users can read it). Surrounding white
// space, the file's final newline included, is not part of the secret.
// Both set is an error; neither is an empty secret.
func (s *Set) Secret(name, fileName string) ([]byte, error) {
	v, file := strings.TrimSpace(s.String(name)), strings.TrimSpace(s.String(fileName))
	switch {
	case file == "":
		return []byte(v), nil
	case v != "":
		return nil, fmt.Errorf("config: %s and %s are both set; keep one", name, fileName)
	}
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("config: %s: %w", fileName, err)
	}
	b = []byte(strings.TrimSpace(string(b)))
	if len(b) == 0 {
		return nil, fmt.Errorf("config: %s: %s is empty", fileName, file)
	}
	return b, nil
}

// ParseFile parses the mogilefsd.conf / mogstored.conf format: one
// "key = value" per line, '#' starts a comment, blank lines are ignored. A
// line without '=' is an error naming its line number.
func ParseFile(r io.Reader) (map[string]string, error) {
	out := map[string]string{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	n := 0
	for sc.Scan() {
		n++
		line := sc.Text()
		if i := strings.IndexByte(line, '#'); i >= 0 {
			line = line[:i]
		}
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		k = strings.TrimSpace(k)
		if !ok || k == "" || strings.ContainsAny(k, " \t") {
			return nil, fmt.Errorf("line %d: want \"key = value\", got %q", n, line)
		}
		out[k] = strings.TrimSpace(v)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	return out, nil
}

// Markdown renders the table as a Markdown table for the README.
func (s *Set) Markdown() string {
	var b strings.Builder
	b.WriteString("| flag / config key | default | meaning |\n|---|---|---|\n")
	rows := append([]Setting(nil), s.settings...)
	sort.SliceStable(rows, func(i, j int) bool { return rows[i].Name < rows[j].Name })
	b.WriteString("| `--config` | | read settings from this file (`key = value` lines) |\n")
	for _, st := range rows {
		fmt.Fprintf(&b, "| `--%s` | `%s` | %s |\n", st.Name, st.Default, st.Help)
	}
	return b.String()
}
