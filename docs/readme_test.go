package docs

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"mogfs/fusefs/vfs"
	"mogfs/internal/config"
	"mogfs/stord"
	"mogfs/trackerd"
	"mogfs/trackerd/meta"
)

// TestReadmeInSync regenerates README.md in memory and fails when the file
// on disk differs, so a changed flag or option cannot leave the docs behind.
func TestReadmeInSync(t *testing.T) {
	path := filepath.Join("..", "README.md")
	old, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	got, err := Generate(old)
	if err != nil {
		t.Fatalf("Generate(README.md): %v", err)
	}
	if !bytes.Equal(old, got) {
		t.Fatalf("README.md is out of date: run go run ./docs/gen\n%s", firstDiff(old, got))
	}
}

// firstDiff describes the first differing line of two texts with a little
// context, enough to see which table changed.
func firstDiff(old, new []byte) string {
	a := strings.Split(string(old), "\n")
	b := strings.Split(string(new), "\n")
	i := 0
	for i < len(a) && i < len(b) && a[i] == b[i] {
		i++
	}
	var s strings.Builder
	fmt.Fprintf(&s, "first difference at line %d:\n", i+1)
	for j := i; j < i+3; j++ {
		if j < len(a) {
			fmt.Fprintf(&s, "- %s\n", a[j])
		}
	}
	for j := i; j < i+3; j++ {
		if j < len(b) {
			fmt.Fprintf(&s, "+ %s\n", b[j])
		}
	}
	return s.String()
}

// skeleton is a minimal README holding every FLAGS section, empty.
func skeleton(extra string) string {
	var b strings.Builder
	b.WriteString("# title\n\n")
	for _, s := range Sections {
		fmt.Fprintf(&b, "<!-- BEGIN FLAGS %s -->\nstale\n<!-- END FLAGS %s -->\n\n", s.Name, s.Name)
	}
	b.WriteString(extra)
	return b.String()
}

func TestGenerate(t *testing.T) {
	bench := "<!-- BEGIN BENCH -->\n| kept | as is |\n<!-- END BENCH -->\ntail\n"
	out, err := Generate([]byte(skeleton(bench)))
	if err != nil {
		t.Fatalf("Generate(skeleton) = %v", err)
	}
	s := string(out)
	if strings.Contains(s, "stale") {
		t.Errorf("Generate kept an old section body:\n%s", s)
	}
	if !strings.Contains(s, bench) || !strings.HasPrefix(s, "# title\n\n") {
		t.Errorf("Generate changed text outside the FLAGS sections:\n%s", s)
	}
	again, err := Generate(out)
	if err != nil || !bytes.Equal(again, out) {
		t.Errorf("Generate is not idempotent (err %v)", err)
	}
}

func TestGenerateErrors(t *testing.T) {
	tests := []struct {
		name, in string
		want     error
	}{
		{"unknown section", skeleton("<!-- BEGIN FLAGS nosuch -->\n<!-- END FLAGS nosuch -->\n"), ErrUnknownSection},
		{"missing section", "<!-- BEGIN FLAGS trackerd -->\n<!-- END FLAGS trackerd -->\n", ErrMissingSection},
		{"begin without end", skeleton("<!-- BEGIN BENCH -->\n"), ErrMarker},
		{"end without begin", skeleton("<!-- END BENCH -->\n"), ErrMarker},
		{"nested", skeleton("<!-- BEGIN BENCH -->\n<!-- BEGIN FLAGS x -->\n"), ErrMarker},
		{"twice", skeleton("<!-- BEGIN FLAGS stord -->\n<!-- END FLAGS stord -->\n"), ErrMarker},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := Generate([]byte(tc.in)); !errors.Is(err, tc.want) {
				t.Errorf("Generate = %v, want %v", err, tc.want)
			}
		})
	}
}

// TestSectionsComplete checks that each generated table names every entry
// of the table it comes from.
func TestSectionsComplete(t *testing.T) {
	body := map[string]string{}
	for _, s := range Sections {
		b, err := s.Gen()
		if err != nil {
			t.Fatalf("section %s: %v", s.Name, err)
		}
		body[s.Name] = b
	}
	for name, settings := range map[string][]config.Setting{"trackerd": trackerd.Settings, "stord": stord.Settings} {
		for _, st := range settings {
			if !strings.Contains(body[name], "| `--"+st.Name+"` |") {
				t.Errorf("FLAGS %s lacks --%s", name, st.Name)
			}
		}
	}
	for line := range strings.SplitSeq(vfs.OptionHelp(), "\n") {
		if f := strings.Fields(line); len(f) > 0 && !strings.Contains(body["mogfs"], "| `"+f[0]+"` |") {
			t.Errorf("FLAGS mogfs lacks %s", f[0])
		}
	}
	for _, tool := range []string{"mogupload", "mogfetch", "mogdelete", "moglistkeys", "mogfileinfo", "mogadm", "mogfiledebug", "mogstats"} {
		if !strings.Contains(body[tool], "Usage: "+tool) {
			t.Errorf("FLAGS %s = %q, want the tool's usage", tool, body[tool])
		}
	}
}

