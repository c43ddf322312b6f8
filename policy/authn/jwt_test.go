package authn_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/portcullis-gw/portcullis/internal/testkit/fakeclock"
	"github.com/portcullis-gw/portcullis/policy/authn"
	"github.com/portcullis-gw/portcullis/policy/authn/oidctest"
)

func TestTokenAccepted(t *testing.T) {
	clk := fakeclock.New(epoch)
	iss := oidctest.NewIssuer(t, oidctest.WithClock(clk.Now))
	a := readyAuth(t, iss, clk)
	for _, alg := range []string{"RS256", "PS256", "ES256", "EdDSA"} {
		t.Run(alg, func(t *testing.T) {
			id, err := a.Authenticate(context.Background(), bearer(iss.Sign(userClaims(), oidctest.Alg(alg))))
			wantOK(t, id, err)
			if id.Kind != authn.KindJWT || id.Subject != "user-1" || id.Issuer != iss.URL() {
				t.Fatalf("identity = %+v", id)
			}
			if !id.HasScope("orders:write") || id.HasScope("admin") {
				t.Fatalf("scopes = %v", id.Scopes)
			}
			if id.Tier != authn.TierDefault {
				t.Fatalf("tier = %q, want default", id.Tier)
			}
		})
	}
}

func TestTokenTimesAndAudience(t *testing.T) {
	clk := fakeclock.New(epoch)
	iss := oidctest.NewIssuer(t, oidctest.WithClock(clk.Now))
	a := readyAuth(t, iss, clk)
	unix := func(d time.Duration) int64 { return clk.Now().Add(d).Unix() }
	tests := []struct {
		name   string
		claims func() map[string]any
		opts   []oidctest.SignOption
		reason string // "" = accepted
	}{
		{name: "expired", claims: userClaims, opts: []oidctest.SignOption{oidctest.Expired()}, reason: authn.ReasonExpired},
		{name: "expired beyond skew", claims: func() map[string]any { return with(userClaims(), "exp", unix(-31*time.Second)) }, reason: authn.ReasonExpired},
		{name: "expired within skew", claims: func() map[string]any { return with(userClaims(), "exp", unix(-29*time.Second)) }},
		{name: "nbf in the future", claims: func() map[string]any { return with(userClaims(), "nbf", unix(5*time.Minute)) }, reason: authn.ReasonNotYetValid},
		{name: "nbf within skew", claims: func() map[string]any { return with(userClaims(), "nbf", unix(20*time.Second)) }},
		{name: "nbf not a number", claims: func() map[string]any { return with(userClaims(), "nbf", "soon") }, reason: authn.ReasonInvalidClaims},
		{name: "iat in the future", claims: func() map[string]any { return with(userClaims(), "iat", unix(5*time.Minute)) }, reason: authn.ReasonNotYetValid},
		{name: "no exp", claims: func() map[string]any { return with(userClaims(), "exp", nil) }, reason: authn.ReasonMalformed},
		{name: "exp not a number", claims: func() map[string]any { return with(userClaims(), "exp", "tomorrow") }, reason: authn.ReasonInvalidClaims},
		{name: "no sub", claims: func() map[string]any { return with(userClaims(), "sub", nil) }, reason: authn.ReasonMalformed},
		{name: "wrong audience", claims: func() map[string]any { return with(userClaims(), "aud", "billing-api") }, reason: authn.ReasonWrongAudience},
		{name: "no audience", claims: func() map[string]any { return with(userClaims(), "aud", nil) }, reason: authn.ReasonWrongAudience},
		{name: "audience list containing ours", claims: func() map[string]any { return with(userClaims(), "aud", []string{"billing-api", audience}) }},
		{name: "audience list without ours", claims: func() map[string]any { return with(userClaims(), "aud", []string{"billing-api", "x"}) }, reason: authn.ReasonWrongAudience},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			id, err := a.Authenticate(context.Background(), bearer(iss.Sign(tc.claims(), tc.opts...)))
			if tc.reason == "" {
				wantOK(t, id, err)
				return
			}
			wantReason(t, id, err, tc.reason)
		})
	}
}

