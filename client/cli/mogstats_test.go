package cli

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestStats(t *testing.T) {
	conf := filepath.Join(t.TempDir(), "mogilefs.conf")
	if err := os.WriteFile(conf, []byte("db_dsn = DBI:SQLite:dbname=/conf.db\ndb_user = u\nverbose = 0\ntrackers = ignored:1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var got StatsOptions
	backend := StatsBackend{Names: []string{"all", "fids", "files"}, Run: func(ctx context.Context, o StatsOptions) error {
		got = o
		if o.Stats == "files" {
			return errors.New("database on fire")
		}
		return nil
	}}
	for _, tc := range []struct {
		name   string
		args   []string
		files  []string
		rc     int
		want   StatsOptions // Out left out
		stderr string
	}{
		{"options", []string{"--db_dsn=DBI:mysql:m", "--db-user", "me", "--db_pass=pw", "--stats=fids,all", "--verbose"}, nil, 0,
			StatsOptions{DSN: "DBI:mysql:m", User: "me", Pass: "pw", Stats: "fids,all", Verbose: true}, ""},
		{"config file", []string{"--stats=fids"}, []string{conf}, 0, StatsOptions{DSN: "DBI:SQLite:dbname=/conf.db", User: "u", Stats: "fids"}, ""},
		{"command line wins", []string{"--db_dsn=DBI:mysql:x", "--verbose"}, []string{conf}, 0,
			StatsOptions{DSN: "DBI:mysql:x", User: "u", Verbose: true}, ""},
		{"no dsn", []string{"--stats=fids"}, nil, 2, StatsOptions{}, "missing --db_dsn"},
		{"invalid stat", []string{"--db_dsn=x", "--stats=fids,bogus"}, nil, 2, StatsOptions{}, "Invalid stat bogus\n\nUsage: mogstats"},
		{"tracker option", []string{"--db_dsn=x", "--trackers=a:1"}, nil, 2, StatsOptions{}, "unknown option"},
		{"backend error", []string{"--db_dsn=x", "--stats=files"}, nil, 1, StatsOptions{DSN: "x", Stats: "files"}, "mogstats: database on fire\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got = StatsOptions{}
			var out, errb bytes.Buffer
			rc := Stats(t.Context(), tc.args, Env{Stdout: &out, Stderr: &errb, ConfFiles: tc.files}, backend)
			got.Out = nil
			if rc != tc.rc || got != tc.want || !strings.Contains(errb.String(), tc.stderr) {
				t.Errorf("Stats(%q) = %d, %+v, stderr %q; want %d, %+v, %q", tc.args, rc, got, errb.String(), tc.rc, tc.want, tc.stderr)
			}
		})
	}
	var out bytes.Buffer
	if rc := Stats(t.Context(), []string{"--help"}, Env{Stdout: &out, ConfFiles: []string{}}, StatsBackend{Names: backend.Names}); rc != 0 ||
		!strings.HasPrefix(out.String(), "Usage: mogstats") || !strings.HasSuffix(out.String(), "\nvalid stats: all, fids, files\n") {
		t.Errorf("Stats(--help) = %d, %q", rc, out.String())
	}
}
