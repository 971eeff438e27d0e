package metrics

import "errors"

// ErrNoAddress is returned by Serve when addr is empty. Daemons treat an
// empty metrics_listen as "metrics off" and should not call Serve at all.
var ErrNoAddress = errors.New("metrics: empty listen address")