// TestTokenAttacks sends forged and confused tokens; each must be refused
// for its own reason.
func TestTokenAttacks(t *testing.T) {
	clk := fakeclock.New(epoch)
	iss := oidctest.NewIssuer(t, oidctest.WithClock(clk.Now))
	stranger := oidctest.NewIssuer(t, oidctest.WithClock(clk.Now)) // not configured
	a := readyAuth(t, iss, clk)
	attacker, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	attackerEC, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	// The attacker's own JWKS server, named by jku/x5u: it must never be asked.
	evil := oidctest.NewIssuer(t, oidctest.WithClock(clk.Now))
	evil.PublishKey(iss.KeyID("RS256"), &attacker.PublicKey)

	tests := []struct {
		name   string
		token  func() string
		reason string
	}{
		{"alg none", func() string { return iss.Sign(userClaims(), oidctest.Alg("none")) }, authn.ReasonUnsupportedAlg},
		{"alg None", func() string { return iss.Sign(userClaims(), oidctest.Alg("None")) }, authn.ReasonUnsupportedAlg},
		{"HS256 with the RSA public key as secret", func() string { return iss.Sign(userClaims(), oidctest.Alg("HS256")) }, authn.ReasonUnsupportedAlg},
		{"RS512 not advertised", func() string { return iss.Sign(userClaims(), oidctest.Alg("RS512")) }, authn.ReasonUnsupportedAlg},
		{"tampered payload", func() string {
			tok := iss.Sign(userClaims())
			parts := strings.Split(tok, ".")
			forged, _ := json.Marshal(with(userClaims(), "sub", "admin", "exp", clk.Now().Add(time.Hour).Unix(), "iss", iss.URL()))
			return parts[0] + "." + base64.RawURLEncoding.EncodeToString(forged) + "." + parts[2]
		}, authn.ReasonBadSignature},
		{"signed by another key under the issuer's kid", func() string {
			return iss.Sign(userClaims(), oidctest.Key(attacker))
		}, authn.ReasonBadSignature},
		{"EC signature under the RSA kid", func() string {
			return iss.Sign(userClaims(), oidctest.Alg("ES256"), oidctest.Key(attackerEC), oidctest.Kid(iss.KeyID("RS256")))
		}, authn.ReasonBadSignature},
		{"embedded jwk header with the attacker key", func() string {
			jwk := jose.JSONWebKey{Key: &attacker.PublicKey, KeyID: iss.KeyID("RS256")}
			return iss.Sign(userClaims(), oidctest.Key(attacker), oidctest.Header("jwk", jwk))
		}, authn.ReasonBadSignature},
		{"jku and x5u pointing at the attacker", func() string {
			return iss.Sign(userClaims(), oidctest.Key(attacker),
				oidctest.Header("jku", evil.JWKSURL()), oidctest.Header("x5u", evil.URL()+"/cert.pem"))
		}, authn.ReasonBadSignature},
		{"no kid signed by the attacker", func() string { return iss.Sign(userClaims(), oidctest.Key(attacker), oidctest.Kid("")) }, authn.ReasonBadSignature},
		{"unknown issuer", func() string { return stranger.Sign(userClaims()) }, authn.ReasonUnknownIssuer},
		{"wrong iss claim", func() string { return iss.Sign(with(userClaims(), "iss", "https://idp.evil.example")) }, authn.ReasonUnknownIssuer},
		{"no iss claim", func() string { return iss.Sign(with(userClaims(), "iss", nil)) }, authn.ReasonUnknownIssuer},
		{"iss with a trailing slash", func() string { return iss.Sign(with(userClaims(), "iss", iss.URL()+"/")) }, authn.ReasonUnknownIssuer},
		{"truncated to two segments", func() string {
			tok := iss.Sign(userClaims())
			return tok[:strings.LastIndex(tok, ".")]
		}, authn.ReasonMalformed},
		{"truncated signature", func() string {
			tok := iss.Sign(userClaims())
			return tok[:len(tok)-8]
		}, authn.ReasonBadSignature},
		{"four segments", func() string { return iss.Sign(userClaims()) + ".x" }, authn.ReasonMalformed},
		{"oversized", func() string {
			return iss.Sign(with(userClaims(), "pad", strings.Repeat("a", 20<<10)))
		}, authn.ReasonMalformed},
		{"header not base64", func() string {
			tok := iss.Sign(userClaims())
			return "!!!" + tok[strings.Index(tok, "."):]
		}, authn.ReasonMalformed},
		{"not a JWT", func() string { return "opaque-token-abc" }, authn.ReasonMalformed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			id, err := a.Authenticate(context.Background(), bearer(tc.token()))
			wantReason(t, id, err, tc.reason)
		})
	}
	if n := evil.JWKSHits() + evil.DiscoveryHits(); n != 0 {
		t.Fatalf("attacker's server was asked %d times", n)
	}
}

