package main

import (
	"os"
	"regexp"
	"strings"
	"testing"
)

var docFlag = regexp.MustCompile(`(?:^|[\s\[|(])(--?[a-z][a-z0-9-]*)`)

// cliLines returns the lines of the README's CLI block and of the command
// column of docs/operations.md's CLI table that start with "portcullis".
func cliLines(t *testing.T) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(readme), "## CLI\n\n```\n")
	if !ok {
		t.Fatal("README.md has no CLI block")
	}
	block, _, _ := strings.Cut(rest, "```")
	for _, l := range strings.Split(block, "\n") {
		if strings.HasPrefix(l, "portcullis ") {
			out["README.md"] = append(out["README.md"], l)
		}
	}
	ops, err := os.ReadFile("../../docs/operations.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(ops), "\n") {
		if strings.HasPrefix(l, "| `portcullis ") {
			cell := strings.Split(strings.ReplaceAll(l, `\|`, "/"), "|")[1]
			for _, m := range regexp.MustCompile("`(portcullis [^`]+)`").FindAllStringSubmatch(cell, -1) {
				out["docs/operations.md"] = append(out["docs/operations.md"], m[1])
			}
		}
	}
	return out
}

// TestDocsCLI: the README and docs/operations.md name only commands and
// flags the binary has, and every command is documented in both.
func TestDocsCLI(t *testing.T) {
	for doc, lines := range cliLines(t) {
		seen := map[string]bool{}
		for _, l := range lines {
			fields := strings.Fields(l)
			if len(fields) < 2 {
				continue
			}
			name := fields[1]
			if name == "--version" || name == "--help" {
				seen[name] = true
				continue
			}
			if _, ok := commands[name]; !ok {
				t.Errorf("%s: %q names no command", doc, l)
				continue
			}
			seen[name] = true
			known := map[string]bool{}
			for _, f := range flagsOf(t, name) {
				known[f.Name] = true
			}
			// The synopsis part only: the README's right-hand column is prose.
			end := strings.Index(l, name) + len(name)
			rest := l[end:]
			synopsis := l[:end]
			if !strings.HasPrefix(rest, "   ") {
				synopsis = l
			} else if trimmed := strings.TrimLeft(rest, " "); len(rest)-len(trimmed) < 10 {
				// "portcullis serve      -c FILE ...   prose": the flags start
				// after a short gap, the prose after a long one.
				start := end + len(rest) - len(trimmed)
				synopsis = l
				if i := strings.Index(l[start:], "   "); i > 0 {
					synopsis = l[:start+i]
				}
			}
			for _, m := range docFlag.FindAllStringSubmatch(synopsis, -1) {
				flagName := strings.TrimLeft(m[1], "-")
				if !known[flagName] {
					t.Errorf("%s: %q: %s has no flag %s", doc, l, name, m[1])
				}
			}
		}
		for _, name := range commandNames() {
			if !seen[name] {
				t.Errorf("%s does not document the command %s", doc, name)
			}
		}
	}
}
