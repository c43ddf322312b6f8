package oidctest

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"maps"
	"strings"
	"time"
)

// SignOption changes how Sign builds a token.
type SignOption func(*signConfig)

type signConfig struct {
	alg     string
	kid     *string
	key     crypto.Signer
	expired bool
	header  map[string]any
	raw     *string
}

// Alg sets the algorithm (default RS256): RS*/PS* sign with the RSA key,
// ES256 with the EC key, EdDSA with the Ed25519 key, HS* with the RSA
// public key PEM as secret (the key-confusion attack), and "none" leaves the
// signature empty.
func Alg(alg string) SignOption { return func(c *signConfig) { c.alg = alg } }

// Kid sets the kid header; "" omits it. Default: the current kid of the key
// used.
func Kid(kid string) SignOption { return func(c *signConfig) { c.kid = &kid } }

// Key signs with a foreign key (an attacker's) instead of the issuer's.
func Key(k crypto.Signer) SignOption { return func(c *signConfig) { c.key = k } }

// Expired makes the default exp an hour ago (and iat two hours ago).
func Expired() SignOption { return func(c *signConfig) { c.expired = true } }

// RawPayload signs payload exactly as given instead of the JSON of the
// claims, so tests can send what a map cannot hold: duplicate names, names
// in another case, claims of the wrong JSON type.
func RawPayload(payload string) SignOption {
	return func(c *signConfig) { c.raw = &payload }
}

// Header adds a header parameter, such as jku, x5u or jwk.
func Header(name string, value any) SignOption {
	return func(c *signConfig) {
		if c.header == nil {
			c.header = map[string]any{}
		}
		c.header[name] = value
	}
}

// Sign returns a compact JWS over claims. iss (the issuer URL), iat (now)
// and exp (now + 1h) are added unless claims sets them; a claim set to nil
// is left out.
func (is *Issuer) Sign(claims map[string]any, opts ...SignOption) string {
	is.t.Helper()
	c := signConfig{alg: "RS256"}
	for _, o := range opts {
		o(&c)
	}
	now := is.now()
	payload := map[string]any{
		"iss": is.URL(),
		"iat": now.Unix(),
		"exp": now.Add(time.Hour).Unix(),
	}
	if c.expired {
		payload["iat"] = now.Add(-2 * time.Hour).Unix()
		payload["exp"] = now.Add(-time.Hour).Unix()
	}
	maps.Copy(payload, claims)
	for k, v := range payload {
		if v == nil {
			delete(payload, k)
		}
	}

	var secret []byte
	if strings.HasPrefix(c.alg, "HS") {
		secret = is.RSAPublicKeyPEM()
	}
	is.mu.Lock()
	key, kid := is.keyFor(c.alg)
	is.mu.Unlock()
	if c.key != nil {
		key = c.key
	}
	if c.kid != nil {
		kid = *c.kid
	}

	header := map[string]any{"alg": c.alg, "typ": "JWT"}
	if kid != "" {
		header["kid"] = kid
	}
	maps.Copy(header, c.header)
	body := mustJSON(is, payload)
	if c.raw != nil {
		body = []byte(*c.raw)
	}
	input := b64(mustJSON(is, header)) + "." + b64(body)
	sig, err := sign(c.alg, key, secret, []byte(input))
	if err != nil {
		is.t.Fatalf("oidctest: signing %s token: %v", c.alg, err)
	}
	return input + "." + b64(sig)
}

// keyFor picks the issuer key and kid for alg; the caller holds is.mu.
func (is *Issuer) keyFor(alg string) (crypto.Signer, string) {
	switch family(alg) {
	case "ec":
		return is.ec, is.kids["ec"]
	case "ed":
		return is.ed, is.kids["ed"]
	case "rsa":
		return is.rsa, is.kids["rsa"]
	}
	return nil, ""
}

func family(alg string) string {
	switch {
	case strings.HasPrefix(alg, "RS"), strings.HasPrefix(alg, "PS"):
		return "rsa"
	case strings.HasPrefix(alg, "ES"):
		return "ec"
	case alg == "EdDSA":
		return "ed"
	}
	return ""
}

func sign(alg string, key crypto.Signer, secret, input []byte) ([]byte, error) {
	if strings.EqualFold(alg, "none") {
		return nil, nil
	}
	h := crypto.SHA256
	switch {
	case strings.HasSuffix(alg, "384"):
		h = crypto.SHA384
	case strings.HasSuffix(alg, "512"):
		h = crypto.SHA512
	}
	if strings.HasPrefix(alg, "HS") {
		m := hmac.New(h.New, secret)
		m.Write(input)
		return m.Sum(nil), nil
	}
	if alg == "EdDSA" {
		k, ok := key.(ed25519.PrivateKey)
		if !ok {
			return nil, errKeyType
		}
		return ed25519.Sign(k, input), nil
	}
	d := h.New()
	d.Write(input)
	digest := d.Sum(nil)
	switch k := key.(type) {
	case *rsa.PrivateKey:
		if strings.HasPrefix(alg, "PS") {
			return rsa.SignPSS(rand.Reader, k, h, digest, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash})
		}
		return rsa.SignPKCS1v15(rand.Reader, k, h, digest)
	case *ecdsa.PrivateKey:
		r, s, err := ecdsa.Sign(rand.Reader, k, digest)
		if err != nil {
			return nil, err
		}
		// RFC 7518 section 3.4: R and S as fixed-size big-endian integers.
		size := (k.Curve.Params().BitSize + 7) / 8
		out := make([]byte, 2*size)
		r.FillBytes(out[:size])
		s.FillBytes(out[size:])
		return out, nil
	}
	return nil, errKeyType
}

var errKeyType = errors.New("key type does not match the algorithm")

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

func mustJSON(is *Issuer, v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		is.t.Fatalf("oidctest: encoding token part: %v", err)
	}
	return b
}
