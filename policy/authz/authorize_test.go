package authz

import (
	"encoding/json"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/portcullis-gw/portcullis/analysis"
	"github.com/portcullis-gw/portcullis/policy/authn"
)

type authzCase struct {
	name  string
	q     string
	vars  map[string]any
	id    authn.Identity
	want  []string // error paths, dot-joined; none: allowed untouched
	empty bool
	// vars kept in the forwarded request, when something is removed.
	keptVars []string
}

var authzCases = []authzCase{
	{name: "authenticated_refused_for_anonymous", q: `{ me { id } publicInfo }`, id: anon, want: []string{"me"}},
	{name: "authenticated_allowed", q: `{ me { id } publicInfo }`, id: alice},
	{name: "scopes_missing", q: `{ user(id: "u1") { id email } }`, id: alice, want: []string{"user.email"}},
	{name: "scopes_present", q: `{ user(id: "u1") { id email } }`, id: aliceMail},
	{name: "or_of_and_first_alternative", q: `{ adminStats { count } }`, id: root},
	{name: "or_of_and_second_alternative", q: `{ adminStats { count } }`,
		id: authn.Identity{Kind: authn.KindJWT, Subject: "s", Scopes: []string{"reports:read", "stats:read"}}},
	{name: "or_of_and_half_of_an_alternative", q: `{ adminStats { count } }`,
		id: authn.Identity{Kind: authn.KindJWT, Subject: "s", Scopes: []string{"stats:read"}}, want: []string{"adminStats"}, empty: true},
	{name: "policy_own_id", q: `{ account(id: "u1") { balance } }`, id: alice},
	{name: "policy_other_id", q: `{ account(id: "u2") { balance } publicInfo }`, id: alice, want: []string{"account"}},
	{name: "policy_other_id_by_variable", q: `query($id: ID!) { account(id: $id) { balance } publicInfo }`,
		vars: map[string]any{"id": "u2"}, id: alice, want: []string{"account"}, keptVars: []string{}},
	{name: "policy_own_id_by_variable", q: `query($id: ID!) { account(id: $id) { balance } }`,
		vars: map[string]any{"id": "u1"}, id: alice},
	{name: "policy_refuses_anonymous", q: `{ account(id: "u1") { balance } }`, id: anon, want: []string{"account"}, empty: true},
	{name: "rule_self_other_user", q: `{ user(id: "u2") { id } publicInfo }`, id: alice, want: []string{"user"}},
	{name: "input_rule_refused", q: `mutation { updateUser(id: "u1", input: {role: "admin"}) { id } }`, id: alice,
		want: []string{"updateUser"}, empty: true},
	{name: "input_rule_admin", q: `mutation { updateUser(id: "u1", input: {role: "admin"}) { id } }`, id: root},
	{name: "input_rule_field_absent", q: `mutation { updateUser(id: "u1", input: {username: "x"}) { id } }`, id: alice},
	{name: "input_rule_by_variable_drops_variable",
		q:    `mutation($in: UpdateUserInput!, $p: ID!) { updateUser(id: "u1", input: $in) { id } deletePost(id: $p) }`,
		vars: map[string]any{"in": map[string]any{"role": "admin"}, "p": "p1"}, id: mod,
		want: []string{"updateUser"}, keptVars: []string{"p"}},
	{name: "nested_input_rule_refused", q: `mutation { updateUser(id: "u1", input: {profile: {verified: true}}) { id } }`, id: alice,
		want: []string{"updateUser"}, empty: true},
	{name: "nested_input_rule_other_field", q: `mutation { updateUser(id: "u1", input: {profile: {bio: "hi"}}) { id } }`, id: alice},
	{name: "argument_rule_default_not_counted", q: `{ users { id } }`, id: alice},
	{name: "argument_rule_present", q: `{ users(first: 100) { id } publicInfo }`, id: alice, want: []string{"users"}},
	{name: "policy_or_second_alternative", q: `mutation { deletePost(id: "p") }`, id: mod},
	{name: "policy_or_none", q: `mutation { deletePost(id: "p") }`, id: alice, want: []string{"deletePost"}, empty: true},
	{name: "policy_on_field_of_object", q: `{ post(id: "p") { title internalNotes } }`, id: alice, want: []string{"post.internalNotes"}},
	{name: "union_fragment_on_restricted_type", q: `{ search(text: "a") { ... on Secret { code } ... on Post { title } } }`, id: alice,
		want: []string{"search"}},
	{name: "named_fragment_on_restricted_type", q: `{ node(id: "1") { ...S __typename } } fragment S on Secret { code }`, id: alice,
		want: []string{"node"}},
	{name: "restricted_type_with_scope", q: `{ node(id: "1") { ... on Secret { code } } }`, id: root},
	{name: "interface_field_blocked_by_restricted_implementation", q: `{ node(id: "1") { id } publicInfo }`, id: alice,
		want: []string{"node.id"}},
	{name: "interface_field_with_every_implementation_allowed", q: `{ node(id: "1") { id } }`, id: root},
	{name: "interface_field_implementation_field_restricted", q: `{ titled { title } publicInfo }`, id: anon, want: []string{"titled.title"}},
	{name: "interface_field_implementation_field_allowed", q: `{ titled { title } }`, id: alice},
	{name: "interface_inline_fragment_on_open_type", q: `{ node(id: "1") { ... on User { id username } } }`, id: anon},
	{name: "typename_allowed_everywhere", q: `{ node(id: "1") { __typename } search(text: "a") { __typename } }`, id: anon},
	{name: "typename_does_not_open_restricted_field", q: `{ secret { __typename } publicInfo }`, id: alice, want: []string{"secret"}},
	{name: "fragment_field_refused_at_each_spread", q: `{ me { ...U } user(id: "u1") { ...U } } fragment U on User { username email }`, id: alice,
		want: []string{"me.email", "user.email"}},
	{name: "emptied_parent_removed_without_error", q: `{ me { email } publicInfo }`, id: alice, want: []string{"me.email"}},
	{name: "list_field_children", q: `{ users { id email posts { title internalNotes } } }`, id: alice,
		want: []string{"users.email", "users.posts.internalNotes"}},
	{name: "narrowed_removal_adds_typename", q: `{ search(text: "a") { ... on User { username email } ... on Post { title } } }`, id: alice,
		want: []string{"search.email"}},
}

