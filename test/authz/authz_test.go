package authz

import (
	"encoding/json"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/portcullis-gw/portcullis/internal/testkit/gatewaytest"
	"github.com/portcullis-gw/portcullis/policy/authn/oidctest"
	"github.com/portcullis-gw/portcullis/test/upstreams"
)

// reqCase is one GraphQL request through the gateway and what the client and
// the accounts subgraph must see.
type reqCase struct {
	name   string
	hdr    map[string]string
	query  string
	vars   map[string]any
	status int
	// paths are the UNAUTHORIZED_FIELD_OR_TYPE errors' paths, dot-joined;
	// empty means the answer has no errors at all.
	paths []string
	// data is the expected "data" as JSON; "" skips the check, and a 403
	// must never carry data.
	data string
	// forwarded: the subgraph received exactly one request. Otherwise it
	// must have received none.
	forwarded bool
	// unchanged: the forwarded body is the client's, byte for byte.
	unchanged bool
	// lacks are substrings the forwarded query must not contain; lacksVar
	// a variable the forwarded request must not carry.
	lacks    []string
	has      []string
	lacksVar string
	// code, when set, is the expected error code of a refusal that is not
	// an authorization one; paths are then not checked.
	code string
	// get sends the operation as a GET query string instead of a POST.
	get bool
}

func runCases(t *testing.T, gw *gatewaytest.Gateway, set *upstreams.Set, cases []reqCase) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			set.ResetAll()
			body := gatewaytest.GraphQLBody(c.query, c.vars)
			var r gatewaytest.Reply
			if c.get {
				q := url.Values{"query": {c.query}}
				if c.vars != nil {
					q.Set("variables", string(mustJSON(t, c.vars)))
				}
				r = gatewaytest.Send(t, "GET", gw.URL("/graphql?"+q.Encode()), c.hdr, "")
			} else {
				r = gatewaytest.Send(t, "POST", gw.URL("/graphql"), c.hdr, body)
			}
			if r.Status != c.status {
				t.Fatalf("status: want %d, got %s", c.status, r)
			}
			var ans struct {
				Data   json.RawMessage `json:"data"`
				Errors []struct {
					Path       []any          `json:"path"`
					Extensions map[string]any `json:"extensions"`
				} `json:"errors"`
			}
			if err := json.Unmarshal(r.Body, &ans); err != nil {
				t.Fatalf("answer is not JSON: %s", r)
			}
			if c.code != "" {
				if got := gatewaytest.FirstCode(t, r.Body); got != c.code {
					t.Errorf("code %q, want %q", got, c.code)
				}
				wantNothingForwarded(t, set)
				return
			}
			var paths []string
			for _, e := range ans.Errors {
				if code := e.Extensions["code"]; code != "UNAUTHORIZED_FIELD_OR_TYPE" {
					t.Errorf("error code %v in %s", code, r.Body)
				}
				var parts []string
				for _, p := range e.Path {
					parts = append(parts, strings.Trim(string(mustJSON(t, p)), `"`))
				}
				paths = append(paths, strings.Join(parts, "."))
			}
			slices.Sort(paths)
			want := slices.Sorted(slices.Values(c.paths))
			if !slices.Equal(paths, want) {
				t.Errorf("error paths %q, want %q: %s", paths, want, r.Body)
			}
			if r.Status == 403 && len(ans.Data) != 0 && string(ans.Data) != "null" {
				t.Errorf("refusal carries data: %s", r.Body)
			}
			if c.data != "" && !jsonEqual(t, ans.Data, c.data) {
				t.Errorf("data: want %s, got %s", c.data, ans.Data)
			}

			reqs := set.Accounts.Recorder.Requests()
			if !c.forwarded {
				wantNothingForwarded(t, set)
				return
			}
			if len(reqs) != 1 {
				t.Fatalf("accounts received %d requests, want 1", len(reqs))
			}
			if c.unchanged && string(reqs[0].Body) != body {
				t.Errorf("forwarded %s, want the original %s", reqs[0].Body, body)
			}
			var fwd struct {
				Query     string         `json:"query"`
				Variables map[string]any `json:"variables"`
			}
			if err := json.Unmarshal(reqs[0].Body, &fwd); err != nil {
				t.Fatalf("forwarded body is not JSON: %s", reqs[0].Body)
			}
			for _, s := range c.lacks {
				if strings.Contains(fwd.Query, s) {
					t.Errorf("forwarded query contains %q: %s", s, fwd.Query)
				}
			}
			for _, s := range c.has {
				if !strings.Contains(fwd.Query, s) {
					t.Errorf("forwarded query lacks %q: %s", s, fwd.Query)
				}
			}
			if _, ok := fwd.Variables[c.lacksVar]; c.lacksVar != "" && ok {
				t.Errorf("forwarded variables keep %q: %s", c.lacksVar, reqs[0].Body)
			}
		})
	}
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func jsonEqual(t *testing.T, got json.RawMessage, want string) bool {
	t.Helper()
	if len(got) == 0 {
		got = json.RawMessage("null")
	}
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		return false
	}
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatalf("bad expected JSON %s", want)
	}
	return reflect.DeepEqual(g, w)
}

