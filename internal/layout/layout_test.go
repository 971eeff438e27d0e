package layout

import (
	"os/exec"
	"strings"
	"testing"
)

const module = "mogfs"

// pkg is one package as go list sees it, test files left out.
type pkg struct {
	path          string
	imports, deps []string
}

func list(t *testing.T) []pkg {
	t.Helper()
	out, err := exec.Command("go", "list", "-f", "{{.ImportPath}}|{{join .Imports \",\"}}|{{join .Deps \",\"}}", module+"/...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	var pkgs []pkg
	for line := range strings.SplitSeq(strings.TrimSpace(string(out)), "\n") {
		f := strings.Split(line, "|")
		pkgs = append(pkgs, pkg{path: f[0], imports: strings.Split(f[1], ","), deps: strings.Split(f[2], ",")})
	}
	if len(pkgs) < 20 {
		t.Fatalf("go list found %d packages: not the whole module", len(pkgs))
	}
	return pkgs
}

// component is the first element of a package path below the module, ""
// for a path outside it.
func component(path string) string {
	rest, ok := strings.CutPrefix(path, module+"/")
	if !ok {
		return ""
	}
	c, _, _ := strings.Cut(rest, "/")
	return c
}

func TestFloors(t *testing.T) {
	for _, p := range list(t) {
		c := component(p.path)
		floor, ok := Floors[c]
		if !ok {
			t.Errorf("%s: component %q has no floor in layout.Floors", p.path, c)
			continue
		}
		for _, imp := range p.imports {
			ic := component(imp)
			if ic == "" || ic == c {
				continue
			}
			switch f := Floors[ic]; {
			case f > floor:
				t.Errorf("%s (floor %d) imports %s (floor %d): upward", p.path, floor, imp, f)
			case f == floor:
				t.Errorf("%s imports %s: sideways, on floor %d", p.path, imp, f)
			}
		}
	}
}

func TestForbidden(t *testing.T) {
	for _, p := range list(t) {
		for mod, why := range Forbidden[component(p.path)] {
			for _, d := range p.deps {
				if d == mod || strings.HasPrefix(d, mod+"/") {
					t.Errorf("%s depends on %s: %s", p.path, d, why)
					break
				}
			}
		}
	}
}
