package authz

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/portcullis-gw/portcullis/internal/testkit/gatewaytest"
	"github.com/portcullis-gw/portcullis/internal/testkit/upstreamtest"
	"github.com/portcullis-gw/portcullis/policy/authn"
	"github.com/portcullis-gw/portcullis/policy/authn/oidctest"
	"github.com/portcullis-gw/portcullis/test/upstreams"
)

// gatewayConfig describes the gateway config the identity and authorization
// tests run: the GraphQL route forwards to the accounts subgraph (the only
// one a query on User reaches) over the three composed subgraph schemas.
type gatewayConfig struct {
	issuer        string
	anonymous     bool
	apiKeySHA256  string
	authFailures  string // rate_limit.auth_failures, YAML flow map
	authorization string // graphql[0].authorization, YAML flow map
}

func (a gatewayConfig) config(set *upstreams.Set) string {
	var keys string
	if a.apiKeySHA256 != "" {
		keys = fmt.Sprintf("  api_keys:\n    - {name: partner-acme, sha256: %s, scopes: [orders:read]}\n", a.apiKeySHA256)
	}
	failures := a.authFailures
	if failures == "" {
		failures = gatewaytest.GenerousTier
	}
	authz := a.authorization
	if authz == "" {
		authz = "{mode: reject}"
	}
	return fmt.Sprintf(`
`+gatewaytest.Server("shutdown_grace: 5s")+`identity:
  anonymous: %t
  oidc:
    - issuer: %q
      audiences: [shop-api]
      roles_claim: realm_access.roles
%spolicies:
  self: "!identity.anonymous && args.id == identity.subject"
  admin: "'admin' in identity.roles"
rate_limit:
  tiers:
    anonymous: %s
    default: %s
  auth_failures: %s
graphql:
`+gatewaytest.ShopRoute("%q", "authorization: %s")+`rest:
  - name: orders
    prefix: /api
    openapi: specs/orders.yaml
    upstream: {url: %q, timeout: 5s}
    strip_prefix: true
  - name: orders-with-credentials
    prefix: /fwd
    openapi: specs/orders.yaml
    upstream: {url: %q, timeout: 5s}
    strip_prefix: true
    forward_authorization: true
`, a.anonymous, a.issuer, keys, gatewaytest.GenerousTier, gatewaytest.GenerousTier, failures,
		set.Accounts.Endpoint, authz, set.Orders.URL, set.Orders.URL)
}

// start writes cfg and starts the gateway on it with the upstreams'
// records fresh.
func start(t *testing.T, set *upstreams.Set, cfg string) *gatewaytest.Gateway {
	t.Helper()
	return gatewaytest.StartFresh(t, gatewaytest.WriteConfig(t, cfg), set.ResetAll)
}

func bearer(tok string) map[string]string {
	return map[string]string{"Authorization": "Bearer " + tok}
}

// tokenClaims are a valid access token's claims for subject sub.
func tokenClaims(sub, scope string, extra ...any) map[string]any {
	c := map[string]any{"sub": sub, "aud": "shop-api", "scope": scope}
	for i := 0; i+1 < len(extra); i += 2 {
		c[extra[i].(string)] = extra[i+1]
	}
	return c
}

// wantUnauthenticated checks a refusal for a present but invalid credential
// (RFC 6750 section 3.1, the docs/ pages).
func wantUnauthenticated(t *testing.T, r gatewaytest.Reply) {
	t.Helper()
	if r.Status != http.StatusUnauthorized {
		t.Fatalf("want 401, got %s", r)
	}
	if ch := r.Header.Get("WWW-Authenticate"); !strings.HasPrefix(ch, "Bearer") || !strings.Contains(ch, `error="invalid_token"`) {
		t.Errorf("WWW-Authenticate = %q", ch)
	}
	if c := gatewaytest.FirstCode(t, r.Body); c != "UNAUTHENTICATED" {
		t.Errorf("code %q in %s", c, r.Body)
	}
}

// wantNothingForwarded fails if any upstream received a request.
func wantNothingForwarded(t *testing.T, set *upstreams.Set) {
	t.Helper()
	for _, s := range set.All() {
		if n := s.Recorder.Count(); n != 0 {
			t.Errorf("%s received %d requests: %q", s.Name, n, s.Recorder.Requests()[0].Body)
		}
	}
}