func TestAuthorizeFilter(t *testing.T) {
	g := shop(t)
	a := compileShop(t, ModeFilter, false)
	for _, tc := range authzCases {
		t.Run(tc.name, func(t *testing.T) {
			rep := analyze(t, g, tc.q, tc.vars)
			d := a.Authorize(rep, tc.id, Request{})
			got := paths(d.Errors)
			if !slices.Equal(got, tc.want) && !(len(got) == 0 && len(tc.want) == 0) {
				t.Fatalf("error paths = %q, want %q (cause %v)", got, tc.want, d.Cause)
			}
			for _, e := range d.Errors {
				if e.Code != CodeUnauthorized {
					t.Errorf("code = %q", e.Code)
				}
			}
			if len(tc.want) == 0 {
				if !d.Allowed || d.Document != "" || d.Empty {
					t.Fatalf("want allowed untouched, got %+v", d)
				}
				return
			}
			if d.Allowed {
				t.Fatal("Allowed with fields removed")
			}
			if d.Empty != tc.empty {
				t.Fatalf("Empty = %v, want %v", d.Empty, tc.empty)
			}
			if tc.empty {
				if d.Document != "" {
					t.Fatalf("empty decision with a document:\n%s", d.Document)
				}
				return
			}
			if d.Document == "" {
				t.Fatal("filter decision without a document")
			}
			checkGolden(t, tc.name+".graphql", d.Document)
			assertClean(t, a, g, d, tc.id)
			if tc.keptVars != nil {
				keys := slices.Sorted(maps.Keys(d.Variables))
				if !slices.Equal(keys, tc.keptVars) && !(len(keys) == 0 && len(tc.keptVars) == 0) {
					t.Fatalf("variables = %v, want %v", keys, tc.keptVars)
				}
			}
		})
	}
}

