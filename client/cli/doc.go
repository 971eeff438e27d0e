// Package cli is the shared code of the MogileFS-Utils look-alike tools
// (mogupload, mogfetch, mogdelete, moglistkeys, mogfileinfo, mogrename,
// moglistfids, mogfiledebug, mogstats, mogadm): option parsing in the style
// of Perl's Getopt::Long (--name=value and --name value, options anywhere
// among the arguments), the trackers/domain/class defaults from
// ~/.mogilefs.conf and /etc/mogilefs/mogilefs.conf, the progress bar, and
// each tool's Run function, so that every cmd/<tool>/main.go is a few lines.
// mogstats reads the database, which this package cannot: its Stats takes
// the database code as a StatsBackend from cmd/mogstats.
//
// Each tool returns its exit status: 0 on success, 1 on a failure (with a
// message on stderr), 2 on a usage error.
package cli
