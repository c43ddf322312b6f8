package authn

import "slices"

// Identity kinds.
const (
	KindAnonymous = "anonymous"
	KindJWT       = "jwt"
	KindAPIKey    = "api_key"
	KindMTLS      = "mtls"
)

// Tiers given when the credential names none.
const (
	TierDefault   = "default"
	TierAnonymous = "anonymous"
)

// Identity is who made a request. Values returned by Authenticate may be
// shared with the token cache: treat the slices and the Claims map as
// read-only.
type Identity struct {
	Kind    string // KindAnonymous, KindJWT, KindAPIKey or KindMTLS
	Subject string // token "sub"; "apikey:<name>" for API keys, so it never equals a user id
	Issuer  string // token "iss"; empty for other kinds
	// Principal names the caller with its kind and issuer
	// ("jwt:<issuer>#<sub>", "apikey:<name>", "mtls:<subject DN>"); it is
	// what keys rate-limit buckets, the upstream subject header and audit
	// records, so two kinds or two issuers never share a name. Empty for
	// the anonymous identity.
	Principal  string
	Scopes     []string
	Roles      []string
	Claims     map[string]any // verified token claims; nil for other kinds
	Tier       string
	APIKeyName string
}

// Anonymous is the identity of a caller without credentials.
func Anonymous() Identity {
	return Identity{Kind: KindAnonymous, Tier: TierAnonymous}
}

// IsAnonymous reports whether the identity carries no credential.
func (id Identity) IsAnonymous() bool { return id.Kind == KindAnonymous || id.Kind == "" }

// HasScope reports whether the identity was granted scope s.
func (id Identity) HasScope(s string) bool { return slices.Contains(id.Scopes, s) }

// HasRole reports whether the identity holds role r.
func (id Identity) HasRole(r string) bool { return slices.Contains(id.Roles, r) }
