package authn

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	jose "github.com/go-jose/go-jose/v4"

	"github.com/portcullis-gw/portcullis/analysis/jsonstrict"
)

// DefaultClockSkew is the leeway on exp, nbf and iat when an issuer sets none.
const DefaultClockSkew = 30 * time.Second

// asymmetricAlgs are the only algorithms ever accepted (RFC 7518 section 3.1
// minus HS* and none): a token's alg must also be one its issuer advertises.
var asymmetricAlgs = []string{
	oidc.RS256, oidc.RS384, oidc.RS512,
	oidc.PS256, oidc.PS384, oidc.PS512,
	oidc.ES256, oidc.ES384, oidc.ES512,
	oidc.EdDSA,
}

// issuer is one configured OIDC issuer. Its state is nil until discovery
// and the first JWKS fetch have succeeded.
type issuer struct {
	cfg             OIDC
	scopesClaim     string
	skew            time.Duration
	client          *http.Client
	now             func() time.Time
	log             *slog.Logger
	refreshInterval time.Duration

	state atomic.Pointer[issuerState]
	// lastErr is why the last setup attempt failed, for `check --online`.
	lastErr atomic.Pointer[error]
}

type issuerState struct {
	verifier *oidc.IDTokenVerifier
	algs     map[string]bool
}

func newIssuer(cfg OIDC, base *http.Client, o *options) (*issuer, error) {
	client, err := idpClient(base, cfg.CAFile)
	if err != nil {
		return nil, err
	}
	is := &issuer{
		cfg:             cfg,
		scopesClaim:     cfg.ScopesClaim,
		skew:            cfg.ClockSkew,
		client:          client,
		now:             o.now,
		log:             o.log.With("issuer", cfg.Issuer),
		refreshInterval: o.refreshInterval,
	}
	if is.scopesClaim == "" {
		is.scopesClaim = "scope"
	}
	if is.skew == 0 {
		is.skew = DefaultClockSkew
	}
	return is, nil
}

// idpClient copies the base client, trusting caFile in addition to the
// system roots, and refusing redirects that leave https.
func idpClient(base *http.Client, caFile string) (*http.Client, error) {
	c := *base
	if c.Timeout == 0 {
		c.Timeout = 10 * time.Second
	}
	c.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if len(via) >= 5 {
			return errors.New("too many redirects")
		}
		return checkIdPURL(req.URL.String())
	}
	if caFile == "" {
		return &c, nil
	}
	pem, err := os.ReadFile(caFile)
	if err != nil {
		return nil, fmt.Errorf("reading ca_file: %w", err)
	}
	pool, err := x509.SystemCertPool()
	if err != nil {
		pool = x509.NewCertPool()
	}
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("reading ca_file %q: no PEM certificate found", caFile)
	}
	var tr *http.Transport
	switch t := base.Transport.(type) {
	case nil:
		tr = http.DefaultTransport.(*http.Transport).Clone()
	case *http.Transport:
		tr = t.Clone()
	default:
		return nil, fmt.Errorf("ca_file needs an *http.Transport, the HTTP client has %T", t)
	}
	if tr.TLSClientConfig == nil {
		tr.TLSClientConfig = &tls.Config{MinVersion: tls.VersionTLS12}
	}
	tr.TLSClientConfig.RootCAs = pool
	c.Transport = tr
	return &c, nil
}

// setup runs discovery (unless jwks_url is configured) and the first JWKS
// fetch, then publishes a verifier.
func (is *issuer) setup(ctx context.Context) error {
	jwksURL := is.cfg.JWKSURL
	algs := asymmetricAlgs
	if jwksURL == "" {
		p, err := oidc.NewProvider(oidc.ClientContext(ctx, is.client), is.cfg.Issuer)
		if err != nil {
			return fmt.Errorf("discovering issuer: %w", err)
		}
		var meta struct {
			JWKSURI string   `json:"jwks_uri"`
			Algs    []string `json:"id_token_signing_alg_values_supported"`
		}
		if err := p.Claims(&meta); err != nil {
			return fmt.Errorf("decoding discovery document: %w", err)
		}
		if meta.JWKSURI == "" {
			return errors.New("discovery document has no jwks_uri")
		}
		jwksURL = meta.JWKSURI
		algs = nil
		for _, a := range meta.Algs {
			if slices.Contains(asymmetricAlgs, a) && !slices.Contains(algs, a) {
				algs = append(algs, a)
			}
		}
		if len(algs) == 0 {
			return fmt.Errorf("discovery advertises no asymmetric signing algorithm (got %v)", meta.Algs)
		}
	}
	if err := checkIdPURL(jwksURL); err != nil {
		return fmt.Errorf("jwks_uri: %w", err)
	}
	keys := &keySet{
		url:      jwksURL,
		client:   is.client,
		interval: is.refreshInterval,
		now:      is.now,
		log:      is.log,
	}
	for _, a := range algs {
		keys.algs = append(keys.algs, jose.SignatureAlgorithm(a))
	}
	if err := keys.prime(ctx); err != nil {
		return err
	}
	st := &issuerState{
		verifier: oidc.NewVerifier(is.cfg.Issuer, keys, &oidc.Config{
			SkipClientIDCheck:    true, // several audiences: checked below
			SkipExpiryCheck:      true, // go-oidc has no configurable skew: checked below
			SupportedSigningAlgs: algs,
			Now:                  is.now,
		}),
		algs: make(map[string]bool, len(algs)),
	}
	for _, a := range algs {
		st.algs[a] = true
	}
	is.state.Store(st)
	return nil
}

