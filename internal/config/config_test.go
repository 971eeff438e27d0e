package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestPrecedence(t *testing.T) {
	dir := t.TempDir()
	conf := filepath.Join(dir, "x.conf")
	os.WriteFile(conf, []byte("# comment\nhttplisten = 1.2.3.4:1 # trailing\n docroot=/from/file\n\n"), 0o644)
	s := New("stord", []Setting{{"httplisten", "0.0.0.0:7500", "h"}, {"docroot", "/var/mogdata", "d"}, {"maxconns", "10000", "m"}})
	rest, err := s.Parse([]string{"--config", conf, "--docroot=/from/flag", "extra"})
	if err != nil {
		t.Fatal(err)
	}
	if got := s.String("httplisten"); got != "1.2.3.4:1" {
		t.Errorf("httplisten = %q, want file value", got)
	}
	if got := s.String("docroot"); got != "/from/flag" {
		t.Errorf("docroot = %q, want flag value", got)
	}
	if n, _ := s.Int("maxconns"); n != 10000 {
		t.Errorf("maxconns = %d, want default", n)
	}
	if len(rest) != 1 || rest[0] != "extra" {
		t.Errorf("rest = %v", rest)
	}
}

func TestUnknownKeyInFile(t *testing.T) {
	conf := filepath.Join(t.TempDir(), "x.conf")
	os.WriteFile(conf, []byte("nosuch = 1\n"), 0o644)
	s := New("x", []Setting{{"a", "", ""}})
	if _, err := s.Parse([]string{"--config=" + conf}); err == nil || !strings.Contains(err.Error(), "nosuch") {
		t.Fatalf("Parse = %v, want unknown key error", err)
	}
}

func TestParseFileErrors(t *testing.T) {
	for _, in := range []string{"novalue\n", "two words = x\n", "= x\n"} {
		if _, err := ParseFile(strings.NewReader(in)); err == nil {
			t.Errorf("ParseFile(%q) = nil error, want error", in)
		}
	}
}

func FuzzParseFile(f *testing.F) {
	f.Add("a = b\n# c\n")
	f.Add("docroot=/x\r\n")
	f.Fuzz(func(t *testing.T, in string) {
		kv, err := ParseFile(strings.NewReader(in))
		if err != nil {
			return
		}
		for k := range kv {
			if k == "" || strings.ContainsAny(k, " \t#=") {
				t.Fatalf("bad key %q from %q", k, in)
			}
		}
	})
}

func TestSecret(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "secret")
	os.WriteFile(file, []byte("  from-a-file-0123456789\n"), 0o600)
	empty := filepath.Join(dir, "empty")
	os.WriteFile(empty, []byte("\n"), 0o600)
	table := []Setting{{"secret", "", ""}, {"secret_file", "", ""}}
	for _, tc := range []struct {
		name string
		args []string
		want string
		ok   bool
	}{
		{"neither", nil, "", true},
		{"inline", []string{"--secret=inline"}, "inline", true},
		{"file", []string{"--secret_file=" + file}, "from-a-file-0123456789", true},
		{"both", []string{"--secret=x", "--secret_file=" + file}, "", false},
		{"missing file", []string{"--secret_file=" + filepath.Join(dir, "nosuch")}, "", false},
		{"empty file", []string{"--secret_file=" + empty}, "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := New("x", table)
			if _, err := s.Parse(tc.args); err != nil {
				t.Fatal(err)
			}
			got, err := s.Secret("secret", "secret_file")
			if (err == nil) != tc.ok || string(got) != tc.want {
				t.Fatalf("Secret(%v) = %q, %v, want %q, ok %v", tc.args, got, err, tc.want, tc.ok)
			}
		})
	}
}
