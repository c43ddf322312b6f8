package oidctest_test

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/portcullis-gw/portcullis/policy/authn/oidctest"
)

func getJSON(t *testing.T, url string, v any) int {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusOK {
		if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
			t.Fatal(err)
		}
	}
	return resp.StatusCode
}

func kids(t *testing.T, is *oidctest.Issuer) []string {
	t.Helper()
	var set struct {
		Keys []struct {
			Kid string `json:"kid"`
		} `json:"keys"`
	}
	if code := getJSON(t, is.JWKSURL(), &set); code != http.StatusOK {
		t.Fatalf("jwks status %d", code)
	}
	var out []string
	for _, k := range set.Keys {
		out = append(out, k.Kid)
	}
	return out
}

func TestIssuerServesDiscoveryAndJWKS(t *testing.T) {
	is := oidctest.NewIssuer(t)
	var doc map[string]any
	if code := getJSON(t, is.URL()+"/.well-known/openid-configuration", &doc); code != http.StatusOK {
		t.Fatalf("discovery status %d", code)
	}
	if doc["issuer"] != is.URL() || doc["jwks_uri"] != is.JWKSURL() {
		t.Fatalf("discovery = %v", doc)
	}
	before := kids(t, is)
	if !slices.Contains(before, is.KeyID("RS256")) || !slices.Contains(before, is.KeyID("ES256")) {
		t.Fatalf("jwks kids %v lack the signing keys", before)
	}
	is.Rotate()
	after := kids(t, is)
	for _, k := range before {
		if slices.Contains(after, k) {
			t.Fatalf("rotated-out kid %q still published", k)
		}
	}
	if is.JWKSHits() != 2 || is.DiscoveryHits() != 1 {
		t.Fatalf("hits jwks=%d discovery=%d", is.JWKSHits(), is.DiscoveryHits())
	}
	is.SetDown(true)
	if code := getJSON(t, is.JWKSURL(), &doc); code != http.StatusServiceUnavailable {
		t.Fatalf("down issuer answered %d", code)
	}
}

func TestSignDefaultsAndOptions(t *testing.T) {
	is := oidctest.NewIssuer(t)
	tok := is.Sign(map[string]any{"sub": "u", "iat": nil}, oidctest.Alg("none"), oidctest.Kid(""), oidctest.Header("jku", "https://x"))
	parts := strings.Split(tok, ".")
	if len(parts) != 3 || parts[2] != "" {
		t.Fatalf("none token = %q", tok)
	}
	var hdr, claims map[string]any
	for i, v := range []*map[string]any{&hdr, &claims} {
		raw, err := base64.RawURLEncoding.DecodeString(parts[i])
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(raw, v); err != nil {
			t.Fatal(err)
		}
	}
	if hdr["alg"] != "none" || hdr["jku"] != "https://x" || hdr["kid"] != nil {
		t.Fatalf("header = %v", hdr)
	}
	if claims["iss"] != is.URL() || claims["exp"] == nil || claims["iat"] != nil || claims["sub"] != "u" {
		t.Fatalf("claims = %v", claims)
	}
}
