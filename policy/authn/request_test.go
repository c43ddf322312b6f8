package authn_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/portcullis-gw/portcullis/internal/testkit/fakeclock"
	"github.com/portcullis-gw/portcullis/policy/authn"
	"github.com/portcullis-gw/portcullis/policy/authn/oidctest"
)

const partnerKey = "pk_live_4f9d2c8a71b3e6"

func hashOf(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

func apiKeyConfig() authn.Config {
	return authn.Config{
		Anonymous: true,
		APIKeys: []authn.APIKey{
			{Name: "partner-acme", SHA256: hashOf(partnerKey), Scopes: []string{"products:read"}, Tier: "partner"},
			{Name: "internal", SHA256: strings.ToUpper(hashOf("internal-key-0001"))},
		},
	}
}

func TestAPIKeys(t *testing.T) {
	a := newAuth(t, apiKeyConfig(), fakeclock.New(epoch))
	tests := []struct {
		name    string
		headers [][2]string
		want    string // API key name; "" = refused
		reason  string
	}{
		{name: "good key", headers: [][2]string{{"X-API-Key", partnerKey}}, want: "partner-acme"},
		{name: "uppercase hash in config", headers: [][2]string{{"X-API-Key", "internal-key-0001"}}, want: "internal"},
		{name: "unknown key", headers: [][2]string{{"X-API-Key", "pk_live_nope"}}, reason: authn.ReasonUnknownAPIKey},
		{name: "near miss: last char", headers: [][2]string{{"X-API-Key", partnerKey[:len(partnerKey)-1] + "7"}}, reason: authn.ReasonUnknownAPIKey},
		{name: "near miss: prefix", headers: [][2]string{{"X-API-Key", partnerKey[:len(partnerKey)-1]}}, reason: authn.ReasonUnknownAPIKey},
		{name: "near miss: extra char", headers: [][2]string{{"X-API-Key", partnerKey + "0"}}, reason: authn.ReasonUnknownAPIKey},
		{name: "near miss: case", headers: [][2]string{{"X-API-Key", strings.ToUpper(partnerKey)}}, reason: authn.ReasonUnknownAPIKey},
		{name: "the hash itself", headers: [][2]string{{"X-API-Key", hashOf(partnerKey)}}, reason: authn.ReasonUnknownAPIKey},
		{name: "empty", headers: [][2]string{{"X-API-Key", ""}}, reason: authn.ReasonMalformed},
		{name: "oversized", headers: [][2]string{{"X-API-Key", strings.Repeat("k", 2000)}}, reason: authn.ReasonMalformed},
		{name: "two keys", headers: [][2]string{{"X-API-Key", partnerKey}, {"X-API-Key", partnerKey}}, reason: authn.ReasonMalformed},
		{name: "key and bearer token", headers: [][2]string{{"X-API-Key", partnerKey}, {"Authorization", "Bearer abc.def.ghi"}}, reason: authn.ReasonAmbiguous},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodGet, "/api/orders", nil)
			for _, h := range tc.headers {
				r.Header.Add(h[0], h[1])
			}
			id, err := a.Authenticate(context.Background(), r)
			if tc.want == "" {
				wantReason(t, id, err, tc.reason)
				return
			}
			wantOK(t, id, err)
			if id.Kind != authn.KindAPIKey || id.APIKeyName != tc.want || id.Subject != "apikey:"+tc.want {
				t.Fatalf("identity = %+v", id)
			}
		})
	}
	id := mustOK(t, a, withHeader("X-API-Key", partnerKey))
	if id.Tier != "partner" || !slices.Equal(id.Scopes, []string{"products:read"}) {
		t.Fatalf("partner identity = %+v", id)
	}
	id = mustOK(t, a, withHeader("X-API-Key", "internal-key-0001"))
	if id.Tier != authn.TierDefault || len(id.Scopes) != 0 {
		t.Fatalf("internal identity = %+v", id)
	}
}

func withHeader(k, v string) *http.Request {
	r := httptest.NewRequest(http.MethodGet, "/graphql", nil)
	r.Header.Set(k, v)
	return r
}

