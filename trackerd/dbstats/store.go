package dbstats

import (
	"context"
	"time"

	"mogfs/trackerd/meta"
)

// Store is what mogstats reads from the metadata store; *meta.Store
// implements it (Run opens one with meta.OpenReadOnly).
type Store interface {
	Topology
	Census
	Now(ctx context.Context) (time.Time, error) // the database's clock, for overdue against deferred
}

// Topology is the rows every statistic names its lines by.
type Topology interface {
	Domains(ctx context.Context) ([]meta.Domain, error)
	Classes(ctx context.Context) ([]meta.Class, error)
	Devices(ctx context.Context) ([]meta.Device, error)
	Hosts(ctx context.Context) ([]meta.Host, error)
}

// Census is the counting queries, each a scan of a whole table.
type Census interface {
	FilesByClass(ctx context.Context, sizes bool) ([]meta.ClassFiles, error)
	FilesByDevCount(ctx context.Context) ([]meta.DevCountFiles, error)
	FilesByDevice(ctx context.Context) (map[int]int64, error)
	QueueByNextTry(ctx context.Context, q meta.Queue) ([]meta.NextTryRows, error)
	MaxFID(ctx context.Context) (int64, error)
}

var _ Store = (*meta.Store)(nil)
