package authn_test

import (
	"context"
	"errors"
	"maps"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/portcullis-gw/portcullis/internal/testkit/fakeclock"
	"github.com/portcullis-gw/portcullis/policy/authn"
	"github.com/portcullis-gw/portcullis/policy/authn/oidctest"
)

const audience = "shop-api"

// epoch is where the tests' fake clocks start; a fake clock drives token
// times, the token cache and the JWKS refresh limit, so no test depends on
// wall-clock timing.
var epoch = time.Unix(1_800_000_000, 0)

func oidcConfig(iss *oidctest.Issuer) authn.OIDC {
	return authn.OIDC{
		Issuer:     iss.URL(),
		Audiences:  []string{audience},
		RolesClaim: "realm_access.roles",
		TierClaim:  "plan",
	}
}

func newAuth(t testing.TB, cfg authn.Config, clk *fakeclock.Clock, opts ...authn.Option) *authn.Authenticator {
	t.Helper()
	opts = append([]authn.Option{authn.WithClock(clk.Now)}, opts...)
	a, err := authn.New(context.Background(), cfg, opts...)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { _ = a.Close() })
	return a
}

// readyAuth is an authenticator for one issuer that must be ready at once.
func readyAuth(t testing.TB, iss *oidctest.Issuer, clk *fakeclock.Clock, opts ...authn.Option) *authn.Authenticator {
	t.Helper()
	a := newAuth(t, authn.Config{OIDC: []authn.OIDC{oidcConfig(iss)}}, clk, opts...)
	if !a.Ready() {
		t.Fatal("authenticator not ready with the issuer up")
	}
	return a
}

func bearer(tok string) *http.Request {
	r := httptest.NewRequest(http.MethodGet, "/graphql", nil)
	r.Header.Set("Authorization", "Bearer "+tok)
	return r
}

func userClaims() map[string]any {
	return map[string]any{"sub": "user-1", "aud": audience, "scope": "products:read orders:write"}
}

func with(base map[string]any, kv ...any) map[string]any {
	out := map[string]any{}
	maps.Copy(out, base)
	for i := 0; i+1 < len(kv); i += 2 {
		out[kv[i].(string)] = kv[i+1]
	}
	return out
}

// wantReason asserts a refusal with the given reason and no identity.
func wantReason(t *testing.T, id authn.Identity, err error, reason string) {
	t.Helper()
	var ae *authn.AuthError
	if !errors.As(err, &ae) {
		t.Fatalf("want AuthError %q, got identity %+v, err %v", reason, id, err)
	}
	if ae.Reason != reason {
		t.Fatalf("reason = %q (%v), want %q", ae.Reason, ae.Err, reason)
	}
	if id.Kind != "" || id.Subject != "" {
		t.Fatalf("refused credential still produced identity %+v", id)
	}
}

func wantOK(t *testing.T, id authn.Identity, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("want accepted, got %v", err)
	}
	if id.Kind == authn.KindAnonymous {
		t.Fatalf("got anonymous identity")
	}
}

func mustOK(t *testing.T, a *authn.Authenticator, r *http.Request) authn.Identity {
	t.Helper()
	id, err := a.Authenticate(context.Background(), r)
	wantOK(t, id, err)
	return id
}
