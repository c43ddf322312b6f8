package authn

import "strings"

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
