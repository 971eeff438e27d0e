// Command mogfiledebug is the MogileFS-Utils tool of the same name, for mogfs (and
// any MogileFS tracker). Run it with --help for its options; the work is
// done by mogfs/client/cli.
//
// Its options are Getopt::Long style (--name=value or --name value, anywhere
// among the arguments) rather than internal/config's flag table, because the
// original tools take options after positional arguments.
package main

import "mogfs/client/cli"

func main() { cli.Main(cli.FileDebug) }
