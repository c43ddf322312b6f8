package authz

import (
	"slices"
	"testing"

	"github.com/portcullis-gw/portcullis/policy/authn"
)

// TestIdentityBuiltWithTheFieldsRead: the identity variable holds only
// the fields the compiled policies select, all of them when one reads
// identity as a whole, and every policy of the set decides as it would
// with the full identity.
func TestIdentityBuiltWithTheFieldsRead(t *testing.T) {
	env, err := newEnv()
	if err != nil {
		t.Fatal(err)
	}
	id := authn.Identity{Kind: authn.KindJWT, Subject: "u1", Issuer: "https://idp", Scopes: []string{"a"},
		Roles: []string{"admin"}, Tier: "gold", Claims: map[string]any{"org": "acme"}}
	tests := []struct {
		name     string
		policies Policies
		want     []string // nil: every field
	}{
		{"selections", Policies{"t": "identity.tier == 'gold'", "r": "'admin' in identity.roles && !identity.anonymous"},
			[]string{"roles", "tier", "anonymous"}},
		{"has()", Policies{"h": "has(identity.claims.org) && identity.claims.org == 'acme'"}, []string{"claims"}},
		{"index reads any field", Policies{"t": "identity.tier == 'gold'", "i": "identity['subject'] == 'u1'"}, nil},
		{"in reads any field", Policies{"k": "'issuer' in identity && identity.issuer == 'https://idp'"}, nil},
		{"a comprehension variable named identity", Policies{"c": "identity.scopes.exists(identity, identity == 'a') && identity.subject == 'u1'"}, nil},
		{"no identity", Policies{"n": "args.x == 1 || true"}, []string{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ps, errs := compilePolicies(env, tt.policies)
			if len(errs) > 0 {
				t.Fatal(errs)
			}
			for name, p := range ps {
				if (p.idFields == nil) != (tt.want == nil) || !slices.Equal(orderLike(p.idFields), orderLike(tt.want)) {
					t.Errorf("%s: fields %q, want %q", name, p.idFields, tt.want)
				}
				act := &activation{id: id}
				ok, err := p.eval(act)
				if err != nil || !ok {
					t.Errorf("%s on the trimmed identity: %v %v", name, ok, err)
				}
				if tt.want != nil && len(act.identity) > len(tt.want) {
					t.Errorf("%s: identity built with %d fields", name, len(act.identity))
				}
			}
		})
	}
}

// orderLike sorts field names in identityFields order.
func orderLike(fs []string) []string {
	out := slices.Clone(fs)
	slices.SortFunc(out, func(a, b string) int { return slices.Index(identityFields, a) - slices.Index(identityFields, b) })
	return out
}
