package vfs

import (
	"bytes"
	"io"
	"math/rand/v2"
	"os"
	"testing"
)

// TestStageModel runs random writes, truncates and reads against a stage
// and a plain byte slice, across the spill to a file, and checks that the
// file is unlinked and the memory budget returned.
func TestStageModel(t *testing.T) {
	before := stageMem.Load()
	for seed := range uint64(20) {
		rng := rand.New(rand.NewPCG(seed, 1))
		dir := t.TempDir()
		s := newStage(dir)
		var want []byte
		for range 200 {
			// Mostly small offsets; sometimes far enough to spill.
			off := rng.Int64N(64 << 10)
			if rng.IntN(20) == 0 {
				off = rng.Int64N(2 * stageMemMax)
			}
			switch rng.IntN(4) {
			case 0:
				n := rng.Int64N(3 * stageMemMax / 2)
				if err := s.Truncate(n); err != nil {
					t.Fatal(err)
				}
				want = resize(want, n)
			default:
				p := make([]byte, rng.IntN(8<<10))
				for i := range p {
					p[i] = byte(rng.Uint32())
				}
				if n, err := s.WriteAt(p, off); err != nil || n != len(p) {
					t.Fatalf("WriteAt: %d, %v", n, err)
				}
				want = resize(want, max(int64(len(want)), off+int64(len(p))))
				copy(want[off:], p)
			}
			if size, err := s.Size(); err != nil || size != int64(len(want)) {
				t.Fatalf("Size = %d, %v; want %d", size, err, len(want))
			}
		}
		got := make([]byte, len(want)+10)
		n, err := s.ReadAt(got, 0)
		if err != io.EOF || n != len(want) || !bytes.Equal(got[:n], want) {
			t.Fatalf("seed %d: read %d bytes (%v), differs from the model (%d bytes)", seed, n, err, len(want))
		}
		if ents, _ := os.ReadDir(dir); len(ents) != 0 {
			t.Errorf("staging dir holds %d names, want the file unlinked", len(ents))
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	}
	if after := stageMem.Load(); after != before {
		t.Errorf("in-memory stages hold %d bytes after every stage closed, want %d", after, before)
	}
}

func resize(b []byte, n int64) []byte {
	if n <= int64(len(b)) {
		return b[:n]
	}
	return append(b, make([]byte, n-int64(len(b)))...)
}

// TestStageBudget: once the sessions' memory budget is spent, a new
// stage's content goes to a file, and closing stages gives it back.
func TestStageBudget(t *testing.T) {
	before := stageMem.Load()
	dir := t.TempDir()
	var held []*stage
	for range stageMemBudget/stageMemMax + 1 {
		s := newStage(dir)
		if _, err := s.WriteAt(make([]byte, stageMemMax), 0); err != nil {
			t.Fatal(err)
		}
		held = append(held, s)
	}
	if last := held[len(held)-1]; last.f == nil {
		t.Error("a stage past the memory budget stayed in memory")
	}
	if got := stageMem.Load(); got > stageMemBudget {
		t.Errorf("in-memory stages hold %d bytes, budget %d", got, stageMemBudget)
	}
	for _, s := range held {
		s.Close()
	}
	if after := stageMem.Load(); after != before {
		t.Errorf("stages hold %d bytes after closing, want %d", after, before)
	}
}
