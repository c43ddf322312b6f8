package test

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

	"github.com/portcullis-gw/portcullis/policy/authn"
	"github.com/portcullis-gw/portcullis/policy/authn/oidctest"
	"github.com/portcullis-gw/portcullis/upstream/tlstest"
)

const (
	bdKey     = "boundary-key-3c1f9a"
	bdKeyName = "x"
)

// bdOps are the operations of testdata/boundary/schemes.yaml: one per
// security scheme type, and one that needs a token and a client
// certificate together.
var bdOps = []string{"/bearer", "/oauth2", "/oidc", "/apikey", "/mtls", "/basic", "/token-and-cert"}

// bdIdentityConfig is a gateway with two issuers, the API key "x" and the
// schemes document at /s; tlsBlock is an optional server.tls section.
func bdIdentityConfig(idpA, idpB *oidctest.Issuer, upURL, tlsBlock string) string {
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
`, tlsBlock, idpA.URL(), idpB.URL(), bdKeyName, sha256Hex(bdKey), upURL)
}

func bdStartIdentity(t *testing.T, idpA, idpB *oidctest.Issuer, tlsBlock string) (*proc, *rsUpstream) {
	t.Helper()
	up := rsStartUpstream(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusNoContent)
	}))
	cfg := writeConfig(t, bdIdentityConfig(idpA, idpB, up.srv.URL, tlsBlock))
	if err := os.CopyFS(filepath.Join(filepath.Dir(cfg), "boundary"), os.DirFS(filepath.Join("testdata", "boundary"))); err != nil {
		t.Fatal(err)
	}
	gw := startGateway(t, cfg)
	up.reset()
	return gw, up
}

// bdToken is a valid token of idp for sub with scope r.
func bdToken(idp *oidctest.Issuer, sub string) map[string]string {
	return map[string]string{"Authorization": "Bearer " + idp.Sign(map[string]any{"sub": sub, "aud": "shop-api", "scope": "r"})}
}

// bdGet sends GET url with hdr through c and reads the answer.
func bdGet(t *testing.T, c *http.Client, url string, hdr map[string]string) rlReply {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	rp, err := rlDo(c, req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	return rp
}

// bdMatrix sends each caller to each operation: the ones in allowed reach
// the upstream with the caller's principal in the subject header; every
// other one is refused with 403 FORBIDDEN (the caller is authenticated) and
// reaches nothing.
func bdMatrix(t *testing.T, c *http.Client, base string, up *rsUpstream, caller string, hdr map[string]string, principal string, allowed ...string) {
	t.Helper()
	for _, op := range bdOps {
		t.Run(caller+" "+op, func(t *testing.T) {
			up.reset()
			rp := bdGet(t, c, base+"/s"+op, hdr)
			got := up.got()
			if !contains(allowed, op) {
				rsWantProblem(t, rsReply(rp), http.StatusForbidden, "FORBIDDEN", nil)
				if len(got) != 0 {
					t.Fatalf("a refused request reached the upstream: %q", got)
				}
				return
			}
			if rp.status != http.StatusNoContent || len(got) != 1 || got[0] != "GET "+op {
				t.Fatalf("want the upstream to get GET %s, got %q and %v", op, got, rp)
			}
			if v := up.rec.Requests()[0].Header.Values("X-Portcullis-Subject"); len(v) != 1 || v[0] != principal {
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
		gw, up := bdStartIdentity(t, idpA, idpB, "")
		c := rlClient
		base := "http://" + gw.addr
		bdMatrix(t, c, base, up, "token", bdToken(idpA, "u1"), authn.JWTPrincipal(idpA.URL(), "u1"), "/bearer", "/oauth2", "/oidc")
		bdMatrix(t, c, base, up, "api key", map[string]string{"X-API-Key": bdKey}, "apikey:"+bdKeyName, "/apikey")
		// A token whose sub is the API key's principal is still a token.
		bdMatrix(t, c, base, up, "token posing as a key", bdToken(idpA, "apikey:"+bdKeyName), authn.JWTPrincipal(idpA.URL(), "apikey:"+bdKeyName), "/bearer", "/oauth2", "/oidc")
		for _, op := range bdOps {
			up.reset()
			rp := bdGet(t, c, base+"/s"+op, nil)
			rsWantProblem(t, rsReply(rp), http.StatusUnauthorized, "UNAUTHENTICATED", nil)
			if up.rec.Count() != 0 {
				t.Fatalf("anonymous %s reached the upstream", op)
			}
		}
	})

	t.Run("with client certificates", func(t *testing.T) {
		serverCA, clientCA := tlstest.NewCA(t), tlstest.NewCA(t)
		certFile, keyFile := serverCA.Issue(t, "127.0.0.1")
		gw, up := bdStartIdentity(t, idpA, idpB, fmt.Sprintf("  tls: {cert_file: %q, key_file: %q, client_ca_file: %q}", certFile, keyFile, clientCA.CertFile))
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
		base := "https://" + gw.addr
		bdMatrix(t, c, base, up, "client cert", nil, "mtls:CN=alice", "/mtls")
		bdMatrix(t, c, base, up, "client cert and token", bdToken(idpB, "u1"), authn.JWTPrincipal(idpB.URL(), "u1"),
			"/bearer", "/oauth2", "/oidc", "/mtls", "/token-and-cert")
		bdMatrix(t, c, base, up, "client cert and api key", map[string]string{"X-API-Key": bdKey}, "apikey:"+bdKeyName, "/apikey", "/mtls")
	})
}

// TestBoundaryCollidingSubjects: the same sub from two issuers, and a sub
// spelled like the API key's subject, are four callers with four budgets.
func TestBoundaryCollidingSubjects(t *testing.T) {
	idpA, idpB := oidctest.NewIssuer(t), oidctest.NewIssuer(t)
	gw, up := bdStartIdentity(t, idpA, idpB, "")
	callers := []struct {
		name, op  string
		hdr       map[string]string
		principal string
	}{
		{"issuer A sub u1", "/bearer", bdToken(idpA, "u1"), authn.JWTPrincipal(idpA.URL(), "u1")},
		{"issuer B sub u1", "/bearer", bdToken(idpB, "u1"), authn.JWTPrincipal(idpB.URL(), "u1")},
		{"api key x", "/apikey", map[string]string{"X-API-Key": bdKey}, "apikey:x"},
		{"issuer A sub apikey:x", "/bearer", bdToken(idpA, "apikey:x"), authn.JWTPrincipal(idpA.URL(), "apikey:x")},
		{"issuer B sub with a separator", "/bearer", bdToken(idpB, "u1#"+idpA.URL()), authn.JWTPrincipal(idpB.URL(), "u1#"+idpA.URL())},
	}
	// Each caller's first request finds a full bucket of its own: 10 - 1.
	for round, left := range []int{9, 8} {
		for _, c := range callers {
			t.Run(fmt.Sprintf("%s round %d", c.name, round), func(t *testing.T) {
				up.reset()
				rp := bdGet(t, rlClient, gw.url("/s"+c.op), c.hdr)
				if rp.status != http.StatusNoContent {
					t.Fatalf("%v", rp)
				}
				if h := rlParse(t, rp); h.tier != "default" || h.r != left {
					t.Fatalf("RateLimit r=%d in %q, want %d in default: the bucket is shared with another caller (%v)", h.r, h.tier, left, rp)
				}
				if v := up.rec.Requests()[0].Header.Get("X-Portcullis-Subject"); v != c.principal {
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
			gw.mu.Lock()
			access := gw.stdout.String()
			gw.mu.Unlock()
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
	gw, up := bdStartIdentity(t, idpA, idpB, "")
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
			up.reset()
			hdr := map[string]string{"Authorization": "Bearer " + idpA.Sign(nil, oidctest.RawPayload(c.payload))}
			rp := bdGet(t, rlClient, gw.url("/s/bearer"), hdr)
			rsWantProblem(t, rsReply(rp), http.StatusUnauthorized, "UNAUTHENTICATED", nil)
			if !strings.Contains(rp.header.Get("WWW-Authenticate"), `error="invalid_token"`) {
				t.Errorf("WWW-Authenticate %q lacks invalid_token", rp.header.Get("WWW-Authenticate"))
			}
			if up.rec.Count() != 0 {
				t.Fatal("a refused token reached the upstream")
			}
		})
	}
	t.Run("the exact token passes", func(t *testing.T) {
		up.reset()
		hdr := map[string]string{"Authorization": "Bearer " + idpA.Sign(nil, oidctest.RawPayload(payload(exp+`,"sub":"u1"`)))}
		rp := bdGet(t, rlClient, gw.url("/s/bearer"), hdr)
		if rp.status != http.StatusNoContent || up.rec.Count() != 1 {
			t.Fatalf("%v", rp)
		}
	})
	// The refusals are logged with their reason (the client sees only 401).
	gw.waitLog(t, `invalid_claims`)
}
