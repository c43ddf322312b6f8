// Package notice writes the NOTICE file shipped beside the portcullis binary:
// the licence of every third-party Go module the binary links (and of the Go
// standard library), with the texts those licences ask to be reproduced in a
// binary distribution.
//
// The list comes from `go list -deps` of the command, so it is exactly what
// the linker sees: test-only and tool-only modules are not in it.
package notice

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
)

// Module is one linked module and the licence files found at its root.
type Module struct {
	Path     string
	Dir      string
	Licences []string // SPDX identifiers, sorted; empty when unrecognised
	Files    []File   // licence files first, then NOTICE files, each sorted by name
}

// File is one licence or NOTICE file of a module.
type File struct {
	Name   string
	Text   string
	Notice bool // a NOTICE file (Apache-2.0 section 4(d) asks to pass it on)
}

// Unlicensed lists modules known to ship no licence file, each with what a
// reviewer found about it. A new module without a licence fails Generate
// until someone has looked at it and added it here.
var Unlicensed = map[string]string{
	"github.com/jensneuse/abstractlogger": "ships no licence file in its module; it is a logging interface linked through github.com/wundergraph/graphql-go-tools/v2 (MIT). Ask upstream for a licence before a release that links it.",
	"github.com/wundergraph/go-arena":     "ships no licence file in its module (v1.3.0); its README says Apache License 2.0. An arena allocator linked through github.com/wundergraph/graphql-go-tools/v2 (MIT), from the same vendor. Ask upstream to add the licence file.",
}

// licenceFile matches the names Go's module proxy and pkg.go.dev treat as
// licence files, plus NOTICE files.
var licenceFile = regexp.MustCompile(`(?i)^(licen[cs]e|copying|unlicense|notice)([.-].*)?$`)

// Linked lists the non-standard modules that the packages pkgs link, run in dir.
func Linked(dir string, pkgs ...string) ([]Module, error) {
	args := append([]string{"list", "-deps", "-json=Module,Standard"}, pkgs...)
	cmd := exec.Command("go", args...)
	cmd.Dir = dir
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("go list: %v: %s", err, stderr.String())
	}
	type mod struct {
		Path, Dir string
		Main      bool
		Replace   *mod
	}
	seen := map[string]Module{}
	dec := json.NewDecoder(bytes.NewReader(out))
	for dec.More() {
		var p struct{ Module *mod }
		if err := dec.Decode(&p); err != nil {
			return nil, fmt.Errorf("decoding go list output: %w", err)
		}
		if p.Module == nil || p.Module.Main {
			continue
		}
		m := *p.Module
		if m.Replace != nil {
			m.Dir = m.Replace.Dir
		}
		seen[m.Path] = Module{Path: m.Path, Dir: m.Dir}
	}
	mods := make([]Module, 0, len(seen))
	for _, m := range seen {
		mods = append(mods, m)
	}
	slices.SortFunc(mods, func(a, b Module) int { return strings.Compare(a.Path, b.Path) })
	return mods, nil
}

// Read fills m's licence files and identifiers from its directory.
func Read(m *Module) error {
	if m.Dir == "" {
		return fmt.Errorf("%s: not in the module cache (run go mod download)", m.Path)
	}
	entries, err := os.ReadDir(m.Dir)
	if err != nil {
		return err
	}
	var licences, notices []File
	ids := map[string]bool{}
	for _, e := range entries {
		if e.IsDir() || !licenceFile.MatchString(e.Name()) {
			continue
		}
		b, err := os.ReadFile(filepath.Join(m.Dir, e.Name()))
		if err != nil {
			return err
		}
		f := File{Name: e.Name(), Text: strings.TrimSpace(strings.ReplaceAll(string(b), "\r\n", "\n"))}
		if strings.HasPrefix(strings.ToLower(e.Name()), "notice") {
			f.Notice = true
			notices = append(notices, f)
			continue
		}
		licences = append(licences, f)
		for _, id := range Classify(f.Text) {
			ids[id] = true
		}
	}
	m.Files = append(licences, notices...)
	m.Licences = m.Licences[:0]
	for id := range ids {
		m.Licences = append(m.Licences, id)
	}
	slices.Sort(m.Licences)
	return nil
}

