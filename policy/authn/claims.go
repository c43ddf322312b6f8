package authn

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/portcullis-gw/portcullis/analysis/jsonstrict"
)

// registeredClaims are RFC 7519 section 4.1's claims with the JSON type each
// must have: NumericDate is a JSON number (section 2), StringOrURI a string.
var registeredClaims = map[string]string{
	"iss": "string", "sub": "string", "aud": "string or array of strings",
	"exp": "number", "nbf": "number", "iat": "number", "jti": "string",
}

// readClaims reads a token's payload the one way every JSON reader agrees on
// (analysis/jsonstrict): go-oidc decodes it with encoding/json, whose struct
// fields match names case-insensitively and take the last duplicate, and
// which reads a string "exp" as a number. So a payload carrying "Sub" beside
// "sub", "sub" twice, or "exp": "9999999999" is refused here instead of read
// as another subject or expiry than the one the IdP meant. Claim names are
// case-sensitive (RFC 7519 section 4): a name that differs from a
// registered claim only in case is refused too, not taken for it.
func readClaims(payload []byte) (map[string]any, error) {
	v, err := jsonstrict.Decode(payload, jsonstrict.Options{})
	if err != nil {
		return nil, fmt.Errorf("reading claims: %w", err)
	}
	claims, ok := v.(map[string]any)
	if !ok {
		return nil, errors.New("reading claims: the payload is not a JSON object")
	}
	for name, val := range claims {
		want, registered := registeredClaims[name]
		if !registered {
			for r := range registeredClaims {
				if strings.EqualFold(r, name) {
					return nil, fmt.Errorf("reading claims: %q is not the registered claim %q (claim names are case-sensitive)", name, r)
				}
			}
			continue
		}
		if !claimHasType(val, want) {
			return nil, fmt.Errorf("reading claims: %q must be a %s", name, want)
		}
	}
	return claims, nil
}

func claimHasType(v any, want string) bool {
	switch want {
	case "number":
		_, ok := v.(json.Number)
		return ok
	case "string":
		_, ok := v.(string)
		return ok
	default: // aud
		switch a := v.(type) {
		case string:
			return true
		case []any:
			for _, e := range a {
				if _, ok := e.(string); !ok {
					return false
				}
			}
			return true
		}
		return false
	}
}

// lookupClaim resolves a claim by dotted path (realm_access.roles). A claim
// whose own name contains dots (Auth0's namespaced
// "https://example.com/roles") is found by its exact name first.
func lookupClaim(claims map[string]any, path string) (any, bool) {
	if path == "" {
		return nil, false
	}
	if v, ok := claims[path]; ok {
		return v, true
	}
	var cur any = claims
	for part := range strings.SplitSeq(path, ".") {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil, false
		}
		if cur, ok = m[part]; !ok {
			return nil, false
		}
	}
	return cur, true
}

// stringList reads a claim that is either a space-separated string (RFC 8693
// section 4.2 "scope") or an array of strings. Values of other types grant
// nothing.
func stringList(v any) []string {
	switch v := v.(type) {
	case string:
		return strings.Fields(v)
	case []any:
		out := make([]string, 0, len(v))
		for _, e := range v {
			if s, ok := e.(string); ok && s != "" {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}

// mapClaims fills the identity's scopes, roles and tier from verified claims.
func (is *issuer) mapClaims(id *Identity, claims map[string]any) {
	if v, ok := lookupClaim(claims, is.scopesClaim); ok {
		id.Scopes = stringList(v)
	}
	if v, ok := lookupClaim(claims, is.cfg.RolesClaim); ok {
		id.Roles = stringList(v)
	}
	id.Tier = TierDefault
	if v, ok := lookupClaim(claims, is.cfg.TierClaim); ok {
		if s, ok := v.(string); ok && s != "" {
			id.Tier = s
		}
	}
}
