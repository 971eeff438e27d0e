package meta_test

import (
	"testing"

	"mogfs/trackerd/meta/metatest"
)

func TestSQLite(t *testing.T) {
	t.Parallel()
	metatest.Run(t, metatest.SQLiteConfig)
}

func TestMySQL(t *testing.T) {
	t.Parallel()
	metatest.MySQLConfig(t) // skip (or fail under CI) early when no server is configured
	metatest.Run(t, metatest.MySQLConfig)
}
