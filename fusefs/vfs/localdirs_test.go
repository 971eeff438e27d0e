package vfs

import (
	"slices"
	"testing"
)

func TestLocalDirs(t *testing.T) {
	var l localDirs
	for _, d := range []string{"a/", "a/b/", "a/b/c/", "a/x/", "top/"} {
		l.add("d1", d)
	}
	l.add("d2", "a/")
	check := func(step, dir string, want ...string) {
		t.Helper()
		if got := l.children("d1", dir); !slices.Equal(got, want) && len(got)+len(want) > 0 {
			t.Errorf("%s: children(%q) = %q, want %q", step, dir, got, want)
		}
	}
	check("add", "", "a", "top")
	check("add", "a/", "b", "x")
	check("add", "a/b/", "c")
	if !l.has("d1", "a/b/c/") || l.has("d1", "a/b/c/d/") || !l.has("d2", "a/") || l.has("d2", "a/b/") {
		t.Errorf("has does not match what was added: %v", l.dirs)
	}

	l.rename("d1", "a/b/", "top/moved/")
	check("rename", "a/", "x")
	check("rename", "top/", "moved")
	check("rename", "top/moved/", "c")
	if l.has("d1", "a/b/") || l.has("d1", "a/b/c/") || !l.has("d1", "top/moved/c/") {
		t.Errorf("after rename: %v", l.dirs)
	}

	// Renaming a directory that is not recorded (a key prefix) still
	// carries the recorded ones under it.
	l.add("d1", "real/sub/")
	l.rename("d1", "real/", "other/")
	if l.has("d1", "real/sub/") || !l.has("d1", "other/sub/") || l.has("d1", "other/") {
		t.Errorf("rename of an unrecorded parent: %v", l.dirs)
	}

	l.remove("d1", "a/x/")
	check("remove", "a/")
	l.remove("d1", "nothing/")
	if l.has("d1", "a/x/") || !l.has("d1", "a/") || !l.has("d2", "a/") {
		t.Errorf("after remove: %v", l.dirs)
	}
}
