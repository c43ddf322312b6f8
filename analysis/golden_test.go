package analysis

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/portcullis-gw/portcullis/internal/testkit/golden"
)

// TestGolden analyses each operation of testdata/ops (variables from the
// .vars.json beside it) and compares the whole report with its golden JSON,
// once without and once with introspection rights.
func TestGolden(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "ops", "*.graphql"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no operations: %v", err)
	}
	a := NewAnalyzer(books(t), CostConfig{ListSize: 10})
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".graphql")
		t.Run(name, func(t *testing.T) {
			q, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			req := Request{Query: string(q)}
			if v, err := os.ReadFile(strings.TrimSuffix(f, ".graphql") + ".vars.json"); err == nil {
				if err := json.Unmarshal(v, &req.Variables); err != nil {
					t.Fatal(err)
				}
			}
			got := map[string]*Report{
				"anonymous":     a.Analyze(req, Limits{}, Access{}),
				"introspecting": a.Analyze(req, Limits{}, Access{Introspection: true}),
			}
			b, err := json.MarshalIndent(got, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			b = append(b, '\n')
			golden.Check(t, filepath.Join("testdata", "golden", name+".json"), b)
		})
	}
}
