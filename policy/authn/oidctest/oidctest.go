// Package oidctest runs a real OIDC issuer over HTTP for tests: discovery,
// a JWKS with RSA, EC (P-256) and Ed25519 keys, token signing (including
// the malformed and forged tokens attack tests need), key rotation and an
// outage switch.
package oidctest

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

// Issuer is a test OIDC issuer. Its methods are safe for concurrent use.
type Issuer struct {
	t   testing.TB
	srv *httptest.Server
	now func() time.Time

	mu    sync.Mutex
	algs  []string
	gen   int
	rsa   *rsa.PrivateKey
	ec    *ecdsa.PrivateKey
	ed    ed25519.PrivateKey
	down  bool
	kids  map[string]string // alg family ("rsa", "ec", "ed") -> current kid
	extra []jose.JSONWebKey

	jwksHits      atomic.Int64
	discoveryHits atomic.Int64
}

// Option configures NewIssuer.
type Option func(*issuerConfig)

type issuerConfig struct {
	now  func() time.Time
	algs []string
	tls  bool
}

// WithClock sets the clock used for default iat and exp claims.
func WithClock(now func() time.Time) Option { return func(c *issuerConfig) { c.now = now } }

// WithAdvertisedAlgs sets id_token_signing_alg_values_supported in the
// discovery document (default RS256, PS256, ES256, EdDSA).
func WithAdvertisedAlgs(algs ...string) Option {
	return func(c *issuerConfig) { c.algs = algs }
}

// WithTLS serves over HTTPS with httptest's self-signed certificate; see
// CAFile.
func WithTLS() Option { return func(c *issuerConfig) { c.tls = true } }

// NewIssuer starts an issuer; it stops when the test ends.
func NewIssuer(t testing.TB, opts ...Option) *Issuer {
	t.Helper()
	cfg := issuerConfig{now: time.Now, algs: []string{"RS256", "PS256", "ES256", "EdDSA"}}
	for _, o := range opts {
		o(&cfg)
	}
	is := &Issuer{t: t, now: cfg.now, algs: cfg.algs}
	is.newKeys()
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/openid-configuration", is.serveDiscovery)
	mux.HandleFunc("GET /jwks", is.serveJWKS)
	is.srv = httptest.NewUnstartedServer(is.guard(mux))
	// Clients that refuse the test certificate are what some tests expect.
	is.srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	if cfg.tls {
		is.srv.StartTLS()
	} else {
		is.srv.Start()
	}
	t.Cleanup(is.srv.Close)
	return is
}

// URL is the issuer identifier (the iss claim) and the discovery base.
func (is *Issuer) URL() string { return is.srv.URL }

// JWKSURL is where the key set is served.
func (is *Issuer) JWKSURL() string { return is.srv.URL + "/jwks" }

// CAFile writes the TLS server's certificate to a PEM file and returns its
// path (WithTLS only).
func (is *Issuer) CAFile() string {
	is.t.Helper()
	cert := is.srv.Certificate()
	if cert == nil {
		is.t.Fatal("oidctest: CAFile needs WithTLS")
	}
	path := filepath.Join(is.t.TempDir(), "idp-ca.pem")
	data := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Raw})
	if err := os.WriteFile(path, data, 0o600); err != nil {
		is.t.Fatalf("oidctest: writing CA file: %v", err)
	}
	return path
}

// JWKSHits counts JWKS requests received, including those refused while down.
func (is *Issuer) JWKSHits() int { return int(is.jwksHits.Load()) }

// DiscoveryHits counts discovery requests received.
func (is *Issuer) DiscoveryHits() int { return int(is.discoveryHits.Load()) }

// SetDown makes every endpoint answer 503 (true) or serve again (false).
func (is *Issuer) SetDown(down bool) {
	is.mu.Lock()
	is.down = down
	is.mu.Unlock()
}

// Rotate replaces every signing key with a new one under a new kid; the old
// keys leave the JWKS.
func (is *Issuer) Rotate() {
	is.mu.Lock()
	defer is.mu.Unlock()
	is.newKeysLocked()
}

// KeyID is the current kid of the key that signs alg (RS*/PS*, ES256, EdDSA).
func (is *Issuer) KeyID(alg string) string {
	is.mu.Lock()
	defer is.mu.Unlock()
	return is.kids[family(alg)]
}

// RSAPublicKeyPEM is the current RSA public key as PEM, the "secret" of the
// HS256 key-confusion attack.
func (is *Issuer) RSAPublicKeyPEM() []byte {
	is.mu.Lock()
	defer is.mu.Unlock()
	der, err := x509.MarshalPKIXPublicKey(&is.rsa.PublicKey)
	if err != nil {
		is.t.Fatalf("oidctest: marshalling public key: %v", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
}

// PublishKey adds a foreign public key to the JWKS under kid, e.g. to show
// that a key published by one issuer does not verify another's tokens.
func (is *Issuer) PublishKey(kid string, pub crypto.PublicKey) {
	is.mu.Lock()
	defer is.mu.Unlock()
	is.extra = append(is.extra, jose.JSONWebKey{Key: pub, KeyID: kid, Use: "sig"})
}

func (is *Issuer) newKeys() {
	is.mu.Lock()
	defer is.mu.Unlock()
	is.newKeysLocked()
}

func (is *Issuer) newKeysLocked() {
	is.t.Helper()
	var err error
	if is.rsa, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
		is.t.Fatalf("oidctest: generating RSA key: %v", err)
	}
	if is.ec, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader); err != nil {
		is.t.Fatalf("oidctest: generating EC key: %v", err)
	}
	if _, is.ed, err = ed25519.GenerateKey(rand.Reader); err != nil {
		is.t.Fatalf("oidctest: generating Ed25519 key: %v", err)
	}
	is.gen++
	is.kids = map[string]string{}
	for _, f := range []string{"rsa", "ec", "ed"} {
		is.kids[f] = f + "-" + strconv.Itoa(is.gen)
	}
}

func (is *Issuer) guard(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/jwks":
			is.jwksHits.Add(1)
		case "/.well-known/openid-configuration":
			is.discoveryHits.Add(1)
		}
		is.mu.Lock()
		down := is.down
		is.mu.Unlock()
		if down {
			http.Error(w, "identity provider down", http.StatusServiceUnavailable)
			return
		}
		next.ServeHTTP(w, r)
	})
}

func (is *Issuer) serveDiscovery(w http.ResponseWriter, _ *http.Request) {
	is.mu.Lock()
	algs := is.algs
	is.mu.Unlock()
	writeJSON(w, map[string]any{
		"issuer":                                is.URL(),
		"jwks_uri":                              is.JWKSURL(),
		"authorization_endpoint":                is.URL() + "/authorize",
		"token_endpoint":                        is.URL() + "/token",
		"response_types_supported":              []string{"code"},
		"subject_types_supported":               []string{"public"},
		"id_token_signing_alg_values_supported": algs,
	})
}

func (is *Issuer) serveJWKS(w http.ResponseWriter, _ *http.Request) {
	is.mu.Lock()
	set := jose.JSONWebKeySet{Keys: []jose.JSONWebKey{
		{Key: &is.rsa.PublicKey, KeyID: is.kids["rsa"], Use: "sig"},
		{Key: &is.ec.PublicKey, KeyID: is.kids["ec"], Use: "sig", Algorithm: "ES256"},
		{Key: is.ed.Public(), KeyID: is.kids["ed"], Use: "sig", Algorithm: "EdDSA"},
	}}
	set.Keys = append(set.Keys, is.extra...)
	is.mu.Unlock()
	writeJSON(w, set)
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}