// TestMalformedAuthorization: an unreadable credential is refused even
// where anonymous callers are admitted.
func TestMalformedAuthorization(t *testing.T) {
	clk := fakeclock.New(epoch)
	iss := oidctest.NewIssuer(t, oidctest.WithClock(clk.Now))
	cfg := authn.Config{Anonymous: true, OIDC: []authn.OIDC{oidcConfig(iss)}}
	a := newAuth(t, cfg, clk)
	good := iss.Sign(userClaims())
	tests := []struct {
		name   string
		values []string
	}{
		{"Bearer alone", []string{"Bearer"}},
		{"Bearer and a space", []string{"Bearer "}},
		{"empty header", []string{""}},
		{"Basic", []string{"Basic dXNlcjpwYXNz"}},
		{"Digest", []string{"Digest username=\"x\""}},
		{"no space", []string{"Bearer" + good}},
		{"two tokens", []string{"Bearer " + good + " " + good}},
		{"comma-separated tokens", []string{"Bearer " + good + "," + good}},
		{"two Authorization headers", []string{"Bearer " + good, "Bearer " + good}},
		{"tab separator", []string{"Bearer\t" + good}},
		{"quoted token", []string{"Bearer \"" + good + "\""}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodGet, "/graphql", nil)
			for _, v := range tc.values {
				r.Header.Add("Authorization", v)
			}
			id, err := a.Authenticate(context.Background(), r)
			wantReason(t, id, err, authn.ReasonMalformed)
		})
	}
	// The scheme is case-insensitive (RFC 9110 section 11.1) and 1*SP is
	// allowed (RFC 6750 section 2.1).
	for _, v := range []string{"bearer " + good, "BEARER  " + good} {
		mustOK(t, a, withHeader("Authorization", v))
	}
}

func TestNoCredentials(t *testing.T) {
	tests := []struct {
		anonymous bool
		wantErr   error
	}{
		{true, nil},
		{false, authn.ErrNoCredentials},
	}
	for _, tc := range tests {
		cfg := apiKeyConfig()
		cfg.Anonymous = tc.anonymous
		a := newAuth(t, cfg, fakeclock.New(epoch))
		id, err := a.Authenticate(context.Background(), httptest.NewRequest(http.MethodGet, "/", nil))
		if !errors.Is(err, tc.wantErr) || (err == nil) != (tc.wantErr == nil) {
			t.Fatalf("anonymous=%v: err = %v, want %v", tc.anonymous, err, tc.wantErr)
		}
		if id.Kind != authn.KindAnonymous || id.Tier != authn.TierAnonymous || !id.IsAnonymous() {
			t.Fatalf("anonymous=%v: identity = %+v", tc.anonymous, id)
		}
		var ae *authn.AuthError
		if errors.As(err, &ae) {
			t.Fatalf("missing credentials reported as invalid: %v", err)
		}
	}
}

// TestTokenCache proves the cache serves verified tokens (they survive the
// key's removal), never past exp, and not longer than its bound.
func TestTokenCache(t *testing.T) {
	tests := []struct {
		name      string
		cacheSize int
		rotate    bool          // remove the token's key before looking again
		advance   time.Duration // then advance the clock (permitting a refresh)
		tokenTTL  time.Duration
		want      string // "" accepted, else reason
	}{
		{name: "cached token survives key removal", cacheSize: 100, rotate: true, advance: authn.DefaultRefreshInterval, tokenTTL: time.Hour},
		{name: "without cache the removed key fails", cacheSize: 0, rotate: true, advance: authn.DefaultRefreshInterval, tokenTTL: time.Hour, want: authn.ReasonUnknownKey},
		{name: "expired entry never served", cacheSize: 100, advance: 2 * time.Minute, tokenTTL: time.Minute, want: authn.ReasonExpired},
		{name: "entry re-verified after the cache bound", cacheSize: 100, rotate: true, advance: 6 * time.Minute, tokenTTL: time.Hour, want: authn.ReasonUnknownKey},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			clk := fakeclock.New(epoch)
			iss := oidctest.NewIssuer(t, oidctest.WithClock(clk.Now))
			a := readyAuth(t, iss, clk, authn.WithCacheSize(tc.cacheSize))
			tok := iss.Sign(with(userClaims(), "exp", clk.Now().Add(tc.tokenTTL).Unix()))
			first := mustOK(t, a, bearer(tok))
			if tc.rotate {
				iss.Rotate()
			}
			clk.Advance(tc.advance)
			// Force a refresh so the old key is gone from the key set.
			_, _ = a.Authenticate(context.Background(), bearer(iss.Sign(userClaims())))
			id, err := a.Authenticate(context.Background(), bearer(tok))
			if tc.want != "" {
				wantReason(t, id, err, tc.want)
				return
			}
			wantOK(t, id, err)
			if id.Subject != first.Subject || !slices.Equal(id.Scopes, first.Scopes) {
				t.Fatalf("cached identity %+v differs from %+v", id, first)
			}
		})
	}
}