// tokenSet are the callers the authorization tests use.
type tokenSet struct {
	anon, bob, bobEmail, bobAdminRead, bobOnlyAdminRead, bobOnlyUsersRead, admin map[string]string
}

func newTokenSet(idp *oidctest.Issuer) tokenSet {
	return tokenSet{
		bob:              bearer(idp.Sign(tokenClaims("2", ""))),
		bobEmail:         bearer(idp.Sign(tokenClaims("2", "users:email"))),
		bobAdminRead:     bearer(idp.Sign(tokenClaims("2", "admin:read users:read"))),
		bobOnlyAdminRead: bearer(idp.Sign(tokenClaims("2", "admin:read"))),
		bobOnlyUsersRead: bearer(idp.Sign(tokenClaims("2", "users:read"))),
		admin:            bearer(idp.Sign(tokenClaims("1", "", "realm_access", map[string]any{"roles": []string{"admin"}}))),
	}
}

// editSchema rewrites the gateway's copy of a subgraph schema, so a test can
// put an annotation on it the demo's SDL does not carry. The subgraph itself
// is unchanged: what the gateway enforces comes from its own config.
func editSchema(t *testing.T, cfgPath, file, old, repl string) {
	t.Helper()
	p := filepath.Join(filepath.Dir(cfgPath), "schemas", file)
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), old) {
		t.Fatalf("%s lacks %q", file, old)
	}
	if err := os.WriteFile(p, []byte(strings.Replace(string(b), old, repl, 1)), 0o600); err != nil {
		t.Fatal(err)
	}
}

const selfAdminRules = `[{coordinate: "Query.user", policy: self}, {coordinate: "Mutation.updateUser(input.role)", policy: admin}]`

