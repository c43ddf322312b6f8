package authz

import (
	"strings"
	"testing"

	"github.com/portcullis-gw/portcullis/policy/authn"
)

func TestRESTAllow(t *testing.T) {
	a, err := CompileREST(Policies{
		"owner":    "path.userId == identity.subject",
		"small":    "double(body.amount) <= 100.0 || 'admin' in identity.roles",
		"paged":    "!('limit' in query) || int(query.limit[0]) <= 50",
		"internal": "request.client_ip.startsWith('10.')",
		"graphql":  "has(args.id)", // a GraphQL policy compiles here too
	}, map[string]string{"getUser": "owner", "createOrder": "small", "listOrders": "paged", "metrics": "internal"})
	if err != nil {
		t.Fatal(err)
	}
	bob := authn.Identity{Kind: authn.KindJWT, Subject: "bob"}
	cases := []struct {
		name  string
		op    string
		id    authn.Identity
		req   Request
		path  map[string]string
		query map[string][]string
		body  any
		want  bool
	}{
		{name: "own_path", op: "getUser", id: bob, path: map[string]string{"userId": "bob"}, want: true},
		{name: "other_path", op: "getUser", id: bob, path: map[string]string{"userId": "eve"}},
		{name: "anonymous_path", op: "getUser", id: anon, path: map[string]string{"userId": "bob"}},
		{name: "body_small", op: "createOrder", id: bob, body: map[string]any{"amount": 20.0}, want: true},
		{name: "body_large", op: "createOrder", id: bob, body: map[string]any{"amount": 2000.0}},
		{name: "body_missing_field", op: "createOrder", id: bob, body: map[string]any{}},
		{name: "body_absent", op: "createOrder", id: bob},
		{name: "query_ok", op: "listOrders", id: bob, query: map[string][]string{"limit": {"10"}}, want: true},
		{name: "query_absent", op: "listOrders", id: bob, want: true},
		{name: "query_too_big", op: "listOrders", id: bob, query: map[string][]string{"limit": {"500"}}},
		{name: "request_ip", op: "metrics", id: anon, req: Request{ClientIP: "10.1.2.3"}, want: true},
		{name: "request_ip_outside", op: "metrics", id: anon, req: Request{ClientIP: "8.8.8.8"}},
		{name: "no_policy", op: "health", id: anon, want: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, _ := a.Allow(tc.op, tc.id, tc.req, tc.path, tc.query, tc.body)
			if got != tc.want {
				t.Fatalf("Allow = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestCompileRESTErrors(t *testing.T) {
	_, err := CompileREST(Policies{"bad": "body.", "ok": "true"}, map[string]string{"a": "ghost", "b": "ok"})
	if err == nil {
		t.Fatal("accepted")
	}
	for _, want := range []string{`policy "bad"`, `operation "a": unknown policy "ghost"`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("missing %q in %v", want, err)
		}
	}
	var nilAuth *RESTAuthorizer
	if ok, _ := nilAuth.Allow("a", anon, Request{}, nil, nil, nil); ok {
		t.Fatal("nil authorizer allowed")
	}
}
