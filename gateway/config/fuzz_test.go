package config

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// FuzzParse asserts that Parse never panics and always answers with either
// a config or a *Problems that says something.
func FuzzParse(f *testing.F) {
	for _, pattern := range []string{"testdata/good/*.yaml", "testdata/broken/*.yaml"} {
		files, err := filepath.Glob(pattern)
		if err != nil {
			f.Fatal(err)
		}
		for _, file := range files {
			data, err := os.ReadFile(file)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(data)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := Parse(data, "testdata/good/fuzz.yaml")
		if err == nil {
			if cfg == nil {
				t.Fatal("nil config and nil error")
			}
			return
		}
		var ps *Problems
		if !errors.As(err, &ps) {
			t.Fatalf("error %T, want *Problems", err)
		}
		if len(ps.List) == 0 {
			t.Fatal("empty *Problems")
		}
		for _, p := range ps.List {
			if p.Message == "" {
				t.Fatalf("problem without a message at %q", p.Path)
			}
		}
	})
}
