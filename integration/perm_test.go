package integration

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"mogfs/internal/testenv"
)

// asUser runs a shell script as uid:gid (in a child process, as
// conformance suites switch credentials) and returns its stderr, or "" when
// it succeeded.
func asUser(t *testing.T, uid, gid uint32, dir, script string) string {
	t.Helper()
	cmd := exec.Command("sh", "-c", script)
	cmd.Dir = dir
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uid, Gid: gid, Groups: []uint32{gid}}}
	out, err := cmd.CombinedOutput()
	if err == nil {
		return ""
	}
	if len(out) == 0 {
		return err.Error()
	}
	return string(out)
}

func modeOf(t *testing.T, path string) uint32 {
	t.Helper()
	var st syscall.Stat_t
	if err := syscall.Lstat(path, &st); err != nil {
		t.Fatal(err)
	}
	return st.Mode
}

// TestFUSEPermissions runs the POSIX permission rules as root and as two
// unprivileged users through a mount with allow_other (default_permissions
// is the default): chmod, chown and chgrp by owners and others, explicit
// and current times, set-id bits cleared by chown and by a write from
// another user, sticky directories, open modes, and rename's edge cases.
func TestFUSEPermissions(t *testing.T) {
	testenv.RequireFUSE(t)
	if os.Geteuid() != 0 {
		t.Skip("switches to other users: needs root")
	}
	c := StartCluster(t, ClusterOpts{})
	m := mountMogfs(t, c, "allow_other")
	// Other users must reach the mount point through the test's temp dirs.
	for d := m.Dir; d != "/" && d != os.TempDir(); d = filepath.Dir(d) {
		os.Chmod(d, 0o755)
	}
	root := filepath.Join(m.Dir, "perm")
	if err := os.Mkdir(root, 0o777); err != nil {
		t.Fatal(err)
	}
	os.Chmod(root, 0o777)
	const alice, bob = 1000, 2000
	p := func(rel string) string { return filepath.Join(root, rel) }
	mk := func(rel string, mode os.FileMode, uid, gid int) {
		t.Helper()
		if err := os.WriteFile(p(rel), []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chown(p(rel), uid, gid); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p(rel), mode); err != nil {
			t.Fatal(err)
		}
	}
	mk("alice", 0o644, alice, alice)
	mk("alice-rw", 0o666, alice, alice)
	mk("secret", 0o600, 0, 0)
	mk("suid", 0o755|os.ModeSetuid, alice, alice)
	mk("suid-w", 0o777|os.ModeSetuid, alice, alice)
	mk("sgid", 0o775|os.ModeSetgid, alice, alice)
	if err := os.Mkdir(p("sticky"), 0o777); err != nil {
		t.Fatal(err)
	}
	os.Chmod(p("sticky"), 0o777|os.ModeSticky)

	denied, notPermitted := "Permission denied", "Operation not permitted"
	for _, tc := range []struct {
		name     string
		uid, gid uint32
		script   string
		want     string // "" = succeeds, else a part of the error
	}{
		{"owner chmods", alice, alice, "chmod 640 alice", ""},
		{"other chmods", bob, bob, "chmod 600 alice", notPermitted},
		{"owner chowns to another user", alice, alice, "chown 2000 alice", notPermitted},
		{"other chgrps", bob, bob, "chgrp 2000 alice", notPermitted},
		{"owner chgrps to a group it is not in", alice, alice, "chgrp 2000 alice", notPermitted},
		{"owner chgrps to its own group", alice, alice, "chgrp 1000 alice", ""},
		{"owner sets times", alice, alice, "touch -d 2001-02-03 alice", ""},
		{"other sets times on a file it may write", bob, bob, "touch -d 2001-02-03 alice-rw", notPermitted},
		{"other touches (now) a file it may write", bob, bob, "touch alice-rw", ""},
		{"other touches (now) a file it may not write", bob, bob, "touch alice", denied},
		{"other reads a 0600 file", alice, alice, "cat secret", denied},
		{"other writes a 0640 file", bob, bob, "echo y > alice", denied},
		{"user makes a file in a sticky directory", alice, alice, "echo a > sticky/a", ""},
		{"other removes it", bob, bob, "rm -f sticky/a", notPermitted},
		{"other renames it", bob, bob, "mv sticky/a sticky/b", notPermitted},
		{"owner removes it", alice, alice, "rm sticky/a", ""},
		{"other writes a set-user-ID file it may write", bob, bob, "echo z >> suid-w", ""},
	} {
		got := asUser(t, tc.uid, tc.gid, root, tc.script)
		switch {
		case tc.want == "" && got != "":
			t.Errorf("%s (%d: %s): %s", tc.name, tc.uid, tc.script, strings.TrimSpace(got))
		case tc.want != "" && !strings.Contains(got, tc.want):
			t.Errorf("%s (%d: %s) = %q, want %q", tc.name, tc.uid, tc.script, strings.TrimSpace(got), tc.want)
		}
	}
	if mode := modeOf(t, p("suid-w")); mode&syscall.S_ISUID != 0 {
		t.Errorf("set-user-ID kept after a write by another user: mode %o", mode)
	}
	// chown by root clears set-user-ID too, and set-group-ID of a
	// group-executable file.
	for _, f := range []string{"suid", "sgid"} {
		if err := os.Chown(p(f), bob, bob); err != nil {
			t.Fatal(err)
		}
		if mode := modeOf(t, p(f)); mode&(syscall.S_ISUID|syscall.S_ISGID) != 0 {
			t.Errorf("%s: set-id bits kept after chown: mode %o", f, mode)
		}
	}

	// rename's edge cases, as root, with rename(2) itself (os.Rename
	// refuses any existing directory as the target).
	for _, d := range []string{"r/a/sub", "r/empty", "r/full/x"} {
		if err := os.MkdirAll(p(d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := syscall.Rename(p("r/a"), p("r/a")); err != nil {
		t.Errorf("rename onto itself: %v", err)
	}
	if err := syscall.Rename(p("r/a"), p("r/a/sub/in")); err != syscall.EINVAL {
		t.Errorf("rename into its own sub-directory = %v, want EINVAL", err)
	}
	if err := syscall.Rename(p("r/a"), p("r/full")); err != syscall.ENOTEMPTY && err != syscall.EEXIST {
		t.Errorf("rename onto a non-empty directory = %v, want ENOTEMPTY", err)
	}
	if err := syscall.Rename(p("r/a"), p("r/empty")); err != nil {
		t.Errorf("rename onto an empty directory: %v", err)
	}
	if _, err := os.Stat(p("r/empty/sub")); err != nil {
		t.Errorf("after renaming onto an empty directory: %v", err)
	}
}

// TestFUSEFirstAttrRowKeepsOwner: a file stored by a stock client has no
// attribute row and shows the mount's uid/gid options. chmod gives it its
// first row, which must record that owner too, not root's: a second mount
// (other options) sees the owner the first one showed.
func TestFUSEFirstAttrRowKeepsOwner(t *testing.T) {
	testenv.RequireFUSE(t)
	c := StartCluster(t, ClusterOpts{})
	cl := c.Client(t)
	if _, err := cl.Store(t.Context(), c.Opts.Domain, "plain", c.Opts.Class, strings.NewReader("data"), 4); err != nil {
		t.Fatal(err)
	}
	m := mountMogfs(t, c, "uid=1000,gid=1001")
	p := filepath.Join(m.Dir, "plain")
	var st syscall.Stat_t
	if err := syscall.Stat(p, &st); err != nil || st.Uid != 1000 || st.Gid != 1001 {
		t.Fatalf("before chmod: uid %d gid %d, %v; want the mount's 1000:1001", st.Uid, st.Gid, err)
	}
	if err := os.Chmod(p, 0o600); err != nil {
		t.Fatal(err)
	}
	other := mountMogfs(t, c, "uid=2000,gid=2001")
	if err := syscall.Stat(filepath.Join(other.Dir, "plain"), &st); err != nil {
		t.Fatal(err)
	}
	if st.Uid != 1000 || st.Gid != 1001 || st.Mode&0o7777 != 0o600 {
		t.Errorf("another mount after chmod: uid %d gid %d mode %o; want 1000:1001 0600", st.Uid, st.Gid, st.Mode&0o7777)
	}
}
