package cache

import "errors"

// ErrBadConfig is returned by New when MaxBytes is negative or BlockSize is
// not positive; the caller should fix its configuration.
var ErrBadConfig = errors.New("cache: bad config")
