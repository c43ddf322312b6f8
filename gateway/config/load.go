package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strconv"

	"gopkg.in/yaml.v3"

	"github.com/portcullis-gw/portcullis/keypath"
)

// Load reads, decodes, defaults and validates the config file at path.
// Every problem found is returned at once as a *Problems.
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, &Problems{List: []Problem{{Message: fmt.Sprintf("reading config: %v", err)}}}
	}
	return Parse(data, path)
}

// Parse is Load on bytes already read; path locates relative file paths
// (the folder of path, or the working directory when path is empty).
func Parse(data []byte, path string) (*Config, error) {
	return parse(data, path, os.LookupEnv)
}

var yamlLineRE = regexp.MustCompile(`\bline (\d+)\b`)

func parse(data []byte, path string, lookupEnv func(string) (string, bool)) (*Config, error) {
	var doc yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&doc); err != nil && !errors.Is(err, io.EOF) {
		return nil, syntaxProblem(err)
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); err == nil {
		return nil, &Problems{List: []Problem{{Line: extra.Line, Message: "a config file holds one YAML document; found a second one"}}}
	} else if !errors.Is(err, io.EOF) {
		return nil, syntaxProblem(err)
	}

	d := &decoder{lookupEnv: lookupEnv, lines: map[string]int{}}
	cfg := &Config{Path: path}
	if doc.Kind == yaml.DocumentNode && len(doc.Content) == 1 {
		d.decode(doc.Content[0], reflect.ValueOf(cfg).Elem(), keypath.Path{})
	}
	cfg.Path = path
	if d.aborted {
		return nil, &Problems{List: d.problems}
	}

	applyDefaults(cfg)
	dir := "."
	if path != "" {
		dir = filepath.Dir(path)
	}
	if abs, err := filepath.Abs(dir); err == nil {
		dir = abs
	}
	var found []Problem
	found = append(found, resolveFiles(cfg, dir)...)
	found = append(found, resolveOutputs(cfg, dir)...)
	found = append(found, validate(cfg)...)

	problems := d.problems
	for _, p := range found {
		if coveredBy(p.Path, d.problems) {
			// A key that failed to decode holds its zero value; its
			// follow-on validation problems would only be noise.
			continue
		}
		if p.Line == 0 {
			p.Line = lineOf(d.lines, p.Path)
		}
		problems = append(problems, p)
	}
	if len(problems) > 0 {
		sortProblems(problems)
		return nil, &Problems{List: problems}
	}
	return cfg, nil
}

func syntaxProblem(err error) *Problems {
	p := Problem{Message: fmt.Sprintf("parsing YAML: %v", err)}
	if m := yamlLineRE.FindStringSubmatch(err.Error()); m != nil {
		p.Line, _ = strconv.Atoi(m[1])
	}
	return &Problems{List: []Problem{p}}
}

// lineOf finds the line of path, or of its nearest ancestor written in the
// file (a defaulted key has no line of its own).
func lineOf(lines map[string]int, path keypath.Path) int {
	for p := path; !p.IsRoot(); p = p.Parent() {
		if l, ok := lines[p.String()]; ok {
			return l
		}
	}
	return 0
}

func coveredBy(path keypath.Path, decodeProblems []Problem) bool {
	for _, dp := range decodeProblems {
		if !dp.Path.IsRoot() && path.Within(dp.Path) {
			return true
		}
	}
	return false
}