// TestAdvertisedAlgsOnly: an issuer that advertises none or HS256 still
// gets neither; what it does not advertise is refused even if the key fits.
func TestAdvertisedAlgsOnly(t *testing.T) {
	clk := fakeclock.New(epoch)
	iss := oidctest.NewIssuer(t, oidctest.WithClock(clk.Now), oidctest.WithAdvertisedAlgs("ES256", "none", "HS256"))
	a := readyAuth(t, iss, clk)
	tests := []struct {
		alg    string
		reason string
	}{
		{"ES256", ""},
		{"RS256", authn.ReasonUnsupportedAlg},
		{"none", authn.ReasonUnsupportedAlg},
		{"HS256", authn.ReasonUnsupportedAlg},
	}
	for _, tc := range tests {
		t.Run(tc.alg, func(t *testing.T) {
			id, err := a.Authenticate(context.Background(), bearer(iss.Sign(userClaims(), oidctest.Alg(tc.alg))))
			if tc.reason == "" {
				wantOK(t, id, err)
				return
			}
			wantReason(t, id, err, tc.reason)
		})
	}
}

func TestNoAsymmetricAlgAdvertisedIsNotReady(t *testing.T) {
	clk := fakeclock.New(epoch)
	iss := oidctest.NewIssuer(t, oidctest.WithClock(clk.Now), oidctest.WithAdvertisedAlgs("HS256", "none"))
	a := newAuth(t, authn.Config{OIDC: []authn.OIDC{oidcConfig(iss)}}, clk, authn.WithRetryBackoff(time.Hour, time.Hour))
	if a.Ready() {
		t.Fatal("ready with an issuer advertising only HS256 and none")
	}
	id, err := a.Authenticate(context.Background(), bearer(iss.Sign(userClaims(), oidctest.Alg("HS256"))))
	wantReason(t, id, err, authn.ReasonIssuerUnavailable)
}

func TestUnknownKidRefreshesThenRejects(t *testing.T) {
	clk := fakeclock.New(epoch)
	iss := oidctest.NewIssuer(t, oidctest.WithClock(clk.Now))
	a := readyAuth(t, iss, clk)
	clk.Advance(authn.DefaultRefreshInterval + time.Second)
	before := iss.JWKSHits()
	id, err := a.Authenticate(context.Background(), bearer(iss.Sign(userClaims(), oidctest.Kid("no-such-key"))))
	wantReason(t, id, err, authn.ReasonUnknownKey)
	if got := iss.JWKSHits() - before; got != 1 {
		t.Fatalf("JWKS fetched %d times for an unknown kid, want exactly 1 refresh", got)
	}
}

func TestKeyRotation(t *testing.T) {
	clk := fakeclock.New(epoch)
	iss := oidctest.NewIssuer(t, oidctest.WithClock(clk.Now))
	a := readyAuth(t, iss, clk)
	ctx := context.Background()

	oldCached := iss.Sign(userClaims())
	mustOK(t, a, bearer(oldCached))
	oldUnseen := iss.Sign(with(userClaims(), "sub", "user-2"))

	iss.Rotate()
	fresh := iss.Sign(userClaims())

	// Within the refresh interval the new kid is not fetched yet.
	hits := iss.JWKSHits()
	id, err := a.Authenticate(ctx, bearer(fresh))
	wantReason(t, id, err, authn.ReasonUnknownKey)
	if iss.JWKSHits() != hits {
		t.Fatalf("JWKS fetched inside the refresh interval")
	}

	clk.Advance(authn.DefaultRefreshInterval)
	mustOK(t, a, bearer(fresh))
	if got := iss.JWKSHits() - hits; got != 1 {
		t.Fatalf("JWKS fetched %d times after rotation, want 1", got)
	}
	// The removed key verifies nothing new; an already verified token stays
	// cached until the cache's bound.
	id, err = a.Authenticate(ctx, bearer(oldUnseen))
	wantReason(t, id, err, authn.ReasonUnknownKey)
	mustOK(t, a, bearer(oldCached))
}

// TestKidFlood: random kids must not turn into one IdP request each.
func TestKidFlood(t *testing.T) {
	clk := fakeclock.New(epoch)
	iss := oidctest.NewIssuer(t, oidctest.WithClock(clk.Now))
	a := readyAuth(t, iss, clk)
	var toks []string
	for i := range 50 {
		toks = append(toks, iss.Sign(userClaims(), oidctest.Kid(fmt.Sprintf("random-%d", i))))
	}
	flood := func() {
		done := make(chan struct{})
		for w := range 4 {
			go func() {
				defer func() { done <- struct{}{} }()
				for i := w; i < len(toks); i += 4 {
					id, err := a.Authenticate(context.Background(), bearer(toks[i]))
					if err == nil {
						t.Errorf("random kid accepted: %+v", id)
					}
				}
			}()
		}
		for range 4 {
			<-done
		}
	}
	before := iss.JWKSHits()
	flood()
	if got := iss.JWKSHits() - before; got != 0 {
		t.Fatalf("flood inside the refresh interval reached the IdP %d times, want 0", got)
	}
	for round := 1; round <= 3; round++ {
		clk.Advance(authn.DefaultRefreshInterval)
		flood()
		if got := iss.JWKSHits() - before; got != round {
			t.Fatalf("after %d intervals the IdP saw %d JWKS requests, want %d", round, got, round)
		}
	}
	// A legitimate token still works after the flood.
	mustOK(t, a, bearer(iss.Sign(userClaims())))
}

