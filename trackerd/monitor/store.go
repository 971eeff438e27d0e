package monitor

import (
	"context"
	"time"

	"mogfs/trackerd/meta"
)

// Store is what the monitor needs of the metadata store (*meta.Store): the
// host and device tables, the server settings (for the network zones), the
// usage it writes back, and the lock that lets one tracker of several write
// it.
type Store interface {
	Devices(ctx context.Context) ([]meta.Device, error)
	Hosts(ctx context.Context) ([]meta.Host, error)
	Settings(ctx context.Context) (map[string]string, error)
	TryLock(ctx context.Context, name string, ttl time.Duration) (release func(), ok bool, err error)
	UpdateDeviceUsage(ctx context.Context, devid int, mbTotal, mbUsed int64) error
}

var _ Store = (*meta.Store)(nil)
