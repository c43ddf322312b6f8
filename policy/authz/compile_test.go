package authz

import (
	"strings"
	"testing"

	"github.com/portcullis-gw/portcullis/schema"
)

func TestCompileReportsEveryProblem(t *testing.T) {
	g, err := schema.ParseSDL("bad", `
type Query {
  a: String @policy(policies: [["ghost"]])
  b(id: ID, input: In): String
}
type Thing @policy(policies: [["phantom", "admin"]]) { x: Int }
extend type Query { thing: Thing }
input In { name: String }
`)
	if err != nil {
		t.Fatal(err)
	}
	policies := Policies{
		"admin":    "'admin' in identity.roles",
		"syntax":   "identity.roles.exists(r, ",
		"notbool":  "identity.subject",
		"typo":     "identity.role == 'x'",
		"reqtypo":  "request.ip == '1.2.3.4'",
		"undeclar": "user.id == 'x'",
	}
	rules := []Rule{
		{Coordinate: "Nope.a", Policy: "admin"},
		{Coordinate: "Query.zzz", Policy: "admin"},
		{Coordinate: "Query.b(nope)", Policy: "admin"},
		{Coordinate: "Query.b(input.nope)", Policy: "admin"},
		{Coordinate: "Query.b(id.deeper)", Policy: "admin"},
		{Coordinate: "Query.a", Policy: "missing"},
		{Coordinate: "not a coordinate", Policy: "admin"},
		{Coordinate: "Query.b(input.name)", Policy: "admin"},   // valid
		{Coordinate: "Query.b(input:)", Scopes: []string{"x"}}, // valid
	}
	_, err = Compile(policies, g, GraphQLConfig{Mode: "filter", Rules: rules})
	if err == nil {
		t.Fatal("Compile accepted a broken configuration")
	}
	msg := err.Error()
	for _, want := range []string{
		`policy "syntax"`,
		`policy "notbool": expression must be bool`,
		`policy "typo": identity has no field "role"`,
		`policy "reqtypo": request has no field "ip"`,
		`policy "undeclar"`,
		`rules[0]: coordinate "Nope.a": type "Nope" does not exist`,
		`rules[1]: coordinate "Query.zzz": field "zzz" does not exist`,
		`rules[2]: coordinate "Query.b(nope)": argument "nope" does not exist`,
		`rules[3]: coordinate "Query.b(input.nope)": input field "nope" does not exist`,
		`rules[4]: coordinate "Query.b(id.deeper)": ID is not an input object`,
		`rules[5].policy: unknown policy "missing"`,
		`rules[6]: coordinate "not a coordinate"`,
		`@policy on Query.a names unknown policy "ghost"`,
		`@policy on Thing names unknown policy "phantom"`,
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("error does not mention %q:\n%s", want, msg)
		}
	}
	if strings.Contains(msg, "rules[7]") || strings.Contains(msg, "rules[8]") {
		t.Errorf("valid rules reported:\n%s", msg)
	}
}

func TestCompileMode(t *testing.T) {
	g := shop(t)
	if _, err := Compile(testPolicies, g, GraphQLConfig{Mode: "permissive"}); err == nil {
		t.Fatal("unknown mode accepted")
	}
	a, err := Compile(testPolicies, g, GraphQLConfig{})
	if err != nil {
		t.Fatal(err)
	}
	if a.Mode() != ModeReject {
		t.Fatalf("zero mode = %q, want reject (fail closed)", a.Mode())
	}
}

func TestCompileNilSchema(t *testing.T) {
	if _, err := Compile(testPolicies, nil, GraphQLConfig{Mode: ModeFilter}); err == nil {
		t.Fatal("nil schema accepted")
	}
}
