package trackerd

import (
	"errors"

	"mogfs/trackerd/meta"
)

// Sentinel errors of package trackerd.
var (
	// ErrNoListen is returned by Start when the configuration names no
	// address to listen on; fix --listen.
	ErrNoListen = errors.New("trackerd: no listen address")

	// ErrBadConfig is returned by ConfigFromSet when a setting has a value
	// of the wrong form; the wrapped message names the setting.
	ErrBadConfig = errors.New("trackerd: bad setting")
)

func isNotFound(err error) bool { return errors.Is(err, meta.ErrNotFound) }
