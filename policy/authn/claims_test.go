package authn_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/portcullis-gw/portcullis/internal/testkit/fakeclock"
	"github.com/portcullis-gw/portcullis/policy/authn"
	"github.com/portcullis-gw/portcullis/policy/authn/oidctest"
)

// TestClaimsReadExactly: claim names are case-sensitive and registered
// claims have their RFC 7519 types; a payload that encoding/json (and so
// go-oidc) would read as another subject or expiry is refused, signed or
// not (docs/security.md, "Claims are read exactly").
func TestClaimsReadExactly(t *testing.T) {
	clk := fakeclock.New(epoch)
	iss := oidctest.NewIssuer(t, oidctest.WithClock(clk.Now))
	a := readyAuth(t, iss, clk)
	now := clk.Now().Unix()
	// base holds every member a valid token needs except those a case adds.
	base := func(extra string) string {
		return fmt.Sprintf(`{"iss":%q,"aud":%q,"iat":%d,%s}`, iss.URL(), audience, now, extra)
	}
	exp := fmt.Sprintf(`"exp":%d`, now+3600)
	for _, tc := range []struct {
		name, payload string
	}{
		{"Sub beside sub", base(exp + `,"sub":"user-1","Sub":"admin"`)},
		{"Sub alone", base(exp + `,"Sub":"admin"`)},
		{"SUB beside sub", base(exp + `,"SUB":"admin","sub":"user-1"`)},
		{"duplicate sub", base(exp + `,"sub":"user-1","sub":"admin"`)},
		{"EXP instead of exp", base(fmt.Sprintf(`"EXP":%d,"sub":"user-1"`, now+3600))},
		{"exp beside Exp", base(exp + fmt.Sprintf(`,"Exp":%d,"sub":"user-1"`, now+86400*365))},
		{"Iss beside iss", base(exp + `,"sub":"user-1","Iss":"https://evil.example"`)},
		{"Aud beside aud", base(exp + `,"sub":"user-1","Aud":"other"`)},
		{"string exp", base(fmt.Sprintf(`"exp":"%d","sub":"user-1"`, now+3600))},
		{"string nbf", base(exp + fmt.Sprintf(`,"nbf":"%d","sub":"user-1"`, now))},
		{"string iat", fmt.Sprintf(`{"iss":%q,"aud":%q,"iat":"%d",%s,"sub":"user-1"}`, iss.URL(), audience, now, exp)},
		{"numeric sub", base(exp + `,"sub":1`)},
		{"array sub", base(exp + `,"sub":["user-1"]`)},
		{"numeric iss", fmt.Sprintf(`{"iss":1,"aud":%q,"iat":%d,%s,"sub":"user-1"}`, audience, now, exp)},
		{"aud of numbers", fmt.Sprintf(`{"iss":%q,"aud":[1],"iat":%d,%s,"sub":"user-1"}`, iss.URL(), now, exp)},
		{"aud object", fmt.Sprintf(`{"iss":%q,"aud":{"a":%q},"iat":%d,%s,"sub":"user-1"}`, iss.URL(), audience, now, exp)},
		{"numeric jti", base(exp + `,"sub":"user-1","jti":7`)},
		{"case-colliding custom claims", base(exp + `,"sub":"user-1","plan":"free","Plan":"enterprise"`)},
		{"nested case collision", base(exp + `,"sub":"user-1","realm_access":{"roles":[],"Roles":["admin"]}}`)},
		{"lone surrogate", base(exp + `,"sub":"user-1\ud800"`)},
		{"payload not an object", `["sub"]`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tok := iss.Sign(nil, oidctest.RawPayload(tc.payload))
			id, err := a.Authenticate(context.Background(), bearer(tok))
			wantReason(t, id, err, authn.ReasonInvalidClaims)
		})
	}
	t.Run("exact claims accepted", func(t *testing.T) {
		tok := iss.Sign(nil, oidctest.RawPayload(base(exp+`,"sub":"user-1","aud2":"x","nbf":`+fmt.Sprint(now)+`,"jti":"j1","scope":"a"`)))
		id := mustOK(t, a, bearer(tok))
		if id.Subject != "user-1" || id.Principal != authn.JWTPrincipal(iss.URL(), "user-1") {
			t.Fatalf("identity = %+v", id)
		}
	})
	t.Run("aud as array of strings accepted", func(t *testing.T) {
		tok := iss.Sign(nil, oidctest.RawPayload(fmt.Sprintf(`{"iss":%q,"aud":["other",%q],"iat":%d,%s,"sub":"user-1"}`, iss.URL(), audience, now, exp)))
		mustOK(t, a, bearer(tok))
	})
}

// TestPrincipals: the principal carries kind and issuer, so a sub that
// looks like an API key's name, or the same sub from two issuers, never
// names the same principal.
func TestPrincipals(t *testing.T) {
	for _, tc := range []struct{ got, want string }{
		{authn.JWTPrincipal("https://idp.example", "u1"), "jwt:https://idp.example#u1"},
		{authn.JWTPrincipal("https://idp.example", "apikey:partner"), "jwt:https://idp.example#apikey:partner"},
		{authn.JWTPrincipal("https://idp.example/a#b", "c"), "jwt:https://idp.example/a%23b#c"},
		{authn.JWTPrincipal("https://idp.example/a", "b#c"), "jwt:https://idp.example/a#b%23c"},
		{authn.JWTPrincipal("https://idp.example", "100%\r\nX-Admin: 1"), "jwt:https://idp.example#100%25%0D%0AX-Admin: 1"},
		{authn.APIKeyPrincipal("partner"), "apikey:partner"},
		{authn.MTLSPrincipal("CN=client,O=Acme"), "mtls:CN=client,O=Acme"},
	} {
		if tc.got != tc.want {
			t.Errorf("principal %q, want %q", tc.got, tc.want)
		}
	}
	// Issuer "a#b" with sub "c" and issuer "a" with sub "b#c" differ.
	if authn.JWTPrincipal("a#b", "c") == authn.JWTPrincipal("a", "b#c") {
		t.Fatal("separator in a part makes two principals equal")
	}
}
