package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestPlanCommand(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	demo := write("demo.graphql", `{ users(first: 2) { username reviews { body product { name } } } }`)
	named := write("named.graphql", `query A { users { id } } query B($upc: String!) { product(upc: $upc) { name reviews { body } } }`)
	bad := write("bad.graphql", `{ users { nme } }`)
	schemas := []string{"--schema", "../../configs/schemas/accounts.graphql", "--schema", "../../configs/schemas/products.graphql",
		"--schema", "../../configs/schemas/reviews.graphql"}
	tests := []struct {
		name string
		args []string
		code int
		// want are substrings of stdout, in order; stderr for a failure.
		want []string
	}{
		{"text plan across three subgraphs", append(schemas, "--query", demo), 0, []string{
			"QueryPlan {", "Sequence {", `Fetch(service: "accounts")`, "users(first: $a)",
			`Fetch(service: "reviews")`, "_entities(representations: $representations)", "... on User",
			`Flatten(path: "users.@.reviews.@.product")`, `Fetch(service: "products")`, "... on Product", "name"}},
		{"json plan", append(schemas, "--query", demo, "--json"), 0, []string{
			`"operationType": "query"`, `"kind": "Sequence"`, `"subgraphName": "accounts"`, `"subgraphName": "reviews"`,
			`"dependsOnFetchIds": [`, `"subgraphName": "products"`}},
		{"named operation with variables", append(schemas, "--query", named, "--operation", "B", "--variables", `{"upc":"1"}`), 0, []string{
			`Fetch(service: "products")`, "product(upc: $upc)", `Fetch(service: "reviews")`}},
		{"route of a config", []string{"-c", "../../configs/demo.yaml", "--query", demo}, 0, []string{`Fetch(service: "accounts")`, `Fetch(service: "products")`}},
		{"invalid operation", append(schemas, "--query", bad), 1, []string{`GRAPHQL_VALIDATION_FAILED: Cannot query field "nme" on type "User".`}},
		{"unknown route", []string{"-c", "../../configs/demo.yaml", "--route", "nope", "--query", demo}, 1, []string{`no GraphQL route "nope"`}},
		{"plain schema cannot be planned", []string{"--schema", write("mono.graphql", "type Query { a: Int }"), "--query", write("a.graphql", "{ a }")}, 1,
			[]string{"building the planner", "not federated"}},
		{"schema and config together", append(schemas, "-c", "x.yaml"), 2, []string{"give either --schema files or -c"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			code := run(append([]string{"plan"}, tt.args...), &out, &errOut)
			if code != tt.code {
				t.Fatalf("exit %d, want %d\nstdout: %s\nstderr: %s", code, tt.code, out.String(), errOut.String())
			}
			got := out.String()
			if tt.code != 0 {
				got = errOut.String()
			}
			rest := got
			for _, w := range tt.want {
				i := strings.Index(rest, w)
				if i < 0 {
					t.Fatalf("output lacks %q (in order) in:\n%s", w, got)
				}
				rest = rest[i+len(w):]
			}
			if tt.code == 0 && strings.Contains(tt.name, "json") {
				var v planOutput
				if err := json.Unmarshal(out.Bytes(), &v); err != nil {
					t.Fatalf("not JSON: %v", err)
				}
			}
		})
	}
}
