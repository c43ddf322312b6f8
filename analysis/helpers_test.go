package analysis

import (
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"

	"github.com/portcullis-gw/portcullis/schema"
)

var (
	booksOnce  sync.Once
	booksGraph *schema.Graph
	booksErr   error
)

// books is the test schema: Apollo's documented demand-control example
// plus a field for each cost rule.
func books(t testing.TB) *schema.Graph {
	t.Helper()
	booksOnce.Do(func() {
		b, err := os.ReadFile(filepath.Join("testdata", "books.graphql"))
		if err != nil {
			booksErr = err
			return
		}
		booksGraph, booksErr = schema.ParseSDL("books", string(b))
	})
	if booksErr != nil {
		t.Fatalf("loading test schema: %v", booksErr)
	}
	return booksGraph
}

func codes(r *Report) []string {
	out := make([]string, 0, len(r.Errors))
	for _, e := range r.Errors {
		out = append(out, e.Code)
	}
	return out
}

func hasCode(r *Report, code string) bool { return slices.Contains(codes(r), code) }

// generous limits let one measure be tested without tripping the others.
var generous = Limits{MaxDepth: 1000, MaxHeight: 100000, MaxAliases: 100000, MaxRootFields: 100000,
	MaxTokens: 1000000, MaxDirectives: 100000, MaxCost: 1 << 30, MaxBatch: 100}
