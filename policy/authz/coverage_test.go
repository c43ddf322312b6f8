package authz

import "testing"

func TestCoverage(t *testing.T) {
	g := shop(t)
	a := compileShop(t, ModeFilter, false)
	got := map[string]CoverageEntry{}
	for _, e := range Coverage(g, a) {
		got[e.Coordinate] = e
	}
	cases := []struct {
		coord       string
		requirement string
		unprotected bool
		sensitive   bool
	}{
		{"Query.publicInfo", "none", true, false},
		{"Query.me", "authenticated", false, false},
		{"Query.adminStats", "scopes(admin | reports:read stats:read)", false, false},
		{"Query.user", "policy(self)", false, false},
		{"Query.secret", "scopes(secret)", false, false},
		{"Query.users", "if first given: scopes(users:bulk)", false, false},
		{"Mutation.updateUser", "authenticated AND if input.role given: policy(admin) AND if input.profile.verified given: scopes(users:verify)", false, false},
		{"User.email", "scopes(users:email)", false, false},
		{"Node.id", "scopes(secret)", false, false},
		{"Titled.title", "authenticated", false, false},
		// User is protected by Query.me, reachable openly here: a gap.
		{"Post.author", "none", true, true},
		{"User.friends", "none", true, true},
		{"Query.node", "none", true, true},
		{"Draft.id", "none", true, false},
	}
	for _, tc := range cases {
		t.Run(tc.coord, func(t *testing.T) {
			e, ok := got[tc.coord]
			if !ok {
				t.Fatalf("%s not listed", tc.coord)
			}
			if e.Requirement != tc.requirement || e.Unprotected != tc.unprotected || e.Sensitive != tc.sensitive {
				t.Fatalf("got %+v", e)
			}
		})
	}
	if _, ok := got["Account.balance"]; !ok {
		t.Error("Account.balance, reachable through Query.account, not listed")
	}
	if Coverage(g, nil) != nil {
		t.Error("coverage without an authorizer")
	}
}
