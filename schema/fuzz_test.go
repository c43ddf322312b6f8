package schema

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzParseSDL feeds arbitrary SDL to the loader and to the composer: they
// must fail with an error, never panic (the docs/ pages: fuzz test).
func FuzzParseSDL(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "compose", "*", "*.graphql"))
	for _, file := range files {
		if b, err := os.ReadFile(file); err == nil {
			f.Add(string(b))
		}
	}
	f.Fuzz(func(t *testing.T, sdl string) {
		g, err := ParseSDL("fuzz", sdl)
		// The loaders recover from panics; a recovered one is still a bug.
		if err != nil && strings.Contains(err.Error(), "internal error") {
			t.Fatalf("loader panicked: %v", err)
		}
		if err == nil && g.Schema() == nil {
			t.Fatal("graph without schema")
		}
		if err == nil && g.Kind() != KindMonolith {
			if _, err := ParseSDL("again", g.SupergraphSDL()); err != nil {
				t.Fatalf("printed supergraph does not load back: %v", err)
			}
		}
		if _, err := Compose([]SubgraphSDL{{Name: "a", SDL: sdl}, {Name: "b", SDL: sdl}}); err != nil &&
			strings.Contains(err.Error(), "INTERNAL_ERROR") {
			t.Fatalf("composer panicked: %v", err)
		}
	})
}