// Classify names the licences a text grants, by the sentences that define
// each (https://spdx.org/licenses/ for the identifiers). A text carrying two
// licences (gopkg.in/yaml.v3: MIT and Apache-2.0) yields both.
func Classify(text string) []string {
	t := normalize(text)
	var ids []string
	has := func(s string) bool { return strings.Contains(t, s) }
	if has("apache license") && (has("version 2.0") || has("apache.org/licenses/license-2.0")) {
		ids = append(ids, "Apache-2.0")
	}
	if has("redistribution and use in source and binary forms, with or without modification, are permitted") {
		switch {
		case has("neither the name of") || has("names of its contributors may be used") || has("name of the copyright holder nor"):
			ids = append(ids, "BSD-3-Clause")
		default:
			ids = append(ids, "BSD-2-Clause")
		}
	}
	if has("permission is hereby granted, free of charge, to any person obtaining a copy") {
		ids = append(ids, "MIT")
	}
	if has("permission to use, copy, modify, and/or distribute this software for any purpose") ||
		has("permission to use, copy, modify, and distribute this software for any purpose with or without fee") {
		ids = append(ids, "ISC")
	}
	if has("mozilla public license, version 2.0") || has("mozilla public license version 2.0") {
		ids = append(ids, "MPL-2.0")
	}
	slices.Sort(ids)
	return ids
}

var spaces = regexp.MustCompile(`\s+`)

// normalize lowers case and folds every run of white space (and the comment
// markers some projects wrap their licence in) to one space.
func normalize(s string) string {
	s = strings.ToLower(s)
	s = strings.NewReplacer("#", " ", "//", " ", "*", " ").Replace(s)
	return strings.TrimSpace(spaces.ReplaceAllString(s, " "))
}

// apacheTerms is where the Apache License's terms end; what follows is the
// appendix on how to apply it, which projects fill in with their own names.
const apacheTerms = "end of terms and conditions"

// sameApacheTerms reports whether text has the Apache-2.0 terms of own
// word for word, and returns what the file adds after them when that
// differs from own's appendix.
func sameApacheTerms(text, own string) (same bool, rest string) {
	t, o := normalize(text), normalize(own)
	ti, oi := strings.Index(t, apacheTerms), strings.Index(o, apacheTerms)
	if ti < 0 || oi < 0 || t[:ti] != o[:oi] {
		return false, ""
	}
	if t[ti:] == o[oi:] {
		return true, ""
	}
	// Keep the file's own words after the terms (its copyright line).
	raw := strings.ToLower(text)
	if i := strings.Index(raw, "end of terms and conditions"); i >= 0 {
		return true, strings.TrimSpace(text[i+len(apacheTerms):])
	}
	return true, ""
}

// Options say what to generate.
type Options struct {
	Dir      string   // the main module's directory
	Packages []string // the binaries' main packages, e.g. ./cmd/portcullis
	GoRoot   string   // the Go toolchain's GOROOT, for the standard library's licence
}

// Generate writes the NOTICE text. It fails when a linked module has no
// recognised licence and is not in Unlicensed.
func Generate(o Options) ([]byte, error) {
	mods, err := Linked(o.Dir, o.Packages...)
	if err != nil {
		return nil, err
	}
	own, err := os.ReadFile(filepath.Join(o.Dir, "LICENSE"))
	if err != nil {
		return nil, err
	}
	var problems []string
	for i := range mods {
		if err := Read(&mods[i]); err != nil {
			return nil, err
		}
		if len(mods[i].Licences) == 0 {
			if _, ok := Unlicensed[mods[i].Path]; !ok {
				problems = append(problems, mods[i].Path+": no recognised licence file; review it and add it to notice.Unlicensed, or drop the dependency")
			}
		}
	}
	if len(problems) > 0 {
		return nil, fmt.Errorf("%s", strings.Join(problems, "\n"))
	}
	if o.GoRoot == "" {
		out, err := exec.Command("go", "env", "GOROOT").Output()
		if err != nil {
			return nil, fmt.Errorf("go env GOROOT: %w", err)
		}
		o.GoRoot = strings.TrimSpace(string(out))
	}
	std, err := os.ReadFile(filepath.Join(o.GoRoot, "LICENSE"))
	if err != nil {
		return nil, fmt.Errorf("the Go standard library's licence: %w", err)
	}
	return render(mods, string(own), strings.TrimSpace(string(std))), nil
}

