// Package layout is the project's floor plan, held against the code by its
// test (run by scripts/test with every other test): each component (the
// first element of an import path below the module) sits on a floor, and a
// package may import its own component and the floors below, never its
// own floor's other components or a floor above. The plan also keeps the
// daemons free of FUSE and the client library free of cgo SQLite, so each
// builds and runs where the others cannot.
package layout

// Floors maps each component to its floor. A new top-level package needs
// a row: the test fails until it has one.
var Floors = map[string]int{
	// the ground: wire codecs and leaf libraries, no mogfs imports
	"protocol":  1, // the tracker protocol and the mogfs extension's values
	"nodeproto": 1, // the storage node's protocol
	"cache":     1, // the mount's block cache
	"metrics":   1, // Prometheus families
	"internal":  1, // settings tables, loopback addresses, test helpers, this plan
	// the parts
	"client":   2, // Go client library and the tools' code
	"trackerd": 2, // the tracker
	"stord":    2, // the storage node
	// built on the parts
	"fusefs": 3, // the mount
	"bench":  3, // the benchmark suite
	// mains, documents and black-box tests
	"cmd":         4,
	"docs":        4,
	"integration": 4,
}

// Forbidden lists, per component, modules it must not depend on, even
// indirectly, with the reason.
var Forbidden = map[string]map[string]string{
	"trackerd": {"github.com/hanwen/go-fuse": "the tracker runs where there is no FUSE"},
	"stord":    {"github.com/hanwen/go-fuse": "a storage node runs where there is no FUSE"},
	"client":   {"github.com/mattn/go-sqlite3": "the client library builds without cgo"},
	"protocol": {"github.com/mattn/go-sqlite3": "the wire codec builds without cgo"},
}
