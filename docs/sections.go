package docs

import (
	"bytes"
	"context"
	"fmt"
	"strings"

	"mogfs/client/cli"
	"mogfs/fusefs/vfs"
	"mogfs/internal/config"
	"mogfs/stord"
	"mogfs/trackerd"
	"mogfs/trackerd/dbstats"
)

// Section is one generated part of the README: the body that goes between
// "<!-- BEGIN FLAGS Name -->" and "<!-- END FLAGS Name -->".
type Section struct {
	Name string
	Gen  func() (string, error)
}

// Sections lists every generated section, one per binary with options.
// cmd/mogbench is left out: it is a developer tool documented in
// bench/README.md.
var Sections = []Section{
	{"trackerd", func() (string, error) { return settingsTable(trackerd.Settings), nil }},
	{"stord", func() (string, error) { return settingsTable(stord.Settings), nil }},
	{"mogfs", mountOptions},
	{"mogupload", toolHelp("mogupload", cli.Upload)},
	{"mogfetch", toolHelp("mogfetch", cli.Fetch)},
	{"mogdelete", toolHelp("mogdelete", cli.Delete)},
	{"moglistkeys", toolHelp("moglistkeys", cli.ListKeys)},
	{"mogfileinfo", toolHelp("mogfileinfo", cli.FileInfo)},
	{"mogrename", toolHelp("mogrename", cli.Rename)},
	{"moglistfids", toolHelp("moglistfids", cli.ListFIDs)},
	{"mogfiledebug", toolHelp("mogfiledebug", cli.FileDebug)},
	{"mogstats", toolHelp("mogstats", func(ctx context.Context, args []string, env cli.Env) int {
		return cli.Stats(ctx, args, env, cli.StatsBackend{Names: dbstats.Names}) // --help needs only the names
	})},
	{"mogadm", toolHelp("mogadm", cli.Adm)},
}

// settingsTable renders a daemon's settings table in declaration order
// (the original's keys first, then mogfs's additions, as the tables are
// written), rather than config.Set.Markdown's alphabetical order, and
// leaves an empty default as an empty cell.
func settingsTable(settings []config.Setting) string {
	var b strings.Builder
	b.WriteString("| flag / config key | default | meaning |\n|---|---|---|\n")
	b.WriteString("| `--config` | | read settings from this file (`key = value` lines, `#` comments) |\n")
	for _, s := range settings {
		fmt.Fprintf(&b, "| %s | %s | %s |\n", code("--"+s.Name), code(s.Default), cell(s.Help))
	}
	return b.String()
}

// mountOptions renders the mount's -o options from vfs.OptionHelp, the
// text of `mogfs` usage errors, which the option table generates. (The
// table itself is unexported; its help lines are "  name[=...]  help".)
func mountOptions() (string, error) {
	var b strings.Builder
	b.WriteString("| option | meaning |\n|---|---|\n")
	n := 0
	for line := range strings.SplitSeq(vfs.OptionHelp(), "\n") {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		name, help, ok := strings.Cut(line, " ")
		if !ok {
			return "", fmt.Errorf("docs: mount option line %q has no help text", line)
		}
		fmt.Fprintf(&b, "| %s | %s |\n", code(name), cell(strings.TrimSpace(help)))
		n++
	}
	if n == 0 {
		return "", fmt.Errorf("docs: vfs.OptionHelp is empty")
	}
	return b.String(), nil
}

// toolHelp returns a generator that runs a tool's cli function with --help
// (which prints the usage and returns before reading any config file or
// dialling a tracker) and renders its output as a text block.
func toolHelp(name string, run func(context.Context, []string, cli.Env) int) func() (string, error) {
	return func() (string, error) {
		var out, errb bytes.Buffer
		env := cli.Env{Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errb, ConfFiles: []string{}}
		if rc := run(context.Background(), []string{"--help"}, env); rc != 0 || out.Len() == 0 {
			return "", fmt.Errorf("docs: %s --help exited %d: %s", name, rc, errb.String())
		}
		return "```text\n" + strings.TrimRight(out.String(), "\n") + "\n```\n", nil
	}
}

// code renders s as inline code ("" as an empty cell), using a longer
// fence when s holds a backtick.
func code(s string) string {
	if s == "" {
		return ""
	}
	if strings.Contains(s, "`") {
		return "`` " + cell(s) + " ``"
	}
	return "`" + strings.ReplaceAll(s, "|", `\|`) + "`"
}

// cell escapes what would break a Markdown table cell or turn into HTML.
func cell(s string) string {
	r := strings.NewReplacer("|", `\|`, "<", "&lt;", ">", "&gt;", "\n", " ")
	return r.Replace(s)
}