func render(mods []Module, ownLicence, stdLicence string) []byte {
	var b bytes.Buffer
	b.WriteString(`Portcullis
Copyright 2026 The Portcullis Authors

Licensed under the Apache License, Version 2.0 (see LICENSE).

The portcullis binary links the Go standard library and the third-party Go
modules listed below. Each is listed with the licence its module ships
(SPDX identifiers), followed by the licence texts and NOTICE files those
licences ask a binary distribution to reproduce. The source of every module
is available at its module path (for the MPL-2.0 ones, this is the source
that licence asks to be made available).

This file is generated by "make notice"; a test fails when it no longer
matches what the binary links.

`)
	b.WriteString("Summary\n=======\n\n")
	fmt.Fprintf(&b, "  %-50s %s\n", "Go standard library (go.dev)", "BSD-3-Clause")
	for _, m := range mods {
		id := strings.Join(m.Licences, " AND ")
		if id == "" {
			id = "NONE (no licence file; see below)"
		}
		fmt.Fprintf(&b, "  %-50s %s\n", m.Path, id)
	}
	if flagged := unlicensedOf(mods); len(flagged) > 0 {
		b.WriteString("\nModules without a licence\n=========================\n\n")
		for _, m := range flagged {
			fmt.Fprintf(&b, "  %s: %s\n", m.Path, Unlicensed[m.Path])
		}
	}
	b.WriteString("\n")
	section(&b, "Go standard library", "BSD-3-Clause")
	b.WriteString(stdLicence + "\n\n")
	for _, m := range mods {
		section(&b, m.Path, strings.Join(m.Licences, " AND "))
		for _, f := range m.Files {
			fmt.Fprintf(&b, "--- %s ---\n", f.Name)
			if same, rest := sameApacheTerms(f.Text, ownLicence); !f.Notice && same {
				b.WriteString("The terms of the Apache License, Version 2.0, word for word as in Portcullis's LICENSE.\n")
				if rest != "" {
					b.WriteString("After the terms, the file reads:\n\n" + rest + "\n")
				}
				b.WriteString("\n")
				continue
			}
			b.WriteString(f.Text + "\n\n")
		}
		if len(m.Files) == 0 {
			b.WriteString("No licence file.\n\n")
		}
	}
	return append(bytes.TrimRight(b.Bytes(), "\n"), '\n')
}

func section(b *bytes.Buffer, name, licence string) {
	title := name
	if licence != "" {
		title += " (" + licence + ")"
	}
	fmt.Fprintf(b, "%s\n%s\n\n", title, strings.Repeat("=", len(title)))
}

func unlicensedOf(mods []Module) []Module {
	var out []Module
	for _, m := range mods {
		if len(m.Licences) == 0 {
			out = append(out, m)
		}
	}
	return out
}

// Listed returns the module paths of a NOTICE text's summary, with their
// licence column, so a test can name what is missing or stale.
func Listed(notice []byte) map[string]string {
	out := map[string]string{}
	_, rest, ok := bytes.Cut(notice, []byte("Summary\n=======\n\n"))
	if !ok {
		return out
	}
	for _, line := range strings.Split(string(rest), "\n") {
		if !strings.HasPrefix(line, "  ") {
			break
		}
		f := strings.Fields(line)
		if len(f) >= 2 && !strings.HasPrefix(line, "  Go standard library") {
			out[f[0]] = strings.Join(f[1:], " ")
		}
	}
	return out
}

// Diff explains how a committed NOTICE differs from a freshly generated one:
// modules missing from it, modules it lists that the binary no longer links,
// licences that changed, and, when the lists agree, that a text changed.
func Diff(committed, generated []byte) []string {
	if bytes.Equal(committed, generated) {
		return nil
	}
	have, want := Listed(committed), Listed(generated)
	var out []string
	for _, p := range sortedKeys(want) {
		switch got, ok := have[p]; {
		case !ok:
			out = append(out, fmt.Sprintf("%s (%s) is linked but missing from NOTICE", p, want[p]))
		case got != want[p]:
			out = append(out, fmt.Sprintf("%s is listed as %s but its module now ships %s", p, got, want[p]))
		}
	}
	for _, p := range sortedKeys(have) {
		if _, ok := want[p]; !ok {
			out = append(out, p+" is listed in NOTICE but no longer linked")
		}
	}
	if len(out) == 0 {
		out = append(out, "a licence or NOTICE text of a linked module changed")
	}
	return out
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
