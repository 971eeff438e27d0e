package integration

import (
	"os"
	"testing"

	"mogfs/internal/testenv"
)

// TestMain removes the binaries testenv.Binaries built for this package.
func TestMain(m *testing.M) {
	code := m.Run()
	testenv.CleanupBinaries()
	os.Exit(code)
}