func TestAuthzReject(t *testing.T) {
	set := upstreams.StartAll(t)
	idp := oidctest.NewIssuer(t)
	cfg := gatewaytest.WriteConfig(t, gatewayConfig{
		issuer: idp.URL(), anonymous: true, authorization: "{mode: reject, rules: " + selfAdminRules + "}",
	}.config(set))
	// OR of AND: users:email alone, or admin:read together with users:read.
	editSchema(t, cfg, "accounts.graphql", `@requiresScopes(scopes: [["users:email"]])`,
		`@requiresScopes(scopes: [["users:email"], ["admin:read", "users:read"]])`)
	gw := gatewaytest.StartFresh(t, cfg, set.ResetAll)
	tk := newTokenSet(idp)

	runCases(t, gw, set, []reqCase{
		// @authenticated
		{name: "anonymous me", hdr: tk.anon, query: `{ me { id } }`, status: 403, paths: []string{"me"}},
		{name: "authenticated me", hdr: tk.bob, query: `{ me { id username } }`, status: 200,
			data: `{"me":{"id":"2","username":"bob"}}`, forwarded: true, unchanged: true},
		{name: "anonymous role", hdr: tk.anon, query: `{ users(first: 1) { id role } }`, status: 403, paths: []string{"users.role"}},

		// @requiresScopes, OR of AND
		{name: "email without scope", hdr: tk.bob, query: `{ me { id email } }`, status: 403, paths: []string{"me.email"}},
		{name: "email with users:email", hdr: tk.bobEmail, query: `{ me { email } }`, status: 200,
			data: `{"me":{"email":"bob@example.com"}}`, forwarded: true, unchanged: true},
		{name: "email with admin:read and users:read", hdr: tk.bobAdminRead, query: `{ me { email } }`, status: 200,
			data: `{"me":{"email":"bob@example.com"}}`, forwarded: true, unchanged: true},
		{name: "email with admin:read only", hdr: tk.bobOnlyAdminRead, query: `{ me { email } }`, status: 403, paths: []string{"me.email"}},
		{name: "email with users:read only", hdr: tk.bobOnlyUsersRead, query: `{ me { email } }`, status: 403, paths: []string{"me.email"}},
		{name: "email over GET", hdr: tk.bob, query: `{ me { email } }`, get: true, status: 403, paths: []string{"me.email"}},
		{name: "other user by variable over GET", hdr: tk.bob, query: `query($id: ID!) { user(id: $id) { id } }`, vars: map[string]any{"id": "3"}, get: true, status: 403, paths: []string{"user"}},
		{name: "email in a list", hdr: tk.bob, query: `{ users(first: 2) { id email } }`, status: 403, paths: []string{"users.email"}},

		// Smuggling email past the check.
		{name: "aliased email", hdr: tk.bob, query: `{ me { mail: email } }`, status: 403, paths: []string{"me.mail"}},
		{name: "email in a named fragment", hdr: tk.bob, query: `{ me { id ...F } } fragment F on User { email }`, status: 403, paths: []string{"me.email"}},
		{name: "email in a nested fragment", hdr: tk.bob, query: `{ me { ...A } } fragment A on User { id ...B } fragment B on User { email }`, status: 403, paths: []string{"me.email"}},
		{name: "email in an inline fragment", hdr: tk.bob, query: `{ me { ... on User { email } } }`, status: 403, paths: []string{"me.email"}},
		{name: "email in an untyped inline fragment", hdr: tk.bob, query: `{ me { ... @include(if: true) { email } } }`, status: 403, paths: []string{"me.email"}},
		{name: "email in a fragment on the root", hdr: tk.bob, query: `query { ...Q } fragment Q on Query { me { email } }`, status: 403, paths: []string{"me.email"}},
		// The federation entry point is not part of the client-facing schema.
		{name: "email through _entities", hdr: tk.bob, query: `{ _entities(representations: [{__typename: "User", id: "1"}]) { ... on User { email } } }`,
			status: 400, code: "GRAPHQL_VALIDATION_FAILED"},
		{name: "field list of User through introspection", hdr: tk.bob, query: `{ __type(name: "User") { fields { name } } }`,
			status: 403, code: "INTROSPECTION_DISABLED"},

		// Policy on an argument: self.
		{name: "own user", hdr: tk.bob, query: `{ user(id: "2") { id username } }`, status: 200,
			data: `{"user":{"id":"2","username":"bob"}}`, forwarded: true, unchanged: true},
		{name: "other user", hdr: tk.bob, query: `{ user(id: "3") { id } }`, status: 403, paths: []string{"user"}},
		{name: "other user by variable", hdr: tk.bob, query: `query($id: ID!) { user(id: $id) { id } }`, vars: map[string]any{"id": "3"}, status: 403, paths: []string{"user"}},
		{name: "other user by a variable's default", hdr: tk.bob, query: `query($id: ID! = "3") { user(id: $id) { id } }`, status: 403, paths: []string{"user"}},
		{name: "own user by variable", hdr: tk.bob, query: `query($id: ID!) { user(id: $id) { id } }`, vars: map[string]any{"id": "2"}, status: 200,
			data: `{"user":{"id":"2"}}`, forwarded: true, unchanged: true},
		{name: "own and other user under aliases", hdr: tk.bob, query: `{ a: user(id: "2") { id } b: user(id: "3") { id } }`, status: 403, paths: []string{"b"}},
		{name: "anonymous user", hdr: tk.anon, query: `{ user(id: "2") { id } }`, status: 403, paths: []string{"user"}},
		{name: "own user's email still needs the scope", hdr: tk.bob, query: `{ user(id: "2") { email } }`, status: 403, paths: []string{"user.email"}},

		// Input-field rule: only admins set roles. Last: they mutate.
		{name: "set own role", hdr: tk.bob, query: `mutation { updateUser(id: "2", input: {role: "admin"}) { id } }`, status: 403, paths: []string{"updateUser"}},
		{name: "set own role by variable", hdr: tk.bob, query: `mutation($in: UpdateUserInput!) { updateUser(id: "2", input: $in) { id } }`,
			vars: map[string]any{"in": map[string]any{"role": "admin"}}, status: 403, paths: []string{"updateUser"}},
		{name: "set own role by a variable inside the input literal", hdr: tk.bob, query: `mutation($r: String) { updateUser(id: "2", input: {role: $r}) { id } }`,
			vars: map[string]any{"r": "admin"}, status: 403, paths: []string{"updateUser"}},
		{name: "set own role by a variable's default", hdr: tk.bob, query: `mutation($in: UpdateUserInput! = {role: "admin"}) { updateUser(id: "2", input: $in) { id } }`,
			status: 403, paths: []string{"updateUser"}},
		{name: "role unchanged", hdr: tk.bob, query: `{ me { role } }`, status: 200, data: `{"me":{"role":"customer"}}`, forwarded: true},
		{name: "anonymous mutation", hdr: tk.anon, query: `mutation { updateUser(id: "2", input: {username: "x"}) { id } }`, status: 403, paths: []string{"updateUser"}},
		{name: "set username", hdr: tk.bob, query: `mutation { updateUser(id: "2", input: {username: "bobby"}) { id username } }`, status: 200,
			data: `{"updateUser":{"id":"2","username":"bobby"}}`, forwarded: true, unchanged: true},
		{name: "set username by variable", hdr: tk.bob, query: `mutation($in: UpdateUserInput!) { updateUser(id: "2", input: $in) { username } }`,
			vars: map[string]any{"in": map[string]any{"username": "bob"}}, status: 200, data: `{"updateUser":{"username":"bob"}}`, forwarded: true, unchanged: true},
		{name: "admin sets a role", hdr: tk.admin, query: `mutation { updateUser(id: "3", input: {role: "support"}) { id role } }`, status: 200,
			data: `{"updateUser":{"id":"3","role":"support"}}`, forwarded: true, unchanged: true},
	})
}

