package boundary

// Credential kinds and subject names, and claims read exactly
// (docs/security.md), through the gateway binary with real OIDC issuers
// (policy/authn/oidctest), real TLS client certificates and a recording
// upstream.

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/portcullis-gw/portcullis/internal/testkit/gatewaytest"
	"github.com/portcullis-gw/portcullis/internal/testkit/upstreamtest"
	"github.com/portcullis-gw/portcullis/policy/authn"
	"github.com/portcullis-gw/portcullis/policy/authn/oidctest"
	"github.com/portcullis-gw/portcullis/upstream/tlstest"
)

const (
	keyHeader = "boundary-key-3c1f9a"
	keyName   = "x"
)

// ops are the operations of testdata/boundary/schemes.yaml: one per
// security scheme type, and one that needs a token and a client
// certificate together.
var ops = []string{"/bearer", "/oauth2", "/oidc", "/apikey", "/mtls", "/basic", "/token-and-cert"}

// identityConfig is a gateway with two issuers, the API key "x" and the
// schemes document at /s; tlsBlock is an optional server.tls section.
func identityConfig(idpA, idpB *oidctest.Issuer, upURL, tlsBlock string) string {
	return fmt.Sprintf(`
server:
  listen: 127.0.0.1:0
  admin_listen: 127.0.0.1:0
%s
identity:
  anonymous: true
  oidc:
    - {issuer: %q, audiences: [shop-api]}
    - {issuer: %q, audiences: [shop-api]}
  api_keys:
    - {name: %s, sha256: %s, scopes: [r]}
rate_limit:
  tiers:
    anonymous: {rate: 1, per: 1h, burst: 1000}
    default: {rate: 1, per: 1h, burst: 10}
  auth_failures: {rate: 1, per: 1h, burst: 1000}
rest:
  - name: schemes
    prefix: /s
    openapi: boundary/schemes.yaml
    upstream: {url: %q, timeout: 5s}
    strip_prefix: true
`, tlsBlock, idpA.URL(), idpB.URL(), keyName, gatewaytest.KeyHash(keyHeader), upURL)
}

func startIdentity(t *testing.T, idpA, idpB *oidctest.Issuer, tlsBlock string) (*gatewaytest.Gateway, *upstreamtest.Server) {
	t.Helper()
	up := upstreamtest.Start(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusNoContent)
	}))
	cfg := gatewaytest.WriteConfig(t, identityConfig(idpA, idpB, up.URL, tlsBlock))
	if err := os.CopyFS(filepath.Join(filepath.Dir(cfg), "boundary"), os.DirFS(filepath.Join("..", "testdata", "boundary"))); err != nil {
		t.Fatal(err)
	}
	gw := gatewaytest.Start(t, cfg)
	up.Reset()
	return gw, up
}

// bearerFor is a valid token of idp for sub with scope r.
func bearerFor(idp *oidctest.Issuer, sub string) map[string]string {
	return map[string]string{"Authorization": "Bearer " + idp.Sign(map[string]any{"sub": sub, "aud": "shop-api", "scope": "r"})}
}