func TestAuthorizeReject(t *testing.T) {
	g := shop(t)
	a := compileShop(t, ModeReject, false)
	rep := analyze(t, g, `{ user(id: "u1") { id email } me { role } }`, nil)
	d := a.Authorize(rep, alice, Request{})
	if d.Allowed || d.Document != "" || d.Empty || d.Mode != ModeReject {
		t.Fatalf("reject decision = %+v", d)
	}
	if got := paths(d.Errors); !slices.Equal(got, []string{"user.email"}) {
		t.Fatalf("errors = %q", got)
	}
	ok := a.Authorize(rep, aliceMail, Request{})
	if !ok.Allowed || len(ok.Errors) != 0 {
		t.Fatalf("authorized identity refused: %+v", ok)
	}
}

func TestAuthorizeDryRun(t *testing.T) {
	g := shop(t)
	for _, mode := range []string{ModeFilter, ModeReject} {
		t.Run(mode, func(t *testing.T) {
			a := compileShop(t, mode, true)
			rep := analyze(t, g, `{ user(id: "u1") { id email } }`, nil)
			d := a.Authorize(rep, alice, Request{})
			if !d.Allowed || !d.DryRun || d.Document != "" || d.Empty {
				t.Fatalf("dry-run decision = %+v", d)
			}
			if got := paths(d.Errors); !slices.Equal(got, []string{"user.email"}) {
				t.Fatalf("errors = %q", got)
			}
		})
	}
}

func TestAuthorizeRefusesFailedReport(t *testing.T) {
	a := compileShop(t, ModeFilter, false)
	for name, rep := range map[string]*analysis.Report{"nil": nil, "no document": {}} {
		t.Run(name, func(t *testing.T) {
			if d := a.Authorize(rep, root, Request{}); d.Allowed {
				t.Fatal("a report without a document was allowed")
			}
		})
	}
}

func TestRequestHeadersInPolicy(t *testing.T) {
	g := shop(t)
	a, err := Compile(Policies{"self": "true", "admin": "request.headers['x-tenant'] == 'acme' && request.method == 'POST'", "moderator": "false"}, g,
		GraphQLConfig{Mode: ModeFilter})
	if err != nil {
		t.Fatal(err)
	}
	rep := analyze(t, g, `{ post(id: "p") { internalNotes } }`, nil)
	if d := a.Authorize(rep, alice, Request{Method: "POST", Headers: map[string]string{"x-tenant": "acme"}}); !d.Allowed {
		t.Fatalf("matching request refused: %v", paths(d.Errors))
	}
	if d := a.Authorize(rep, alice, Request{Method: "POST", Headers: map[string]string{"x-tenant": "evil"}}); d.Allowed {
		t.Fatal("other tenant allowed")
	}
	// A missing header is an evaluation error: refused, cause kept for the log.
	d := a.Authorize(rep, alice, Request{Method: "POST"})
	if d.Allowed || d.Cause == nil {
		t.Fatalf("missing header: allowed=%v cause=%v", d.Allowed, d.Cause)
	}
}

func TestErrorJSON(t *testing.T) {
	b, err := json.Marshal(Error{Message: unauthorizedMessage, Path: []any{"a", "b"}, Code: CodeUnauthorized})
	if err != nil {
		t.Fatal(err)
	}
	want := `{"message":"Unauthorized field or type","path":["a","b"],"extensions":{"code":"UNAUTHORIZED_FIELD_OR_TYPE"}}`
	if string(b) != want {
		t.Fatalf("got %s", b)
	}
	if strings.Contains(string(b), "Cause") {
		t.Fatal("internal cause leaked")
	}
}
