// Command gen rewrites the generated sections of README.md (the flag and
// option tables of every binary) from the code; see package docs.
//
//	go run ./docs/gen            # rewrites ./README.md
//	go run ./docs/gen -check     # exits 1 when README.md is out of date
package main

import (
	"bytes"
	"flag"
	"fmt"
	"os"

	"mogfs/docs"
)

func main() {
	path := flag.String("readme", "README.md", "the README to rewrite")
	check := flag.Bool("check", false, "only report whether the README is up to date")
	flag.Parse()
	if err := run(*path, *check); err != nil {
		fmt.Fprintln(os.Stderr, "docs/gen:", err)
		os.Exit(1)
	}
}

func run(path string, check bool) error {
	old, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	out, err := docs.Generate(old)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	switch {
	case bytes.Equal(old, out):
		return nil
	case check:
		return fmt.Errorf("%s is out of date: run go run ./docs/gen", path)
	}
	fi, err := os.Stat(path)
	if err != nil {
		return err
	}
	if err := os.WriteFile(path, out, fi.Mode().Perm()); err != nil {
		return err
	}
	fmt.Println("docs/gen: rewrote", path)
	return nil
}