// onlyRequest is the one request svc received since the last reset.
func onlyRequest(t *testing.T, svc *upstreams.Service) upstreamtest.Recorded {
	t.Helper()
	reqs := svc.Recorder.Requests()
	if len(reqs) != 1 {
		t.Fatalf("%s received %d requests, want 1", svc.Name, len(reqs))
	}
	return reqs[0]
}

// answerData decodes a GraphQL answer's data and errors.
func answerData(t *testing.T, r gatewaytest.Reply) (map[string]any, []map[string]any) {
	t.Helper()
	var out struct {
		Data   map[string]any   `json:"data"`
		Errors []map[string]any `json:"errors"`
	}
	if err := json.Unmarshal(r.Body, &out); err != nil {
		t.Fatalf("answer is not JSON: %s", r)
	}
	return out.Data, out.Errors
}

const partnerKey = "acme-0123456789-secret"

func TestIdentity(t *testing.T) {
	set := upstreams.StartAll(t)
	idp := oidctest.NewIssuer(t)
	evil := oidctest.NewIssuer(t) // a real issuer the gateway does not trust
	gw := start(t, set, gatewayConfig{
		issuer: idp.URL(), anonymous: true, apiKeySHA256: gatewaytest.KeyHash(partnerKey),
	}.config(set))
	gql := gw.URL("/graphql")
	meQuery := gatewaytest.GraphQLBody("{ me { id username } }", nil)

	t.Run("valid tokens are accepted and the upstream sees the gateway's identity headers", func(t *testing.T) {
		cases := []struct {
			name, alg, sub string
		}{
			{"RS256", "RS256", "1"},
			{"ES256", "ES256", "3"},
			{"EdDSA", "EdDSA", "4"},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				set.ResetAll()
				tok := idp.Sign(tokenClaims(c.sub, "orders:read users:email"), oidctest.Alg(c.alg))
				hdr := bearer(tok)
				// Forged identity headers: the upstream must never see them.
				hdr["X-Portcullis-Subject"] = "2"
				hdr["X-Portcullis-Scopes"] = "admin:all"
				hdr["X-Portcullis-Tier"] = "partner"
				r := gatewaytest.Send(t, "POST", gql, hdr, meQuery)
				if r.Status != 200 {
					t.Fatalf("%s", r)
				}
				data, errs := answerData(t, r)
				me, _ := data["me"].(map[string]any)
				if len(errs) != 0 || me == nil || me["id"] != c.sub {
					t.Fatalf("want me.id %q: %s", c.sub, r)
				}
				got := onlyRequest(t, set.Accounts).Header
				want := map[string][]string{
					// The principal: kind and issuer beside the sub
					// (docs/identity.md, "Subject names").
					"X-Portcullis-Subject": {authn.JWTPrincipal(idp.URL(), c.sub)},
					"X-Portcullis-Scopes":  {"orders:read users:email"},
					"X-Portcullis-Tier":    {"default"},
				}
				for k, v := range want {
					if strings.Join(got.Values(k), "|") != strings.Join(v, "|") {
						t.Errorf("upstream %s = %q, want %q", k, got.Values(k), v)
					}
				}
				if a := got.Values("Authorization"); len(a) != 0 {
					t.Errorf("upstream received Authorization %q", a)
				}
			})
		}
	})

	t.Run("anonymous caller's forged identity headers are stripped", func(t *testing.T) {
		set.ResetAll()
		r := gatewaytest.Send(t, "POST", gql, map[string]string{
			"X-Portcullis-Subject": "1", "X-Portcullis-Scopes": "users:email", "X-Portcullis-Tier": "partner",
		}, gatewaytest.GraphQLBody(`{ user(id: "2") { id } }`, nil))
		if r.Status != 200 {
			t.Fatalf("%s", r)
		}
		got := onlyRequest(t, set.Accounts).Header
		if v := got.Values("X-Portcullis-Subject"); len(v) != 0 {
			t.Errorf("upstream got subject %q", v)
		}
		if v := got.Values("X-Portcullis-Scopes"); len(v) != 0 {
			t.Errorf("upstream got scopes %q", v)
		}
		if v := got.Values("X-Portcullis-Tier"); len(v) != 1 || v[0] != "anonymous" {
			t.Errorf("upstream tier %q, want anonymous", v)
		}
	})

	t.Run("anonymous is not authenticated for @authenticated fields", func(t *testing.T) {
		set.ResetAll()
		r := gatewaytest.Send(t, "POST", gql, nil, meQuery)
		if r.Status != 403 || gatewaytest.FirstCode(t, r.Body) != "UNAUTHORIZED_FIELD_OR_TYPE" {
			t.Fatalf("%s", r)
		}
		wantNothingForwarded(t, set)
	})

	attacker, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	attackerJWK := jose.JSONWebKey{Key: &attacker.PublicKey, KeyID: "attacker", Algorithm: "ES256", Use: "sig"}
	jwkJSON, err := attackerJWK.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	var embedded map[string]any
	if err := json.Unmarshal(jwkJSON, &embedded); err != nil {
		t.Fatal(err)
	}
	// The attacker publishes its own key at the evil issuer, so a gateway
	// that followed jku/x5u would find a key that verifies.
	evil.PublishKey("attacker", &attacker.PublicKey)
	good := tokenClaims("1", "orders:read users:email")
	valid := idp.Sign(good)
	other := idp.Sign(tokenClaims("2", ""))
	now := time.Now()
	oversized := idp.Sign(tokenClaims("1", "orders:read", "pad", strings.Repeat("a", 20<<10)))

	attacks := []struct {
		name string
		hdr  map[string]string
	}{
		{"alg none", bearer(idp.Sign(good, oidctest.Alg("none"), oidctest.Kid("")))},
		{"alg none keeping the kid", bearer(idp.Sign(good, oidctest.Alg("none")))},
		{"HS256 signed with the RSA public key", bearer(idp.Sign(good, oidctest.Alg("HS256")))},
		{"HS256 with the issuer's kid", bearer(idp.Sign(good, oidctest.Alg("HS256"), oidctest.Kid(idp.KeyID("RS256"))))},
		{"unknown kid", bearer(idp.Sign(good, oidctest.Kid("no-such-key")))},
		{"expired", bearer(idp.Sign(good, oidctest.Expired()))},
		{"not yet valid (nbf)", bearer(idp.Sign(tokenClaims("1", "orders:read", "nbf", now.Add(time.Hour).Unix())))},
		{"issued in the future (iat)", bearer(idp.Sign(tokenClaims("1", "orders:read", "iat", now.Add(time.Hour).Unix())))},
		{"wrong aud", bearer(idp.Sign(tokenClaims("1", "orders:read", "aud", "other-api")))},
		{"no aud", bearer(idp.Sign(tokenClaims("1", "orders:read", "aud", nil)))},
		{"no exp", bearer(idp.Sign(tokenClaims("1", "orders:read", "exp", nil)))},
		{"wrong iss", bearer(idp.Sign(tokenClaims("1", "orders:read", "iss", "https://idp.example.com")))},
		{"token of an issuer not in config", bearer(evil.Sign(good))},
		{"untrusted issuer's key under the trusted iss and a colliding kid", bearer(evil.Sign(tokenClaims("1", "orders:read", "iss", idp.URL())))},
		{"jku header pointing at the attacker's keys", bearer(idp.Sign(good, oidctest.Alg("ES256"), oidctest.Key(attacker), oidctest.Kid("attacker"), oidctest.Header("jku", evil.JWKSURL())))},
		{"x5u header pointing elsewhere", bearer(idp.Sign(good, oidctest.Alg("ES256"), oidctest.Key(attacker), oidctest.Kid("attacker"), oidctest.Header("x5u", evil.URL()+"/cert.pem")))},
		{"embedded jwk header", bearer(idp.Sign(good, oidctest.Alg("ES256"), oidctest.Key(attacker), oidctest.Kid(""), oidctest.Header("jwk", embedded)))},
		{"embedded jwk header with the issuer's kid", bearer(idp.Sign(good, oidctest.Alg("ES256"), oidctest.Key(attacker), oidctest.Kid(idp.KeyID("ES256")), oidctest.Header("jwk", embedded)))},
		{"signature of another token", bearer(valid[:strings.LastIndex(valid, ".")] + other[strings.LastIndex(other, "."):])},
		{"truncated signature", bearer(valid[:len(valid)-10])},
		{"truncated to header and payload", bearer(valid[:strings.LastIndex(valid, ".")])},
		{"oversized token", bearer(oversized)},
		{"garbage", bearer("not-a-jwt")},
		{"empty bearer", map[string]string{"Authorization": "Bearer "}},
		{"basic scheme", map[string]string{"Authorization": "Basic dXNlcjpwYXNz"}},
		{"token and API key together", map[string]string{"Authorization": "Bearer " + valid, "X-API-Key": partnerKey}},
		{"wrong API key", map[string]string{"X-API-Key": partnerKey + "x"}},
		{"empty API key", map[string]string{"X-API-Key": ""}},
	}
	t.Run("JWT attacks are refused with 401 and never fall back to anonymous", func(t *testing.T) {
		evilHits := evil.JWKSHits()
		// user(id:) is open to anonymous callers: a fallback would answer 200.
		q := gatewaytest.GraphQLBody(`{ user(id: "1") { id } }`, nil)
		for _, a := range attacks {
			t.Run(a.name, func(t *testing.T) {
				set.ResetAll()
				wantUnauthenticated(t, gatewaytest.Send(t, "POST", gql, a.hdr, q))
				wantNothingForwarded(t, set)
			})
		}
		if n := evil.JWKSHits() - evilHits; n != 0 {
			t.Errorf("the gateway fetched keys from an untrusted location %d times", n)
		}
	})

	t.Run("REST route: identity applies and bad tokens are refused", func(t *testing.T) {
		for _, a := range attacks[:6] {
			t.Run(a.name, func(t *testing.T) {
				set.ResetAll()
				wantUnauthenticated(t, gatewaytest.Send(t, "GET", gw.URL("/api/v1/orders"), a.hdr, ""))
				wantNothingForwarded(t, set)
			})
		}
		t.Run("valid token: identity forwarded, credentials not", func(t *testing.T) {
			set.ResetAll()
			hdr := bearer(idp.Sign(tokenClaims("2", "orders:read")))
			hdr["X-Portcullis-Subject"] = "1"
			r := gatewaytest.Send(t, "GET", gw.URL("/api/v1/orders"), hdr, "")
			if r.Status != 200 {
				t.Fatalf("%s", r)
			}
			got := onlyRequest(t, set.Orders).Header
			if v := got.Values("X-Portcullis-Subject"); len(v) != 1 || v[0] != authn.JWTPrincipal(idp.URL(), "2") {
				t.Errorf("upstream subject %q, want [jwt:<issuer>#2]", v)
			}
			if v := got.Values("Authorization"); len(v) != 0 {
				t.Errorf("upstream received Authorization %q", v)
			}
		})
		t.Run("forward_authorization passes the token on", func(t *testing.T) {
			set.ResetAll()
			tok := idp.Sign(tokenClaims("2", "orders:read"))
			r := gatewaytest.Send(t, "GET", gw.URL("/fwd/v1/orders"), bearer(tok), "")
			if r.Status != 200 {
				t.Fatalf("%s", r)
			}
			if v := onlyRequest(t, set.Orders).Header.Values("Authorization"); len(v) != 1 || v[0] != "Bearer "+tok {
				t.Errorf("upstream Authorization %q", v)
			}
		})
	})

	t.Run("API key", func(t *testing.T) {
		set.ResetAll()
		r := gatewaytest.Send(t, "POST", gql, map[string]string{"X-API-Key": partnerKey}, gatewaytest.GraphQLBody(`{ user(id: "2") { id username } }`, nil))
		if r.Status != 200 {
			t.Fatalf("%s", r)
		}
		got := onlyRequest(t, set.Accounts).Header
		if v := got.Values("X-Portcullis-Subject"); len(v) != 1 || v[0] != "apikey:partner-acme" {
			t.Errorf("upstream subject %q", v)
		}
		if v := got.Values("X-Portcullis-Scopes"); len(v) != 1 || v[0] != "orders:read" {
			t.Errorf("upstream scopes %q", v)
		}
		if v := got.Values("X-Api-Key"); len(v) != 0 {
			t.Errorf("upstream received the API key %q", v)
		}
	})

	// Last: it rotates the issuer's keys.
	t.Run("key rotation", func(t *testing.T) {
		seen := idp.Sign(tokenClaims("1", "orders:read"))
		// The jti makes it unlike every token sent before: PKCS #1 v1.5
		// signatures are deterministic, and a token seen before is cached.
		unseen := idp.Sign(tokenClaims("2", "orders:read", "jti", "never-sent"))
		set.ResetAll()
		if r := gatewaytest.Send(t, "POST", gql, bearer(seen), meQuery); r.Status != 200 {
			t.Fatalf("token before rotation: %s", r)
		}
		hits := idp.JWKSHits()
		oldKid := idp.KeyID("RS256")
		idp.Rotate()
		if idp.KeyID("RS256") == oldKid {
			t.Fatal("Rotate kept the kid")
		}
		rotated := idp.Sign(tokenClaims("5", "orders:read"))
		// The JWKS refresh a new kid triggers is rate-limited (10s by
		// default); poll until the gateway has fetched the new keys.
		deadline := time.Now().Add(15 * time.Second)
		var r gatewaytest.Reply
		for {
			r = gatewaytest.Send(t, "POST", gql, bearer(rotated), meQuery)
			if r.Status == 200 || time.Now().After(deadline) {
				break
			}
			wantUnauthenticated(t, r)
			time.Sleep(250 * time.Millisecond)
		}
		data, _ := answerData(t, r)
		if me, _ := data["me"].(map[string]any); r.Status != 200 || me == nil || me["id"] != "5" {
			t.Fatalf("token with the new kid never accepted: %s", r)
		}
		if idp.JWKSHits() <= hits {
			t.Error("no JWKS fetch after rotation")
		}
		// A token signed with the retired key and never verified before is
		// refused once the keys are refreshed.
		set.ResetAll()
		wantUnauthenticated(t, gatewaytest.Send(t, "POST", gql, bearer(unseen), meQuery))
		wantNothingForwarded(t, set)
	})
}