func TestClaimsMapping(t *testing.T) {
	clk := fakeclock.New(epoch)
	iss := oidctest.NewIssuer(t, oidctest.WithClock(clk.Now))
	tests := []struct {
		name                    string
		scopesClaim, rolesClaim string
		tierClaim               string
		claims                  map[string]any
		wantScopes, wantRoles   []string
		wantTier                string
	}{
		{name: "scope string", claims: map[string]any{"scope": "a  b c"}, wantScopes: []string{"a", "b", "c"}, wantTier: "default"},
		{name: "scope array", claims: map[string]any{"scope": []any{"a", "b", 3, ""}}, wantScopes: []string{"a", "b"}, wantTier: "default"},
		{name: "scope of the wrong type grants nothing", claims: map[string]any{"scope": 42}, wantTier: "default"},
		{name: "custom scopes claim", scopesClaim: "scp", claims: map[string]any{"scp": []any{"x"}, "scope": "ignored"}, wantScopes: []string{"x"}, wantTier: "default"},
		{name: "keycloak realm roles", rolesClaim: "realm_access.roles", claims: map[string]any{"realm_access": map[string]any{"roles": []any{"admin", "user"}}}, wantRoles: []string{"admin", "user"}, wantTier: "default"},
		{name: "deep path", rolesClaim: "resource_access.shop.roles", claims: map[string]any{"resource_access": map[string]any{"shop": map[string]any{"roles": []any{"editor"}}}}, wantRoles: []string{"editor"}, wantTier: "default"},
		{name: "path through a non-object", rolesClaim: "realm_access.roles", claims: map[string]any{"realm_access": "admin"}, wantTier: "default"},
		{name: "missing roles", rolesClaim: "realm_access.roles", claims: map[string]any{}, wantTier: "default"},
		{name: "namespaced claim name with dots", rolesClaim: "https://shop.example/roles", claims: map[string]any{"https://shop.example/roles": []any{"support"}}, wantRoles: []string{"support"}, wantTier: "default"},
		{name: "roles as string", rolesClaim: "roles", claims: map[string]any{"roles": "a b"}, wantRoles: []string{"a", "b"}, wantTier: "default"},
		{name: "tier claim", tierClaim: "plan", claims: map[string]any{"plan": "partner"}, wantTier: "partner"},
		{name: "nested tier claim", tierClaim: "org.plan", claims: map[string]any{"org": map[string]any{"plan": "gold"}}, wantTier: "gold"},
		{name: "tier not a string", tierClaim: "plan", claims: map[string]any{"plan": []any{"partner"}}, wantTier: "default"},
		{name: "no tier claim configured", claims: map[string]any{"plan": "partner"}, wantTier: "default"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := authn.OIDC{Issuer: iss.URL(), Audiences: []string{audience}, ScopesClaim: tc.scopesClaim, RolesClaim: tc.rolesClaim, TierClaim: tc.tierClaim}
			a := newAuth(t, authn.Config{OIDC: []authn.OIDC{cfg}}, clk)
			claims := with(tc.claims, "sub", "user-1", "aud", audience)
			id := mustOK(t, a, bearer(iss.Sign(claims)))
			if !slices.Equal(id.Scopes, tc.wantScopes) || !slices.Equal(id.Roles, tc.wantRoles) || id.Tier != tc.wantTier {
				t.Fatalf("scopes %q roles %q tier %q; want %q %q %q", id.Scopes, id.Roles, id.Tier, tc.wantScopes, tc.wantRoles, tc.wantTier)
			}
			if id.Claims["sub"] != "user-1" {
				t.Fatalf("claims not kept: %v", id.Claims)
			}
		})
	}
}