func TestAuthzFilter(t *testing.T) {
	set := upstreams.StartAll(t)
	idp := oidctest.NewIssuer(t)
	gw := start(t, set, gatewayConfig{issuer: idp.URL(), anonymous: true,
		authorization: `{mode: filter, rules: [{coordinate: "Mutation.updateUser(input.role)", policy: admin}]}`}.config(set))
	tk := newTokenSet(idp)

	runCases(t, gw, set, []reqCase{
		// email is String!: its null propagates to the nullable user
		// (the docs/ pages 5, "with normal null propagation").
		{name: "email removed", hdr: tk.bob, query: `{ user(id: "1") { id username email } }`, status: 200,
			data: `{"user":null}`, paths: []string{"user.email"}, forwarded: true, lacks: []string{"email"}, has: []string{"username"}},
		{name: "email with the scope", hdr: tk.bobEmail, query: `{ user(id: "1") { id email } }`, status: 200,
			data: `{"user":{"id":"1","email":"alice@example.com"}}`, forwarded: true, unchanged: true},
		{name: "removed root field is null beside the kept one", hdr: tk.anon, query: `{ me { id } user(id: "1") { id username } }`, status: 200,
			data: `{"me":null,"user":{"id":"1","username":"alice"}}`, paths: []string{"me"}, forwarded: true, lacks: []string{"me {"}, has: []string{"username"}},
		{name: "everything removed: no upstream call", hdr: tk.anon, query: `{ me { id } }`, status: 200, data: `null`, paths: []string{"me"}},
		{name: "email in a list nulls the whole non-null chain", hdr: tk.bob, query: `{ users(first: 2) { id email } }`, status: 200,
			data: `null`, paths: []string{"users.email"}, forwarded: true, lacks: []string{"email"}},
		{name: "aliased email", hdr: tk.bob, query: `{ user(id: "1") { id mail: email } }`, status: 200,
			data: `{"user":null}`, paths: []string{"user.mail"}, forwarded: true, lacks: []string{"email", "mail"}},
		{name: "email in a named fragment", hdr: tk.bob, query: `{ user(id: "1") { id ...F } } fragment F on User { email }`, status: 200,
			data: `{"user":null}`, paths: []string{"user.email"}, forwarded: true, lacks: []string{"email"}},
		{name: "email in an inline fragment", hdr: tk.bob, query: `{ user(id: "1") { id ... on User { email } } }`, status: 200,
			data: `{"user":null}`, paths: []string{"user.email"}, forwarded: true, lacks: []string{"email"}},
		{name: "email in a fragment on the root", hdr: tk.bob, query: `query { user(id: "4") { id } ...Q } fragment Q on Query { me { id email } }`, status: 200,
			data: `{"user":{"id":"4"},"me":null}`, paths: []string{"me.email"}, forwarded: true, lacks: []string{"email"}},
		{name: "variable only the removed field used is dropped", hdr: tk.bob, query: `query($f: Boolean!) { user(id: "1") { id email @include(if: $f) } }`,
			vars: map[string]any{"f": true}, status: 200, data: `{"user":null}`, paths: []string{"user.email"}, forwarded: true,
			lacks: []string{"email", "$f"}, lacksVar: "f"},
		// A field left without selections goes too; with nothing left the
		// answer is data: null and no upstream call.
		{name: "only email selected: nothing left", hdr: tk.bob, query: `{ user(id: "1") { email } }`, status: 200,
			data: `null`, paths: []string{"user.email"}},
		{name: "only email selected twice: nothing left", hdr: tk.bob, query: `{ a: user(id: "1") { email } b: users(first: 1) { email } }`, status: 200,
			data: `null`, paths: []string{"a.email", "b.email"}},
		// The field whose input sets a role is removed whole: the role must
		// never reach the subgraph, not even beside an allowed input field.
		{name: "role smuggled beside username", hdr: tk.bob, query: `mutation { updateUser(id: "2", input: {username: "bobby", role: "admin"}) { id } }`, status: 200,
			data: `null`, paths: []string{"updateUser"}},
		{name: "role unchanged", hdr: tk.bob, query: `{ user(id: "2") { username role } }`, status: 200,
			data: `{"user":{"username":"bob","role":"customer"}}`, forwarded: true, unchanged: true},
		{name: "nothing unauthorized: forwarded unchanged", hdr: tk.anon, query: `{ user(id: "5") { id username } }`, status: 200,
			data: `{"user":{"id":"5","username":"erin"}}`, forwarded: true, unchanged: true},
	})
}

func TestAuthzDryRun(t *testing.T) {
	set := upstreams.StartAll(t)
	idp := oidctest.NewIssuer(t)
	gw := start(t, set, gatewayConfig{issuer: idp.URL(), anonymous: true,
		authorization: "{mode: filter, dry_run: true, rules: " + selfAdminRules + "}"}.config(set))
	tk := newTokenSet(idp)

	runCases(t, gw, set, []reqCase{
		{name: "email without scope reaches the client", hdr: tk.bob, query: `{ user(id: "2") { id email } }`, status: 200,
			data: `{"user":{"id":"2","email":"bob@example.com"}}`, forwarded: true, unchanged: true},
		{name: "other user is answered", hdr: tk.bob, query: `{ user(id: "3") { username } }`, status: 200,
			data: `{"user":{"username":"carol"}}`, forwarded: true, unchanged: true},
		{name: "anonymous me is forwarded", hdr: tk.anon, query: `{ me { id } }`, status: 200,
			data: `{"me":null}`, forwarded: true, unchanged: true},
	})
}