type joseHeader struct {
	Alg string `json:"alg"`
	Kid string `json:"kid"`
}

// peekToken reads the header and the issuer of a compact JWS without
// trusting them: they only choose the issuer whose keys must then verify it.
// Both are read strictly (analysis/jsonstrict, readClaims): a header or
// payload that two JSON readers could read differently is refused here,
// before any signature work, with ReasonInvalidClaims for the payload.
func peekToken(tok string) (joseHeader, string, error) {
	var h joseHeader
	hdr, rest, ok := strings.Cut(tok, ".")
	payload, sig, ok2 := strings.Cut(rest, ".")
	if !ok || !ok2 || strings.Contains(sig, ".") {
		return h, "", errors.New("token is not a compact JWS")
	}
	raw, err := base64.RawURLEncoding.DecodeString(hdr)
	if err != nil {
		return h, "", fmt.Errorf("decoding token header: %w", err)
	}
	if _, err := jsonstrict.Decode(raw, jsonstrict.Options{MaxDepth: 8}); err != nil {
		return h, "", fmt.Errorf("decoding token header: %w", err)
	}
	if err := json.Unmarshal(raw, &h); err != nil {
		return h, "", fmt.Errorf("decoding token header: %w", err)
	}
	raw, err = base64.RawURLEncoding.DecodeString(payload)
	if err != nil {
		return h, "", fmt.Errorf("decoding token payload: %w", err)
	}
	claims, err := readClaims(raw)
	if err != nil {
		return h, "", authErr(ReasonInvalidClaims, err)
	}
	iss, _ := claims["iss"].(string)
	return h, iss, nil
}

// verify checks signature, audience and times, and maps the claims. It
// returns the identity and the instant until which it may be cached.
func (is *issuer) verify(ctx context.Context, tok string, h joseHeader, now time.Time) (Identity, time.Time, error) {
	st := is.state.Load()
	if st == nil {
		return Identity{}, time.Time{}, authErr(ReasonIssuerUnavailable, errors.New("issuer discovery has not succeeded yet"))
	}
	if !st.algs[h.Alg] {
		return Identity{}, time.Time{}, authErr(ReasonUnsupportedAlg, fmt.Errorf("algorithm %q not accepted", h.Alg))
	}
	probe := &sigProbe{}
	t, err := st.verifier.Verify(context.WithValue(ctx, sigProbeKey{}, probe), tok)
	if err != nil {
		if probe.reason != "" {
			return Identity{}, time.Time{}, authErr(probe.reason, probe.err)
		}
		return Identity{}, time.Time{}, authErr(ReasonMalformed, err)
	}
	var claims map[string]any
	if err := t.Claims(&claims); err != nil {
		return Identity{}, time.Time{}, authErr(ReasonMalformed, fmt.Errorf("decoding claims: %w", err))
	}
	if !slices.ContainsFunc(t.Audience, func(a string) bool { return slices.Contains(is.cfg.Audiences, a) }) {
		return Identity{}, time.Time{}, authErr(ReasonWrongAudience, fmt.Errorf("audience %q not accepted", t.Audience))
	}
	// RFC 7519 section 4.1.4 makes exp optional; an access token without one
	// would be valid forever, so we refuse it.
	if t.Expiry.IsZero() {
		return Identity{}, time.Time{}, authErr(ReasonMalformed, errors.New("token has no exp"))
	}
	until := t.Expiry.Add(is.skew)
	if now.After(until) {
		return Identity{}, time.Time{}, authErr(ReasonExpired, fmt.Errorf("expired at %s", t.Expiry.UTC().Format(time.RFC3339)))
	}
	if v, ok := claims["nbf"]; ok {
		f, isNum := v.(float64)
		if !isNum {
			return Identity{}, time.Time{}, authErr(ReasonMalformed, errors.New("nbf is not a number"))
		}
		if nbf := unixFloat(f); now.Add(is.skew).Before(nbf) {
			return Identity{}, time.Time{}, authErr(ReasonNotYetValid, fmt.Errorf("not valid before %s", nbf.UTC().Format(time.RFC3339)))
		}
	}
	if !t.IssuedAt.IsZero() && now.Add(is.skew).Before(t.IssuedAt) {
		return Identity{}, time.Time{}, authErr(ReasonNotYetValid, fmt.Errorf("issued in the future at %s", t.IssuedAt.UTC().Format(time.RFC3339)))
	}
	if t.Subject == "" {
		return Identity{}, time.Time{}, authErr(ReasonMalformed, errors.New("token has no sub"))
	}
	id := Identity{Kind: KindJWT, Subject: t.Subject, Issuer: t.Issuer, Principal: JWTPrincipal(t.Issuer, t.Subject), Claims: claims}
	is.mapClaims(&id, claims)
	return id, until, nil
}

func unixFloat(f float64) time.Time {
	sec := int64(f)
	return time.Unix(sec, int64((f-float64(sec))*1e9))
}