func TestIdPDownAtStart(t *testing.T) {
	clk := fakeclock.New(epoch)
	iss := oidctest.NewIssuer(t, oidctest.WithClock(clk.Now))
	iss.SetDown(true)
	a := newAuth(t, authn.Config{OIDC: []authn.OIDC{oidcConfig(iss)}}, clk,
		authn.WithRetryBackoff(5*time.Millisecond, 20*time.Millisecond))
	if a.Ready() {
		t.Fatal("ready while the IdP is down")
	}
	tok := iss.Sign(userClaims())
	id, err := a.Authenticate(context.Background(), bearer(tok))
	wantReason(t, id, err, authn.ReasonIssuerUnavailable)

	iss.SetDown(false)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := a.WaitReady(ctx); err != nil {
		t.Fatal(err)
	}
	if !a.Ready() {
		t.Fatal("WaitReady returned but Ready is false")
	}
	mustOK(t, a, bearer(tok))
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestCloseStopsRetries(t *testing.T) {
	clk := fakeclock.New(epoch)
	iss := oidctest.NewIssuer(t, oidctest.WithClock(clk.Now))
	iss.SetDown(true)
	a := newAuth(t, authn.Config{OIDC: []authn.OIDC{oidcConfig(iss)}}, clk,
		authn.WithRetryBackoff(time.Millisecond, time.Millisecond))
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	// Close waited for the retry goroutine: nothing reaches the IdP after.
	hits := iss.DiscoveryHits()
	iss.SetDown(false)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := a.WaitReady(ctx); err == nil {
		t.Fatal("became ready after Close")
	}
	if iss.DiscoveryHits() != hits {
		t.Fatal("discovery retried after Close")
	}
}

// TestIdPDownLater: once keys are loaded, an outage keeps them working,
// even for a token never seen before.
func TestIdPDownLater(t *testing.T) {
	clk := fakeclock.New(epoch)
	iss := oidctest.NewIssuer(t, oidctest.WithClock(clk.Now))
	a := readyAuth(t, iss, clk)
	iss.SetDown(true)
	clk.Advance(authn.DefaultRefreshInterval)
	// An unknown kid makes a refresh, which fails against the down IdP...
	before := iss.JWKSHits()
	id, err := a.Authenticate(context.Background(), bearer(iss.Sign(userClaims(), oidctest.Kid("unknown"))))
	wantReason(t, id, err, authn.ReasonUnknownKey)
	if iss.JWKSHits() != before+1 {
		t.Fatal("the refresh during the outage never reached the IdP; the test proves nothing")
	}
	// ...and the keys loaded before still verify tokens never seen before.
	for _, alg := range []string{"RS256", "ES256", "EdDSA"} {
		mustOK(t, a, bearer(iss.Sign(userClaims(), oidctest.Alg(alg))))
	}
	if !a.Ready() {
		t.Fatal("an outage after start made the authenticator not ready")
	}
}

func TestExplicitJWKSURL(t *testing.T) {
	clk := fakeclock.New(epoch)
	iss := oidctest.NewIssuer(t, oidctest.WithClock(clk.Now))
	cfg := oidcConfig(iss)
	cfg.JWKSURL = iss.JWKSURL()
	a := newAuth(t, authn.Config{OIDC: []authn.OIDC{cfg}}, clk)
	mustOK(t, a, bearer(iss.Sign(userClaims(), oidctest.Alg("ES256"))))
	if n := iss.DiscoveryHits(); n != 0 {
		t.Fatalf("discovery used %d times despite jwks_url", n)
	}
	id, err := a.Authenticate(context.Background(), bearer(iss.Sign(userClaims(), oidctest.Alg("HS256"))))
	wantReason(t, id, err, authn.ReasonUnsupportedAlg)
}

func TestTLSIssuerWithCAFile(t *testing.T) {
	clk := fakeclock.New(epoch)
	iss := oidctest.NewIssuer(t, oidctest.WithClock(clk.Now), oidctest.WithTLS())
	tests := []struct {
		name  string
		ca    string
		ready bool
	}{
		{"with ca_file", iss.CAFile(), true},
		{"without ca_file the self-signed IdP is not trusted", "", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := oidcConfig(iss)
			cfg.CAFile = tc.ca
			a := newAuth(t, authn.Config{OIDC: []authn.OIDC{cfg}}, clk, authn.WithRetryBackoff(time.Hour, time.Hour))
			if a.Ready() != tc.ready {
				t.Fatalf("Ready = %v, want %v", a.Ready(), tc.ready)
			}
			id, err := a.Authenticate(context.Background(), bearer(iss.Sign(userClaims())))
			if tc.ready {
				wantOK(t, id, err)
			} else {
				wantReason(t, id, err, authn.ReasonIssuerUnavailable)
			}
		})
	}
}

