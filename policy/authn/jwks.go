package authn

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

// DefaultRefreshInterval is the least time between two JWKS fetches of one
// issuer triggered by tokens.
const DefaultRefreshInterval = 10 * time.Second

// maxJWKSBytes bounds what we read from an IdP.
const maxJWKSBytes = 1 << 20

// keySet is the oidc.KeySet each issuer's IDTokenVerifier checks signatures
// with: the issuer's JWKS, refreshed when a token names a kid it lacks, at
// most once per interval.
//
// It replaces go-oidc's RemoteKeySet, which could not be wrapped into what
// the docs/ pages asks: RemoteKeySet fetches again on every signature that fails with
// the cached keys (an unknown kid, but also a known kid with a forged
// signature), deduplicating only fetches that overlap in time; it has no hook
// to limit that; a lookup arriving just as a fetch ends may reuse that
// fetch's stale result; and its errors reach the caller flattened by %v, so a
// bad signature cannot be told from an unknown key. Here a known kid never
// causes a fetch, an unknown one causes at most one per interval, a failed
// fetch keeps the keys we had (the IdP may go down after start), and the
// outcome is reported to the caller through sigProbe.
type keySet struct {
	url      string
	client   *http.Client
	interval time.Duration
	now      func() time.Time
	log      *slog.Logger
	algs     []jose.SignatureAlgorithm

	fetchMu     sync.Mutex // serialises fetches
	lastAttempt time.Time  // guarded by fetchMu

	keys atomic.Pointer[jwks]
}

type jwks struct {
	all   []jose.JSONWebKey
	byKid map[string][]jose.JSONWebKey
}

// sigProbe carries the signature check's outcome past go-oidc, which
// flattens the KeySet's error.
type sigProbe struct {
	reason string
	err    error
}

type sigProbeKey struct{}

// VerifySignature implements oidc.KeySet.
func (k *keySet) VerifySignature(ctx context.Context, token string) ([]byte, error) {
	payload, reason, err := k.verify(ctx, token)
	if p, ok := ctx.Value(sigProbeKey{}).(*sigProbe); ok {
		p.reason, p.err = reason, err
	}
	return payload, err
}

func (k *keySet) verify(ctx context.Context, token string) ([]byte, string, error) {
	jws, err := jose.ParseSignedCompact(token, k.algs)
	if err != nil {
		return nil, ReasonMalformed, fmt.Errorf("parsing token: %w", err)
	}
	if len(jws.Signatures) != 1 {
		return nil, ReasonMalformed, errors.New("token must carry exactly one signature")
	}
	kid := jws.Signatures[0].Header.KeyID
	payload, known, err := k.try(jws, kid)
	if err == nil {
		return payload, "", nil
	}
	if known && kid != "" {
		// The IdP's key for this kid did not verify it: a forgery, not a
		// rotation, so no fetch.
		return nil, ReasonBadSignature, err
	}
	// The kid (or, without a kid, any key that verifies) may have been
	// rotated in since our last fetch (OpenID Connect Core 1.0 section 10.1.1).
	k.refresh(ctx)
	payload, known, err = k.try(jws, kid)
	switch {
	case err == nil:
		return payload, "", nil
	case !known:
		return nil, ReasonUnknownKey, fmt.Errorf("kid %q not in the issuer's key set", kid)
	}
	return nil, ReasonBadSignature, err
}

// try verifies with the keys named kid (all keys when kid is empty); known
// reports whether there were any.
func (k *keySet) try(jws *jose.JSONWebSignature, kid string) (payload []byte, known bool, err error) {
	set := k.keys.Load()
	if set == nil {
		return nil, false, errors.New("no keys loaded")
	}
	cands := set.all
	if kid != "" {
		cands = set.byKid[kid]
	}
	for i := range cands {
		if payload, err := jws.Verify(&cands[i]); err == nil {
			return payload, true, nil
		}
	}
	return nil, len(cands) > 0, errors.New("signature does not verify with the issuer's keys")
}

// refresh fetches the JWKS unless a fetch was attempted less than an
// interval ago. A failed fetch keeps the current keys.
func (k *keySet) refresh(ctx context.Context) {
	k.fetchMu.Lock()
	defer k.fetchMu.Unlock()
	now := k.now()
	if !k.lastAttempt.IsZero() && now.Sub(k.lastAttempt) < k.interval {
		k.log.Debug("jwks refresh rate limited", "jwks_url", k.url)
		return
	}
	k.lastAttempt = now
	// A client that gives up must not abort the fetch other requests need.
	if err := k.fetchLocked(context.WithoutCancel(ctx)); err != nil {
		k.log.Warn("refreshing jwks failed; keeping cached keys", "jwks_url", k.url, "error", err)
	}
}

// prime fetches regardless of the interval (the caller's retry backoff
// bounds it) and counts as the latest attempt.
func (k *keySet) prime(ctx context.Context) error {
	k.fetchMu.Lock()
	defer k.fetchMu.Unlock()
	k.lastAttempt = k.now()
	return k.fetchLocked(ctx)
}

func (k *keySet) fetchLocked(ctx context.Context) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, k.url, nil)
	if err != nil {
		return fmt.Errorf("building jwks request: %w", err)
	}
	req.Header.Set("Accept", "application/json")
	resp, err := k.client.Do(req)
	if err != nil {
		return fmt.Errorf("fetching jwks: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("fetching jwks: status %s", resp.Status)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxJWKSBytes+1))
	if err != nil {
		return fmt.Errorf("reading jwks: %w", err)
	}
	if len(body) > maxJWKSBytes {
		return errors.New("reading jwks: document too large")
	}
	set, err := k.parse(body)
	if err != nil {
		return err
	}
	k.keys.Store(set)
	return nil
}

// parse keeps the public signing keys usable with our algorithms. Keys of a
// type or algorithm we do not know are skipped rather than failing the set
// (RFC 7517 section 5: "implementations SHOULD ignore JWKs ... not
// understood"); symmetric keys are never kept.
func (k *keySet) parse(body []byte) (*jwks, error) {
	var doc struct {
		Keys []json.RawMessage `json:"keys"`
	}
	if err := json.Unmarshal(body, &doc); err != nil {
		return nil, fmt.Errorf("decoding jwks: %w", err)
	}
	set := &jwks{byKid: map[string][]jose.JSONWebKey{}}
	for i, raw := range doc.Keys {
		var jwk jose.JSONWebKey
		if err := jwk.UnmarshalJSON(raw); err != nil {
			k.log.Debug("skipping jwks key", "index", i, "error", err)
			continue
		}
		if jwk.Use != "" && jwk.Use != "sig" {
			continue
		}
		if jwk.Algorithm != "" && !slices.Contains(asymmetricAlgs, jwk.Algorithm) {
			continue
		}
		if !jwk.IsPublic() {
			// A private key published by mistake: keep only its public half.
			if _, symmetric := jwk.Key.([]byte); symmetric {
				continue
			}
			jwk = jwk.Public()
		}
		if !jwk.Valid() {
			continue
		}
		set.all = append(set.all, jwk)
		set.byKid[jwk.KeyID] = append(set.byKid[jwk.KeyID], jwk)
	}
	if len(set.all) == 0 {
		return nil, errors.New("decoding jwks: no usable signing key")
	}
	return set, nil
}
