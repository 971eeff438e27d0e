package stord

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

func TestDiskTicks(t *testing.T) {
	const ds = ` 252       0 vda 93613 33042 5925254 39412 1106640 1132069 25283338 1385213 0 513364 1480447 0 0 0 0 119486 55820
 252       1 vda1 93000 33042 5900000 39000 1106640 1132069 25283338 1385213 0 513000 1480447 0 0 0 0 0 0
   7       0 loop0 1 2 3
`
	got := diskTicks(strings.NewReader(ds))
	if got["vda"] != 513364 || got["vda1"] != 513000 || len(got) != 2 {
		t.Errorf("diskTicks = %v, want vda=513364 vda1=513000", got)
	}
}

func TestUtilSampler(t *testing.T) {
	root := t.TempDir()
	for _, d := range []string{"dev10", "dev2"} {
		os.Mkdir(filepath.Join(root, d), 0o755)
	}
	s := &utilSampler{docRoot: root}
	s.sample(time.Now())
	block := s.sample(time.Now().Add(time.Second))
	if !regexp.MustCompile(`^2\t\d+\.\d\d\n10\t\d+\.\d\d\n\.\n$`).MatchString(block) {
		t.Errorf("sample() = %q, want lines for dev2 then dev10 and a dot", block)
	}
}
