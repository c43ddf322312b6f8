package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const analyzeSDL = `
directive @authenticated on FIELD_DEFINITION | OBJECT | INTERFACE | SCALAR | ENUM
directive @requiresScopes(scopes: [[String!]!]!) on FIELD_DEFINITION | OBJECT | INTERFACE | SCALAR | ENUM
type Query {
  books(limit: Int!): [Book] @listSize(slicingArguments: ["limit"])
  me: User @authenticated
}
type Book { id: ID! title: String }
type User @requiresScopes(scopes: [["user:read"]]) { id: ID! name: String }
`

func TestAnalyzeCommand(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	sdl := write("shop.graphql", analyzeSDL)
	ok := write("ok.graphql", `query Q($n: Int!) { books(limit: $n) { id title } me { name } }`)
	vars := write("vars.json", `{"n": 4}`)
	bad := write("bad.graphql", `{ bok { id } }`)

	tests := []struct {
		name  string
		args  []string
		stdin string
		code  int
		check func(t *testing.T, out string)
	}{
		{"json with variables file", []string{"--schema", sdl, "--query", ok, "--variables", "@" + vars, "--json"}, "", 0, func(t *testing.T, out string) {
			var got analyzeOutput
			if err := json.Unmarshal([]byte(out), &got); err != nil {
				t.Fatalf("output is not JSON: %v\n%s", err, out)
			}
			// books: 4 x 1, me: 1
			if got.OperationName != "Q" || got.OperationType != "query" || got.Cost != 5 || got.Depth != 2 || got.RootFields != 2 {
				t.Errorf("got %+v", got)
			}
			if strings.Join(got.Fields, ",") != "Book.id,Book.title,Query.books,Query.me,User.name" {
				t.Errorf("fields = %v", got.Fields)
			}
			var me requirementOut
			for _, r := range got.Requirements {
				if r.Coordinate == "Query.me" {
					me = r
				}
			}
			if !me.Authenticated || len(me.Scopes) != 1 || me.Scopes[0][0] != "user:read" {
				t.Errorf("Query.me requirements = %+v", me)
			}
			if len(got.Errors) != 0 {
				t.Errorf("errors = %v", got.Errors)
			}
		}},
		{"inline variables and stdin", []string{"--schema", sdl, "--variables", `{"n": 100}`, "--json"}, `query Q($n: Int!) { books(limit: $n) { id } }`, 0, func(t *testing.T, out string) {
			if !strings.Contains(out, `"cost": 100`) {
				t.Errorf("output: %s", out)
			}
		}},
		{"too expensive fails the build", []string{"--schema", sdl, "--variables", `{"n": 6000}`, "--json"}, `query Q($n: Int!) { books(limit: $n) { id } }`, 1, func(t *testing.T, out string) {
			if !strings.Contains(out, "COST_ESTIMATED_TOO_EXPENSIVE") {
				t.Errorf("output: %s", out)
			}
		}},
		{"invalid operation", []string{"--schema", sdl, "--query", bad}, "", 1, func(t *testing.T, out string) {
			if !strings.Contains(out, "GRAPHQL_VALIDATION_FAILED") || !strings.Contains(out, "Did you mean") {
				t.Errorf("schema owners get full messages: %s", out)
			}
		}},
		{"human table", []string{"--schema", sdl, "--query", ok, "--variables", `{"n": 2}`, "--list-size", "3"}, "", 0, func(t *testing.T, out string) {
			for _, s := range []string{"cost", "Query.me", "authenticated", "user:read", "valid"} {
				if !strings.Contains(out, s) {
					t.Errorf("table lacks %q:\n%s", s, out)
				}
			}
		}},
		{"no schema", []string{"--query", ok}, "", 2, nil},
		{"missing schema file", []string{"--schema", filepath.Join(dir, "nope.graphql"), "--query", ok}, "", 1, nil},
		{"bad variables", []string{"--schema", sdl, "--query", ok, "--variables", "{"}, "", 1, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			stdin = strings.NewReader(tc.stdin)
			defer func() { stdin = os.Stdin }()
			var out, errOut bytes.Buffer
			code := run(append([]string{"analyze"}, tc.args...), &out, &errOut)
			if code != tc.code {
				t.Fatalf("exit %d, want %d; stdout %s stderr %s", code, tc.code, out.String(), errOut.String())
			}
			if tc.check != nil {
				tc.check(t, out.String())
			}
		})
	}
}
