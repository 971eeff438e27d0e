package docs

import "errors"

// Errors of Generate. Each names a malformed or incomplete README; the
// caller should fix the marker comments it names and run the generator
// again.
var (
	// ErrUnknownSection is returned for a "FLAGS <name>" section whose name
	// has no generator (a typo, or a binary that no longer exists).
	ErrUnknownSection = errors.New("docs: unknown section")
	// ErrMissingSection is returned when the README lacks the section of a
	// binary that has flags, so that a new binary is documented or
	// deliberately left out of Sections.
	ErrMissingSection = errors.New("docs: missing section")
	// ErrMarker is returned for a BEGIN without its END, an END without
	// its BEGIN, or a section that appears twice.
	ErrMarker = errors.New("docs: bad marker")
)
