package schema

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
)

// generatedFederation builds a federation of subs subgraphs with types
// entity types of fields fields each (the docs/ pages: 200 types, 2,000 fields, 10
// subgraphs): each subgraph owns its share of entities and extends the
// next subgraph's entities with one field.
func generatedFederation(subs, types, fields int) []SubgraphSDL {
	out := make([]SubgraphSDL, subs)
	per := types / subs
	for s := 0; s < subs; s++ {
		var b strings.Builder
		b.WriteString(`extend schema @link(url: "https://specs.apollo.dev/federation/v2.9", import: ["@key", "@cost", "@requiresScopes"])` + "\n")
		fmt.Fprintf(&b, "type Query {\n")
		for t := s * per; t < (s+1)*per; t++ {
			fmt.Fprintf(&b, "  t%d(id: ID!): T%d @requiresScopes(scopes: [[\"s%d\"]])\n", t, t, s)
		}
		b.WriteString("}\n")
		for t := s * per; t < (s+1)*per; t++ {
			fmt.Fprintf(&b, "type T%d @key(fields: \"id\") {\n  id: ID!\n", t)
			for f := 0; f < fields/types-2; f++ {
				fmt.Fprintf(&b, "  f%d: String @cost(weight: %d)\n", f, f%5)
			}
			fmt.Fprintf(&b, "  next: T%d\n}\n", (t+1)%types)
		}
		next := (s + 1) % subs
		for t := next * per; t < (next+1)*per; t++ {
			fmt.Fprintf(&b, "type T%d @key(fields: \"id\") { id: ID! extra%d: Int }\n", t, s)
		}
		out[s] = SubgraphSDL{Name: fmt.Sprintf("s%d", s), SDL: b.String()}
	}
	return out
}

func TestGeneratedFederationComposes(t *testing.T) {
	g, err := Compose(generatedFederation(10, 200, 2000))
	if err != nil {
		t.Fatal(err)
	}
	if n := len(g.Fields()); n < 2000 {
		t.Fatalf("only %d fields", n)
	}
}

func BenchmarkCompose(b *testing.B) {
	b.Run("demo", func(b *testing.B) {
		subs := loadFixture(&testing.T{}, filepath.Join("testdata", "compose", "valid_entities"))
		b.ReportAllocs()
		for b.Loop() {
			if _, err := Compose(subs); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("200types-2000fields-10subgraphs", func(b *testing.B) {
		subs := generatedFederation(10, 200, 2000)
		b.ReportAllocs()
		for b.Loop() {
			if _, err := Compose(subs); err != nil {
				b.Fatal(err)
			}
		}
	})
}
