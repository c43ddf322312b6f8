package authz

import (
	"slices"
	"testing"
)

// TestInputsFromCheckedExpression: what a policy reads comes from its
// checked expression, not its text. A missed input is a bypass (the caller
// leaves it empty, and a policy such as !('x-block' in request.headers)
// then allows), so every way of reaching a field that is not a plain
// selection must count as reading all of request.
func TestInputsFromCheckedExpression(t *testing.T) {
	cases := []struct {
		name, expr string
		want       Inputs
	}{
		{"nothing", "true", 0},
		{"selected header", "request.headers['x-tenant'] == 'acme'", InputRequestHeaders},
		{"header presence", "!('x-block' in request.headers)", InputRequestHeaders},
		{"has macro", "has(request.headers)", InputRequestHeaders},
		{"index by a constant", "request['headers']['x-tenant'] == 'acme'", InputRequestHeaders},
		{"method only", "request.method == 'GET'", InputRequestMethod},
		{"two fields", "request.path == '/a' && request.client_ip == '127.0.0.1'", InputRequestPath | InputRequestClientIP},
		{"the word in a string is not a read", "identity.subject == 'headers'", InputIdentity},
		{"a claim named headers is not a read", "identity.claims.headers == 'x'", InputIdentity},
		{"arguments", "args.role == 'admin'", InputArgs},
		{"REST variables", "path.id == identity.subject && size(query) == 0 && body == null", InputPath | InputIdentity | InputQuery | InputBody},
		// Reaching a field without naming it reads all of request.
		{"index by a computed key", "!('x-block' in request['head' + 'ers'])", InputRequest},
		{"request passed whole", "size(request) > 0", InputRequest},
		{"request iterated", "request.exists(k, k == 'headers')", InputRequest},
		{"request in a list", "[request].exists(r, 'x-block' in r.headers)", InputRequest},
		{"key test on request", "'headers' in request", InputRequest},
	}
	env, err := newEnv()
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p, err := compilePolicy(env, c.name, c.expr)
			if err != nil {
				t.Fatalf("compile %q: %v", c.expr, err)
			}
			if p.inputs != c.want {
				t.Errorf("%q reads %s, want %s", c.expr, p.inputs, c.want)
			}
			if p.usesArgs != p.inputs.Has(InputArgs) {
				t.Errorf("usesArgs %v disagrees with inputs %s", p.usesArgs, p.inputs)
			}
		})
	}
}

func TestPoliciesInputs(t *testing.T) {
	cases := []struct {
		name string
		p    Policies
		want Inputs
	}{
		{"none", nil, 0},
		{"union", Policies{"a": "request.method == 'GET'", "b": "'x' in request.headers"}, InputRequestMethod | InputRequestHeaders},
		{"one that does not compile reads everything", Policies{"a": "true", "b": "request.nope"}, AllInputs},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := c.p.Inputs(); got != c.want {
				t.Errorf("Inputs() = %s, want %s", got, c.want)
			}
		})
	}
}

// TestAuthorizerInputs: a REST route counts only the policies its
// operations name; a GraphQL route counts the policies it compiled.
func TestAuthorizerInputs(t *testing.T) {
	pols := Policies{"hdr": "'x-block' in request.headers", "ip": "request.client_ip == '10.0.0.1'"}
	r, err := CompileREST(pols, map[string]string{"getOrder": "ip"})
	if err != nil {
		t.Fatal(err)
	}
	if got := r.Inputs(); got != InputRequestClientIP {
		t.Errorf("REST Inputs() = %s, want request.client_ip", got)
	}
	// The shop schema's @policy names these three.
	pols["self"], pols["admin"], pols["moderator"] = "true", "'admin' in identity.roles", "false"
	g, err := Compile(pols, shop(t), GraphQLConfig{Mode: ModeReject})
	if err != nil {
		t.Fatal(err)
	}
	if got := g.Inputs(); got != InputRequestClientIP|InputRequestHeaders|InputIdentity {
		t.Errorf("GraphQL Inputs() = %s", got)
	}
}

// TestRequestFieldsAgree keeps the field list policies are checked against
// and the field-to-input map the same.
func TestRequestFieldsAgree(t *testing.T) {
	var fromMap []string
	for f := range requestField {
		fromMap = append(fromMap, f)
	}
	slices.Sort(fromMap)
	sorted := slices.Sorted(slices.Values(requestFields))
	if !slices.Equal(fromMap, sorted) {
		t.Errorf("requestField %v, requestFields %v", fromMap, sorted)
	}
	if AllInputs.String() != "identity, request.method, request.path, request.client_ip, request.headers, args, path, query, body" {
		t.Errorf("AllInputs = %s", AllInputs)
	}
}
