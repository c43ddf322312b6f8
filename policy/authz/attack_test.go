package authz

import (
	"strings"
	"testing"

	"github.com/portcullis-gw/portcullis/policy/authn"
)

// TestAttackCorpus sends each attempt to reach a restricted field through
// aliases, fragments, interfaces and __typename tricks, and asserts the
// refusal: errors reported, reject mode refuses, and the filtered document
// neither names the field nor fails re-authorization.
func TestAttackCorpus(t *testing.T) {
	g := shop(t)
	filter := compileShop(t, ModeFilter, false)
	reject := compileShop(t, ModeReject, false)
	cases := []struct {
		name, q string
		vars    map[string]any
		id      authn.Identity
		banned  string // must not appear in the filtered document
	}{
		{"alias", `{ user(id: "u1") { id mail: email } }`, nil, alice, "email"},
		{"alias_named_typename", `{ user(id: "u1") { id __typename: email } }`, nil, alice, "email"},
		{"duplicate_leaf", `{ user(id: "u1") { id email email } }`, nil, alice, "email"},
		{"duplicate_aliased_leaf", `{ user(id: "u1") { id e: email e: email } }`, nil, alice, "email"},
		{"merged_parent", `{ user(id: "u1") { id } user(id: "u1") { email } }`, nil, alice, "email"},
		{"named_fragment", `{ user(id: "u1") { id ...F } } fragment F on User { email }`, nil, alice, "email"},
		{"nested_fragments", `{ user(id: "u1") { id ...A } } fragment A on User { ...B } fragment B on User { ... on User { email } }`, nil, alice, "email"},
		{"inline_without_condition", `{ user(id: "u1") { id ... { email } } }`, nil, alice, "email"},
		{"interface_inline_fragments", `{ node(id: "1") { __typename ... on Node { ... on User { email } } } }`, nil, alice, "email"},
		{"union_member", `{ search(text: "a") { __typename ... on User { email } } }`, nil, alice, "email"},
		{"deep_path", `{ me { id friends { id friends { id email } } } }`, nil, alice, "email"},
		{"fragment_at_two_paths", `{ a: user(id: "u1") { id ...F } b: me { id ...F } } fragment F on User { x: email }`, nil, alice, "email"},
		{"literal_include_false", `{ user(id: "u1") { id email @include(if: false) } }`, nil, alice, "email"},
		{"variable_skip", `query($s: Boolean!) { user(id: "u1") { id email @skip(if: $s) } }`, map[string]any{"s": true}, alice, "email"},
		{"restricted_type_inline", `{ node(id: "1") { __typename ... on Secret { code } } }`, nil, alice, "Secret"},
		{"restricted_type_in_fragment_on_interface", `{ node(id: "1") { __typename ...N } } fragment N on Node { ... on Secret { code } }`, nil, alice, "Secret"},
		{"restricted_type_by_interface_field", `{ node(id: "1") { __typename id } }`, nil, alice, "\t\tid"},
		{"restricted_type_by_typename_only", `{ secret { __typename } publicInfo }`, nil, alice, "secret"},
		{"restricted_root_field_anonymous", `{ me { __typename } publicInfo }`, nil, anon, "me"},
		{"policy_other_id_aliased", `{ mine: user(id: "u1") { id } other: user(id: "u2") { id } }`, nil, alice, "u2"},
		{"input_field_by_variable", `mutation($in: UpdateUserInput!) { updateUser(id: "u1", input: $in) { id } deletePost(id: "p") }`,
			map[string]any{"in": map[string]any{"username": "x", "role": "admin"}}, mod, "updateUser"},
		{"policy_field_in_fragment_on_interface", `{ node(id: "1") { __typename ... on Post { internalNotes } } }`, nil, alice, "internalNotes"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rep := analyze(t, g, tc.q, tc.vars)
			d := filter.Authorize(rep, tc.id, Request{})
			if d.Allowed || len(d.Errors) == 0 {
				t.Fatalf("attack allowed: %+v", d)
			}
			if !d.Empty {
				if strings.Contains(d.Document, tc.banned) {
					t.Fatalf("filtered document still has %q:\n%s", tc.banned, d.Document)
				}
				assertClean(t, filter, g, d, tc.id)
			}
			if r := reject.Authorize(rep, tc.id, Request{}); r.Allowed || len(r.Errors) == 0 {
				t.Fatalf("reject mode allowed: %+v", r)
			}
		})
	}
}
