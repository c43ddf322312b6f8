package upstreams_test

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/parser"

	"github.com/portcullis-gw/portcullis/test/upstreams/accounts"
	"github.com/portcullis-gw/portcullis/test/upstreams/orders"
	"github.com/portcullis-gw/portcullis/test/upstreams/products"
	"github.com/portcullis-gw/portcullis/test/upstreams/reviews"
)

var update = flag.Bool("update", false, "rewrite the copies under configs/ from the embedded originals")

// configsDir is the repository's configs folder, seen from this package.
const configsDir = "../../configs"

// TestConfigCopiesMatchEmbedded keeps configs/schemas and configs/specs, which
// the demo config and the gateway's own tests load, equal to what the
// upstreams really serve.
func TestConfigCopiesMatchEmbedded(t *testing.T) {
	tests := []struct {
		file     string
		embedded []byte
	}{
		{"schemas/accounts.graphql", []byte(accounts.SDL())},
		{"schemas/products.graphql", []byte(products.SDL())},
		{"schemas/reviews.graphql", []byte(reviews.SDL())},
		{"specs/orders.yaml", orders.Spec()},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			path := filepath.Join(configsDir, filepath.FromSlash(tc.file))
			if *update {
				if err := os.WriteFile(path, tc.embedded, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			got, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, tc.embedded) {
				t.Errorf("%s drifted from the upstream's embedded copy; run go test ./test/upstreams -update", path)
			}
		})
	}
}

// TestSDLAnnotations pins the directives the gateway's analysis, authz and
// cost tests rely on, so an edit to a schema cannot silently drop one.
func TestSDLAnnotations(t *testing.T) {
	tests := []struct {
		subgraph   string
		sdl        string
		coordinate string // Type or Type.field
		directive  string
		argument   string // rendered argument value that must appear; "" for none
	}{
		{"accounts", accounts.SDL(), "User", "key", `"id"`},
		{"accounts", accounts.SDL(), "User.email", "requiresScopes", `[["users:email"]]`},
		{"accounts", accounts.SDL(), "User.role", "authenticated", ""},
		{"accounts", accounts.SDL(), "Query.me", "authenticated", ""},
		{"accounts", accounts.SDL(), "Query.users", "listSize", `["first"]`},
		{"accounts", accounts.SDL(), "Mutation.updateUser", "authenticated", ""},
		{"products", products.SDL(), "Product", "key", `"upc"`},
		{"products", products.SDL(), "Product.price", "cost", `2`},
		{"products", products.SDL(), "Query.topProducts", "listSize", `false`},
		{"reviews", reviews.SDL(), "User", "key", `"id"`},
		{"reviews", reviews.SDL(), "Product", "key", `"upc"`},
		{"reviews", reviews.SDL(), "User.reviews", "listSize", `5`},
		{"reviews", reviews.SDL(), "Product.reviews", "cost", `5`},
		{"reviews", reviews.SDL(), "Product.reviews", "listSize", `10`},
		{"reviews", reviews.SDL(), "Product.secretNotes", "requiresScopes", `[["reviews:admin"]]`},
		{"reviews", reviews.SDL(), "Query.latestReviews", "listSize", `["first"]`},
	}
	for _, tc := range tests {
		t.Run(tc.subgraph+"/"+tc.coordinate+"@"+tc.directive, func(t *testing.T) {
			doc, err := parser.ParseSchema(&ast.Source{Name: tc.subgraph, Input: tc.sdl})
			if err != nil {
				t.Fatalf("parsing: %v", err)
			}
			dirs := directivesAt(t, doc, tc.coordinate)
			d := dirs.ForName(tc.directive)
			if d == nil {
				t.Fatalf("%s has no @%s", tc.coordinate, tc.directive)
			}
			var args []string
			for _, a := range d.Arguments {
				args = append(args, a.Value.String())
			}
			if !strings.Contains(strings.Join(args, " "), tc.argument) {
				t.Errorf("@%s arguments %v do not include %s", tc.directive, args, tc.argument)
			}
		})
	}
}

func directivesAt(t *testing.T, doc *ast.SchemaDocument, coordinate string) ast.DirectiveList {
	t.Helper()
	typeName, fieldName, hasField := strings.Cut(coordinate, ".")
	def := doc.Definitions.ForName(typeName)
	if def == nil {
		t.Fatalf("no type %s", typeName)
	}
	if !hasField {
		return def.Directives
	}
	f := def.Fields.ForName(fieldName)
	if f == nil {
		t.Fatalf("no field %s", coordinate)
	}
	return f.Directives
}
