package cli

import (
	"strings"
	"testing"
)

func FuzzParseConf(f *testing.F) {
	for _, s := range []string{"trackers = a:1, b:2\n", "#x\n k=v # c\n", "=\n", "a = \n", "\x00=\x00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		kv, err := ParseConf(strings.NewReader(s))
		if err != nil {
			return
		}
		for k, v := range kv {
			if k == "" || v == "" || strings.TrimSpace(v) != v || strings.Contains(v, "#") {
				t.Fatalf("ParseConf(%q) gave %q = %q", s, k, v)
			}
		}
	})
}

func FuzzParse(f *testing.F) {
	f.Add("--trackers=a:1\x00--domain\x00d\x00pos\x00--noverify")
	f.Add("--\x00-\x00--x=")
	f.Fuzz(func(t *testing.T, s string) {
		args := strings.Split(s, "\x00")
		opts, pos, err := Parse(args, Spec{"trackers": false, "domain": false, "noverify": true})
		if err != nil {
			return
		}
		if len(opts)+len(pos) > len(args) {
			t.Fatalf("Parse(%q) = %v, %q: more results than arguments", args, opts, pos)
		}
	})
}