func TestMultipleIssuers(t *testing.T) {
	clk := fakeclock.New(epoch)
	first := oidctest.NewIssuer(t, oidctest.WithClock(clk.Now))
	second := oidctest.NewIssuer(t, oidctest.WithClock(clk.Now))
	c2 := oidcConfig(second)
	c2.Audiences = []string{"partner-api"}
	c2.ScopesClaim = "scp"
	a := newAuth(t, authn.Config{OIDC: []authn.OIDC{oidcConfig(first), c2}}, clk)
	ctx := context.Background()

	id, err := a.Authenticate(ctx, bearer(first.Sign(userClaims())))
	wantOK(t, id, err)
	if id.Issuer != first.URL() {
		t.Fatalf("issuer = %q", id.Issuer)
	}
	id, err = a.Authenticate(ctx, bearer(second.Sign(map[string]any{"sub": "svc", "aud": "partner-api", "scp": []string{"a", "b"}})))
	wantOK(t, id, err)
	if id.Issuer != second.URL() || !slices.Equal(id.Scopes, []string{"a", "b"}) {
		t.Fatalf("identity = %+v", id)
	}
	// Audiences are per issuer.
	id, err = a.Authenticate(ctx, bearer(second.Sign(userClaims())))
	wantReason(t, id, err, authn.ReasonWrongAudience)
	// Signed by the first issuer's key, claiming the second: both use the
	// same kid names, so it reaches the second's key and fails there.
	clk.Advance(authn.DefaultRefreshInterval)
	id, err = a.Authenticate(ctx, bearer(first.Sign(with(userClaims(), "iss", second.URL(), "aud", "partner-api"))))
	wantReason(t, id, err, authn.ReasonBadSignature)
}

func TestNewRejectsBadConfig(t *testing.T) {
	tests := []struct {
		name string
		cfg  authn.Config
	}{
		{"plain http to a remote issuer", authn.Config{OIDC: []authn.OIDC{{Issuer: "http://idp.example.com", Audiences: []string{"a"}}}}},
		{"no audience", authn.Config{OIDC: []authn.OIDC{{Issuer: "https://idp.example.com"}}}},
		{"plain http jwks_url", authn.Config{OIDC: []authn.OIDC{{Issuer: "https://idp.example.com", Audiences: []string{"a"}, JWKSURL: "http://keys.example.com/jwks"}}}},
		{"api key hash not hex", authn.Config{APIKeys: []authn.APIKey{{Name: "k", SHA256: strings.Repeat("z", 64)}}}},
		{"missing ca_file", authn.Config{OIDC: []authn.OIDC{{Issuer: "https://idp.example.com", Audiences: []string{"a"}, CAFile: "/nonexistent/ca.pem"}}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a, err := authn.New(context.Background(), tc.cfg, authn.WithRetryBackoff(time.Hour, time.Hour))
			if err == nil {
				_ = a.Close()
				t.Fatal("New accepted a bad config")
			}
		})
	}
}

// TestForgedSignatureDoesNotRefresh: a known kid with a bad signature is a
// forgery, not a rotation, so it never reaches the IdP.
func TestForgedSignatureDoesNotRefresh(t *testing.T) {
	clk := fakeclock.New(epoch)
	iss := oidctest.NewIssuer(t, oidctest.WithClock(clk.Now))
	a := readyAuth(t, iss, clk)
	attacker, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	clk.Advance(authn.DefaultRefreshInterval) // a refresh would be allowed
	before := iss.JWKSHits()
	for range 20 {
		id, err := a.Authenticate(context.Background(), bearer(iss.Sign(userClaims(), oidctest.Alg("ES256"), oidctest.Key(attacker))))
		wantReason(t, id, err, authn.ReasonBadSignature)
	}
	if got := iss.JWKSHits() - before; got != 0 {
		t.Fatalf("forged signatures caused %d JWKS fetches", got)
	}
}