// TestIdentityRequired: without anonymous access, a request with no
// credentials is 401 on both front doors and nothing is forwarded.
func TestIdentityRequired(t *testing.T) {
	set := upstreams.StartAll(t)
	idp := oidctest.NewIssuer(t)
	gw := start(t, set, gatewayConfig{issuer: idp.URL(), anonymous: false}.config(set))
	cases := []struct {
		name, method, path, body string
	}{
		{"graphql", "POST", "/graphql", gatewaytest.GraphQLBody(`{ user(id: "1") { id } }`, nil)},
		{"rest", "GET", "/api/v1/orders", ""},
	}
	for _, c := range cases {
		t.Run(c.name+" without credentials", func(t *testing.T) {
			set.ResetAll()
			r := gatewaytest.Send(t, c.method, gw.URL(c.path), nil, c.body)
			if r.Status != 401 || gatewaytest.FirstCode(t, r.Body) != "UNAUTHENTICATED" {
				t.Fatalf("%s", r)
			}
			if ch := r.Header.Get("WWW-Authenticate"); !strings.HasPrefix(ch, "Bearer") {
				t.Errorf("WWW-Authenticate = %q", ch)
			}
			wantNothingForwarded(t, set)
		})
		t.Run(c.name+" with a token", func(t *testing.T) {
			set.ResetAll()
			r := gatewaytest.Send(t, c.method, gw.URL(c.path), bearer(idp.Sign(tokenClaims("1", "orders:read"))), c.body)
			if r.Status != 200 {
				t.Fatalf("%s", r)
			}
		})
	}
}