// TestDeployConfigs parses the example config files with the daemons' own
// settings tables, so they name only keys the daemons accept, with values
// the daemons can use.
func TestDeployConfigs(t *testing.T) {
	t.Run("mogilefsd.conf", func(t *testing.T) {
		set := config.New("trackerd", trackerd.Settings)
		if _, err := set.Parse([]string{"--config", filepath.Join("..", "deploy", "mogilefsd.conf")}); err != nil {
			t.Fatal(err)
		}
		if _, err := trackerd.ConfigFromSet(set); err != nil {
			t.Errorf("ConfigFromSet = %v", err)
		}
		if _, err := meta.ParseDSN(set.String("db_dsn")); err != nil {
			t.Errorf("db_dsn: %v", err)
		}
	})
	t.Run("mogstored.conf", func(t *testing.T) {
		set := config.New("stord", stord.Settings)
		if _, err := set.Parse([]string{"--config", filepath.Join("..", "deploy", "mogstored.conf")}); err != nil {
			t.Fatal(err)
		}
		if _, err := stord.ConfigFromSet(set); err != nil {
			t.Errorf("ConfigFromSet = %v", err)
		}
	})
}

// TestDeployMounts parses the mount command lines of the fstab line and
// the systemd units as mount(8) or systemd would pass them to mogfs.
func TestDeployMounts(t *testing.T) {
	read := func(name string) string {
		b, err := os.ReadFile(filepath.Join("..", "deploy", name))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	var cases [][]string // mogfs argv without argv[0]
	for line := range strings.SplitSeq(read("fstab"), "\n") {
		if f := strings.Fields(line); len(f) == 6 && !strings.HasPrefix(f[0], "#") {
			if f[2] != "fuse.mogfs" {
				t.Errorf("fstab type = %q, want fuse.mogfs", f[2])
			}
			cases = append(cases, []string{f[0], f[1], "-o", "rw," + f[3]})
		}
	}
	unit := keys(read("mnt-photos.mount"))
	cases = append(cases, []string{unit["What"], unit["Where"], "-o", unit["Options"]})
	if unit["Type"] != "fuse.mogfs" {
		t.Errorf("mnt-photos.mount Type = %q, want fuse.mogfs", unit["Type"])
	}
	tmpl := keys(read("mogfs@.service"))
	env, _ := strings.CutPrefix(tmpl["Environment"], "TRACKERS=")
	exec := strings.NewReplacer("%i", "photos", "${TRACKERS}", env).Replace(tmpl["ExecStart"])
	argv := strings.Fields(exec)
	if filepath.Base(argv[0]) != "mogfs" {
		t.Errorf("mogfs@.service ExecStart runs %q, want mogfs", argv[0])
	}
	cases = append(cases, argv[1:])
	if len(cases) != 3 {
		t.Fatalf("found %d mount command lines, want 3 (fstab, .mount, @.service)", len(cases))
	}
	for _, args := range cases {
		o, err := vfs.ParseArgs(args)
		if err != nil {
			t.Errorf("vfs.ParseArgs(%q) = %v", args, err)
			continue
		}
		if o.Domain != "photos" || o.Mountpoint != "/mnt/photos" {
			t.Errorf("vfs.ParseArgs(%q): domain %q at %q, want photos at /mnt/photos", args, o.Domain, o.Mountpoint)
		}
	}
}

// TestDeployDaemonUnits checks that the daemons' units start them with
// flags their settings tables accept.
func TestDeployDaemonUnits(t *testing.T) {
	for unit, settings := range map[string][]config.Setting{"trackerd.service": trackerd.Settings, "stord.service": stord.Settings} {
		b, err := os.ReadFile(filepath.Join("..", "deploy", unit))
		if err != nil {
			t.Fatal(err)
		}
		argv := strings.Fields(keys(string(b))["ExecStart"])
		if len(argv) == 0 {
			t.Fatalf("%s has no ExecStart", unit)
		}
		// The config file named on ExecStart is the installed one; parse the
		// flags with it swapped for the example from deploy/.
		conf := map[string]string{"trackerd.service": "mogilefsd.conf", "stord.service": "mogstored.conf"}[unit]
		var args []string
		for _, a := range argv[1:] {
			if v, ok := strings.CutPrefix(a, "--config="); ok {
				if filepath.Base(v) != conf {
					t.Errorf("%s reads %s, want .../%s", unit, v, conf)
				}
				a = "--config=" + filepath.Join("..", "deploy", conf)
			}
			args = append(args, a)
		}
		if _, err := config.New(unit, settings).Parse(args); err != nil {
			t.Errorf("%s ExecStart flags: %v", unit, err)
		}
	}
}

// keys returns the key=value lines of a systemd unit (the last of each key).
func keys(unit string) map[string]string {
	out := map[string]string{}
	for line := range strings.SplitSeq(unit, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || line[0] == '#' || line[0] == '[' {
			continue
		}
		if k, v, ok := strings.Cut(line, "="); ok {
			out[k] = v
		}
	}
	return out
}
