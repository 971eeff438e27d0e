package monitor_test

import (
	"os"
	"testing"

	"mogfs/internal/stordtest"
)

func TestMain(m *testing.M) {
	code := m.Run()
	stordtest.Cleanup()
	os.Exit(code)
}

// node is a real stord process on its own loopback address.
type node = stordtest.Node

func startNode(t *testing.T, devids ...int) *node { return stordtest.Start(t, devids...) }
