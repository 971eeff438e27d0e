package docs

import (
	"fmt"
	"regexp"
	"strings"
)

// marker matches a whole marker line: "<!-- BEGIN FLAGS trackerd -->".
var marker = regexp.MustCompile(`^<!-- (BEGIN|END) ([A-Za-z]+(?: [A-Za-z0-9_.-]+)?) -->$`)

// Generate returns readme with the body of every "FLAGS <name>" section
// replaced by the output of the Section of that name. Everything outside
// those sections, and sections of other kinds, is copied unchanged.
func Generate(readme []byte) ([]byte, error) {
	gens := map[string]func() (string, error){}
	for _, s := range Sections {
		gens[s.Name] = s.Gen
	}
	var out strings.Builder
	open := ""    // the section whose BEGIN we are inside, "" outside
	line0 := 0    // line number of that BEGIN
	skip := false // inside a generated section: drop the old body
	seen := map[string]bool{}
	lines := strings.SplitAfter(string(readme), "\n")
	for i, line := range lines {
		m := marker.FindStringSubmatch(strings.TrimRight(line, "\r\n"))
		if m == nil {
			if !skip {
				out.WriteString(line)
			}
			continue
		}
		kind, name := m[1], m[2]
		switch {
		case kind == "BEGIN" && open != "":
			return nil, fmt.Errorf("%w: line %d: BEGIN %s inside %s (line %d)", ErrMarker, i+1, name, open, line0)
		case kind == "BEGIN":
			if seen[name] {
				return nil, fmt.Errorf("%w: line %d: section %s appears twice", ErrMarker, i+1, name)
			}
			seen[name] = true
			open, line0 = name, i+1
			out.WriteString(line)
			flags, ok := strings.CutPrefix(name, "FLAGS ")
			if !ok {
				continue // not ours (BENCH and the like): keep the body
			}
			gen := gens[flags]
			if gen == nil {
				return nil, fmt.Errorf("%w: line %d: FLAGS %s", ErrUnknownSection, i+1, flags)
			}
			body, err := gen()
			if err != nil {
				return nil, fmt.Errorf("docs: section FLAGS %s: %w", flags, err)
			}
			out.WriteString(body)
			skip = true
		case name != open:
			return nil, fmt.Errorf("%w: line %d: END %s without its BEGIN", ErrMarker, i+1, name)
		default:
			out.WriteString(line)
			open, skip = "", false
		}
	}
	if open != "" {
		return nil, fmt.Errorf("%w: BEGIN %s (line %d) has no END", ErrMarker, open, line0)
	}
	for _, s := range Sections {
		if !seen["FLAGS "+s.Name] {
			return nil, fmt.Errorf("%w: FLAGS %s (add <!-- BEGIN FLAGS %s --> and its END)", ErrMissingSection, s.Name, s.Name)
		}
	}
	return []byte(out.String()), nil
}