// getWith sends GET url with hdr through c and reads the answer.
func getWith(t *testing.T, c *http.Client, url string, hdr map[string]string) gatewaytest.Reply {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	rp, err := gatewaytest.Do(c, req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	return rp
}

// matrix sends each caller to each operation: the ones in allowed reach
// the upstream with the caller's principal in the subject header; every
// other one is refused with 403 FORBIDDEN (the caller is authenticated) and
// reaches nothing.
func matrix(t *testing.T, c *http.Client, base string, up *upstreamtest.Server, caller string, hdr map[string]string, principal string, allowed ...string) {
	t.Helper()
	for _, op := range ops {
		t.Run(caller+" "+op, func(t *testing.T) {
			up.Reset()
			rp := getWith(t, c, base+"/s"+op, hdr)
			got := up.Lines()
			if !contains(allowed, op) {
				gatewaytest.WantProblem(t, gatewaytest.Reply(rp), http.StatusForbidden, "FORBIDDEN", nil)
				if len(got) != 0 {
					t.Fatalf("a refused request reached the upstream: %q", got)
				}
				return
			}
			if rp.Status != http.StatusNoContent || len(got) != 1 || got[0] != "GET "+op {
				t.Fatalf("want the upstream to get GET %s, got %q and %v", op, got, rp)
			}
			if v := up.Requests()[0].Header.Values("X-Portcullis-Subject"); len(v) != 1 || v[0] != principal {
				t.Fatalf("upstream subject %q, want %q", v, principal)
			}
		})
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// TestBoundaryCredentialKinds: each credential kind against each security
// scheme type; only the kind a scheme names satisfies it.
func TestBoundaryCredentialKinds(t *testing.T) {
	idpA, idpB := oidctest.NewIssuer(t), oidctest.NewIssuer(t)

	t.Run("without TLS", func(t *testing.T) {
		gw, up := startIdentity(t, idpA, idpB, "")
		c := gatewaytest.StoreClient
		base := "http://" + gw.Addr()
		matrix(t, c, base, up, "token", bearerFor(idpA, "u1"), authn.JWTPrincipal(idpA.URL(), "u1"), "/bearer", "/oauth2", "/oidc")
		matrix(t, c, base, up, "api key", map[string]string{"X-API-Key": keyHeader}, "apikey:"+keyName, "/apikey")
		// A token whose sub is the API key's principal is still a token.
		matrix(t, c, base, up, "token posing as a key", bearerFor(idpA, "apikey:"+keyName), authn.JWTPrincipal(idpA.URL(), "apikey:"+keyName), "/bearer", "/oauth2", "/oidc")
		for _, op := range ops {
			up.Reset()
			rp := getWith(t, c, base+"/s"+op, nil)
			gatewaytest.WantProblem(t, gatewaytest.Reply(rp), http.StatusUnauthorized, "UNAUTHENTICATED", nil)
			if up.Count() != 0 {
				t.Fatalf("anonymous %s reached the upstream", op)
			}
		}
	})

	t.Run("with client certificates", func(t *testing.T) {
		serverCA, clientCA := tlstest.NewCA(t), tlstest.NewCA(t)
		certFile, keyFile := serverCA.Issue(t, "127.0.0.1")
		gw, up := startIdentity(t, idpA, idpB, fmt.Sprintf("  tls: {cert_file: %q, key_file: %q, client_ca_file: %q}", certFile, keyFile, clientCA.CertFile))
		cc, ck := clientCA.IssueClient(t, "alice")
		pair, err := tls.LoadX509KeyPair(cc, ck)
		if err != nil {
			t.Fatal(err)
		}
		roots := x509.NewCertPool()
		roots.AddCert(serverCA.Cert)
		c := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
			TLSClientConfig: &tls.Config{RootCAs: roots, Certificates: []tls.Certificate{pair}},
		}}
		base := "https://" + gw.Addr()
		matrix(t, c, base, up, "client cert", nil, "mtls:CN=alice", "/mtls")
		matrix(t, c, base, up, "client cert and token", bearerFor(idpB, "u1"), authn.JWTPrincipal(idpB.URL(), "u1"),
			"/bearer", "/oauth2", "/oidc", "/mtls", "/token-and-cert")
		matrix(t, c, base, up, "client cert and api key", map[string]string{"X-API-Key": keyHeader}, "apikey:"+keyName, "/apikey", "/mtls")
	})
}

// TestBoundaryCollidingSubjects: the same sub from two issuers, and a sub
// spelled like the API key's subject, are four callers with four budgets.
func TestBoundaryCollidingSubjects(t *testing.T) {
	idpA, idpB := oidctest.NewIssuer(t), oidctest.NewIssuer(t)
	gw, up := startIdentity(t, idpA, idpB, "")
	callers := []struct {
		name, op  string
		hdr       map[string]string
		principal string
	}{
		{"issuer A sub u1", "/bearer", bearerFor(idpA, "u1"), authn.JWTPrincipal(idpA.URL(), "u1")},
		{"issuer B sub u1", "/bearer", bearerFor(idpB, "u1"), authn.JWTPrincipal(idpB.URL(), "u1")},
		{"api key x", "/apikey", map[string]string{"X-API-Key": keyHeader}, "apikey:x"},
		{"issuer A sub apikey:x", "/bearer", bearerFor(idpA, "apikey:x"), authn.JWTPrincipal(idpA.URL(), "apikey:x")},
		{"issuer B sub with a separator", "/bearer", bearerFor(idpB, "u1#"+idpA.URL()), authn.JWTPrincipal(idpB.URL(), "u1#"+idpA.URL())},
	}
	// Each caller's first request finds a full bucket of its own: 10 - 1.
	for round, left := range []int{9, 8} {
		for _, c := range callers {
			t.Run(fmt.Sprintf("%s round %d", c.name, round), func(t *testing.T) {
				up.Reset()
				rp := getWith(t, gatewaytest.StoreClient, gw.URL("/s"+c.op), c.hdr)
				if rp.Status != http.StatusNoContent {
					t.Fatalf("%v", rp)
				}
				if h := gatewaytest.ParseRateLimit(t, rp); h.Tier != "default" || h.R != left {
					t.Fatalf("RateLimit r=%d in %q, want %d in default: the bucket is shared with another caller (%v)", h.R, h.Tier, left, rp)
				}
				if v := up.Requests()[0].Header.Get("X-Portcullis-Subject"); v != c.principal {
					t.Fatalf("upstream subject %q, want %q", v, c.principal)
				}
			})
		}
	}
	// The access log names each caller by its principal too. It is read
	// from the gateway's stdout asynchronously: wait for the last lines.
	for _, c := range callers {
		want, _ := json.Marshal(c.principal)
		deadline := time.Now().Add(20 * time.Second)
		for {
			access := gw.AccessLog()
			n := strings.Count(access, `"subject":`+string(want))
			if n == 2 {
				break
			}
			if n > 2 || time.Now().After(deadline) {
				t.Fatalf("access log names %s %d times, want 2:\n%s", want, n, access)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
}

// TestBoundaryClaimsReadExactly: tokens signed by the real issuer whose
// payload another JSON reader would read differently are 401, and reach
// nothing.
func TestBoundaryClaimsReadExactly(t *testing.T) {
	idpA, idpB := oidctest.NewIssuer(t), oidctest.NewIssuer(t)
	gw, up := startIdentity(t, idpA, idpB, "")
	now := time.Now().Unix()
	payload := func(members string) string {
		return fmt.Sprintf(`{"iss":%q,"aud":"shop-api","scope":"r","iat":%d,%s}`, idpA.URL(), now, members)
	}
	exp := fmt.Sprintf(`"exp":%d`, now+3600)
	for _, c := range []struct{ name, payload string }{
		{"Sub beside sub", payload(exp + `,"sub":"u1","Sub":"admin"`)},
		{"Sub alone", payload(exp + `,"Sub":"admin"`)},
		{"duplicate sub", payload(exp + `,"sub":"u1","sub":"admin"`)},
		{"Exp beside exp", payload(exp + fmt.Sprintf(`,"Exp":%d,"sub":"u1"`, now+86400*3650))},
		{"string exp", payload(fmt.Sprintf(`"exp":"%d","sub":"u1"`, now+3600))},
		{"string nbf", payload(exp + fmt.Sprintf(`,"nbf":"%d","sub":"u1"`, now))},
		{"numeric sub", payload(exp + `,"sub":1`)},
		{"aud of numbers", fmt.Sprintf(`{"iss":%q,"aud":[1],"iat":%d,%s,"sub":"u1"}`, idpA.URL(), now, exp)},
		{"case-colliding scope claims", payload(exp + `,"sub":"u1","Scope":"admin"`)},
	} {
		t.Run(c.name, func(t *testing.T) {
			up.Reset()
			hdr := map[string]string{"Authorization": "Bearer " + idpA.Sign(nil, oidctest.RawPayload(c.payload))}
			rp := getWith(t, gatewaytest.StoreClient, gw.URL("/s/bearer"), hdr)
			gatewaytest.WantProblem(t, gatewaytest.Reply(rp), http.StatusUnauthorized, "UNAUTHENTICATED", nil)
			if !strings.Contains(rp.Header.Get("WWW-Authenticate"), `error="invalid_token"`) {
				t.Errorf("WWW-Authenticate %q lacks invalid_token", rp.Header.Get("WWW-Authenticate"))
			}
			if up.Count() != 0 {
				t.Fatal("a refused token reached the upstream")
			}
		})
	}
	t.Run("the exact token passes", func(t *testing.T) {
		up.Reset()
		hdr := map[string]string{"Authorization": "Bearer " + idpA.Sign(nil, oidctest.RawPayload(payload(exp+`,"sub":"u1"`)))}
		rp := getWith(t, gatewaytest.StoreClient, gw.URL("/s/bearer"), hdr)
		if rp.Status != http.StatusNoContent || up.Count() != 1 {
			t.Fatalf("%v", rp)
		}
	})
	// The refusals are logged with their reason (the client sees only 401).
	gw.WaitLog(t, `invalid_claims`)
}
