package authn

import "strings"

// Principal prefixes: the credential kind as it appears in a principal
// name (docs/identity.md, "Subject names").
const (
	principalJWT    = "jwt:"
	principalAPIKey = "apikey:"
	principalMTLS   = "mtls:"
)

// JWTPrincipal names a token's subject as "jwt:<issuer>#<sub>", so the same
// sub from two issuers, or a sub that looks like another kind's name
// ("apikey:x"), never names the same principal. Both parts are escaped
// (escapePrincipalPart) so the first '#' always ends the issuer.
func JWTPrincipal(issuer, sub string) string {
	return principalJWT + escapePrincipalPart(issuer) + "#" + escapePrincipalPart(sub)
}

// APIKeyPrincipal names an API key as "apikey:<name>".
func APIKeyPrincipal(name string) string { return principalAPIKey + escapePrincipalPart(name) }

// MTLSPrincipal names a client certificate as "mtls:<subject DN>" (the DN
// as crypto/x509's Name.String writes it, RFC 2253 order).
func MTLSPrincipal(dn string) string { return principalMTLS + escapePrincipalPart(dn) }

// MTLSIdentity is the identity of a client certificate verified against
// server.tls.client_ca_file, when no token or key is sent.
func MTLSIdentity(dn string) Identity {
	p := MTLSPrincipal(dn)
	return Identity{Kind: KindMTLS, Subject: p, Principal: p, Tier: TierDefault}
}

// escapePrincipalPart percent-encodes '%', '#' and control bytes (RFC 3986
// section 2.1 style), so a part never holds the separator and a principal
// is always a valid header value (RFC 9110 section 5.5). A back end reverses
// it with any percent-decoder (url.PathUnescape).
func escapePrincipalPart(s string) string {
	clean := true
	for i := 0; i < len(s); i++ {
		if needsEscape(s[i]) {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	b.Grow(len(s) + 8)
	for i := 0; i < len(s); i++ {
		c := s[i]
		if needsEscape(c) {
			b.WriteByte('%')
			b.WriteByte(hex[c>>4])
			b.WriteByte(hex[c&15])
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}

func needsEscape(c byte) bool { return c == '%' || c == '#' || c < 0x20 || c == 0x7f }