// TestIdentityAuthFailureBudget: guessing credentials from one IP is
// throttled; a valid credential from the same IP still passes.
func TestIdentityAuthFailureBudget(t *testing.T) {
	set := upstreams.StartAll(t)
	idp := oidctest.NewIssuer(t)
	gw := start(t, set, gatewayConfig{
		issuer: idp.URL(), anonymous: true, authFailures: "{rate: 1, per: 1h, burst: 3}",
	}.config(set))
	q := gatewaytest.GraphQLBody(`{ user(id: "1") { id } }`, nil)
	bad := bearer(idp.Sign(tokenClaims("1", ""), oidctest.Expired()))
	for i := 0; i < 3; i++ {
		wantUnauthenticated(t, gatewaytest.Send(t, "POST", gw.URL("/graphql"), bad, q))
	}
	for i, hdr := range []map[string]string{bad, {"X-API-Key": "guess"}} {
		r := gatewaytest.Send(t, "POST", gw.URL("/graphql"), hdr, q)
		if r.Status != 429 || gatewaytest.FirstCode(t, r.Body) != "RATE_LIMITED" {
			t.Fatalf("failure %d past the budget: %s", i+4, r)
		}
		if r.Header.Get("Retry-After") == "" {
			t.Errorf("429 without Retry-After")
		}
	}
	wantNothingForwarded(t, set)
	if r := gatewaytest.Send(t, "POST", gw.URL("/graphql"), bearer(idp.Sign(tokenClaims("1", ""))), q); r.Status != 200 {
		t.Fatalf("valid token after the failure budget is spent: %s", r)
	}
}
