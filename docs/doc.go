// Package docs keeps the generated parts of README.md in step with the code.
//
// README.md carries sections between marker comments:
//
//	<!-- BEGIN FLAGS trackerd -->
//	...generated...
//	<!-- END FLAGS trackerd -->
//
// Generate rewrites the body of every "FLAGS <name>" section from the table
// the code itself uses: trackerd.Settings and stord.Settings (the daemons'
// flags and config-file keys), vfs.OptionHelp (the mount's -o options) and
// the --help text of each MogileFS-Utils tool, got by running the tool's
// cli function in-process. Sections with other names (for example BENCH,
// filled by the benchmark work) are left alone.
//
// `go run ./docs/gen` rewrites README.md; the test in this package
// regenerates it in memory and fails when the file is out of date, so a
// changed flag cannot leave the README behind. The same tests check that the
// example configs and fstab line in deploy/ use only settings the daemons
// and the mount accept.
package docs
