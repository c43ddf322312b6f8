package schema

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/vektah/gqlparser/v2/formatter"
)

var update = flag.Bool("update", false, "rewrite golden files and expected metadata")

// expectation is a fixture's expected.json: the metadata of a valid
// composition or the errors of an invalid one.
type expectation struct {
	Errors []CompositionError    `json:"errors,omitempty"`
	Types  map[string]*TypeMeta  `json:"types,omitempty"`
	Fields map[string]*FieldMeta `json:"fields,omitempty"`
}

func loadFixture(t *testing.T, dir string) []SubgraphSDL {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.graphql"))
	if err != nil {
		t.Fatal(err)
	}
	var subs []SubgraphSDL
	for _, f := range files {
		if filepath.Base(f) == "supergraph.graphql" {
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		name := strings.TrimSuffix(filepath.Base(f), ".graphql")
		subs = append(subs, SubgraphSDL{Name: name, URL: "http://" + name + ".test/graphql", SDL: string(b)})
	}
	return subs
}

func metadataOf(g *Graph) expectation {
	return expectation{Types: g.types, Fields: g.fields}
}

func canonicalJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	return string(b) + "\n"
}

func stripMessages(errs []CompositionError) []CompositionError {
	out := make([]CompositionError, len(errs))
	for i, e := range errs {
		e.Message = ""
		out[i] = e
	}
	return out
}

func TestComposeFixtures(t *testing.T) {
	dirs, err := filepath.Glob(filepath.Join("testdata", "compose", "*"))
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(dirs)
	if len(dirs) < 25 {
		t.Fatalf("want at least 25 composition fixtures, have %d", len(dirs))
	}
	for _, dir := range dirs {
		t.Run(filepath.Base(dir), func(t *testing.T) {
			subs := loadFixture(t, dir)
			// Subgraph order must not depend on file names only; the
			// fixture files are listed sorted, as the CLI would get them.
			g, err := Compose(subs)
			expPath := filepath.Join(dir, "expected.json")
			goldenPath := filepath.Join(dir, "supergraph.graphql")
			var got expectation
			if err != nil {
				var ce *CompositionErrors
				if !errors.As(err, &ce) {
					t.Fatalf("Compose returned %T, want *CompositionErrors: %v", err, err)
				}
				got.Errors = stripMessages(ce.Errors)
				for _, e := range ce.Errors {
					if e.Message == "" || e.Code == "" {
						t.Errorf("error without code or message: %+v", e)
					}
				}
			} else {
				got = metadataOf(g)
			}
			if *update {
				if err := os.WriteFile(expPath, []byte(canonicalJSON(t, got)), 0o644); err != nil {
					t.Fatal(err)
				}
				if g != nil {
					if err := os.WriteFile(goldenPath, []byte(g.SupergraphSDL()), 0o644); err != nil {
						t.Fatal(err)
					}
				}
			}
			raw, err := os.ReadFile(expPath)
			if err != nil {
				t.Fatalf("reading %s (run with -update to create it): %v", expPath, err)
			}
			var want expectation
			if err := json.Unmarshal(raw, &want); err != nil {
				t.Fatal(err)
			}
			want.Errors = stripMessages(want.Errors)
			if a, b := canonicalJSON(t, got), canonicalJSON(t, want); a != b {
				t.Fatalf("composition result differs from %s\n got: %s\nwant: %s\n%v", expPath, a, b, g == nil)
			}
			if strings.HasPrefix(filepath.Base(dir), "valid_") != (g != nil) {
				t.Fatalf("fixture name prefix says valid=%v, composition succeeded=%v", strings.HasPrefix(filepath.Base(dir), "valid_"), g != nil)
			}
			if g == nil {
				return
			}
			golden, err := os.ReadFile(goldenPath)
			if err != nil {
				t.Fatal(err)
			}
			if string(golden) != g.SupergraphSDL() {
				t.Errorf("supergraph differs from %s (run with -update)\n%s", goldenPath, g.SupergraphSDL())
			}
			assertRoundTrip(t, g)
			assertExtracted(t, g, filepath.Join(dir, "extracted.json"))
		})
	}
}

// assertExtracted compares each subgraph's planner view with its golden
// file: root and child fields, keys, @requires, @provides, entity
// interfaces and the rebuilt SDL, all read back from the supergraph.
func assertExtracted(t *testing.T, g *Graph, path string) {
	t.Helper()
	subs, err := g.Extracted()
	if err != nil {
		t.Fatalf("Extracted: %v", err)
	}
	got, err := json.MarshalIndent(subs, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	got = append(got, '\n')
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("reading %s (run with -update to create it): %v", path, err)
	}
	if string(got) != string(want) {
		t.Errorf("extracted subgraphs differ from %s (run with -update)\n%s", path, got)
	}
	// A supergraph file gives the same view as the composition it prints.
	again, err := ParseSDL("supergraph", g.SupergraphSDL())
	if err != nil {
		t.Fatal(err)
	}
	subs2, _ := again.Extracted()
	if b, _ := json.MarshalIndent(subs2, "", "  "); string(append(b, '\n')) != string(got) {
		t.Errorf("the printed supergraph extracts differently:\n%s", b)
	}
}

// assertRoundTrip loads the printed supergraph back and compares metadata,
// API schema and version.
func assertRoundTrip(t *testing.T, g *Graph) {
	t.Helper()
	back, err := ParseSDL("supergraph.graphql", g.SupergraphSDL())
	if err != nil {
		t.Fatalf("loading the printed supergraph: %v", err)
	}
	if back.Kind() != KindSupergraph && g.Kind() == KindSupergraph {
		t.Fatalf("printed supergraph detected as %v", back.Kind())
	}
	if a, b := canonicalJSON(t, metadataOf(back)), canonicalJSON(t, metadataOf(g)); a != b {
		t.Fatalf("round trip changed the metadata\nback: %s\norig: %s", a, b)
	}
	if a, b := apiSDL(back), apiSDL(g); a != b {
		t.Fatalf("round trip changed the API schema\nback: %s\norig: %s", a, b)
	}
	if back.Version() != g.Version() {
		t.Fatalf("round trip changed the version: %s vs %s", back.Version(), g.Version())
	}
	if back.SupergraphSDL() != g.SupergraphSDL() {
		t.Fatalf("printing is not stable:\n%s\n---\n%s", back.SupergraphSDL(), g.SupergraphSDL())
	}
}

func apiSDL(g *Graph) string {
	var buf bytes.Buffer
	formatter.NewFormatter(&buf).FormatSchema(g.Schema())
	return buf.String()
}
