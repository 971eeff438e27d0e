package dbstats

import "errors"

// ErrUnknownStat is returned by Run for a --stats value that is not one of
// Names, before anything is printed; the caller should print the usage,
// which lists them.
var ErrUnknownStat = errors.New("dbstats: unknown statistic")
