// Package cli is the shared code of the MogileFS-Utils look-alike tools
// (mogupload, mogfetch, mogdelete, moglistkeys, mogfileinfo, mogadm): option
// parsing in the style of Perl's Getopt::Long (--name=value and --name value,
// options anywhere among the arguments), the trackers/domain/class defaults
// from ~/.mogilefs.conf and /etc/mogilefs/mogilefs.conf, the progress bar,
// and each tool's Run function, so that every cmd/<tool>/main.go is a few
// lines.
//
// Each tool returns its exit status: 0 on success, 1 on a failure (with a
// message on stderr), 2 on a usage error.
package cli
