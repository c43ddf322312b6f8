package authn

import "errors"

// ErrNoCredentials is returned, with the anonymous identity, when a request
// carries no credential and the config does not admit anonymous callers.
// Callers whose route allows anonymous access may ignore it; it is never
// returned for a credential that is present but wrong.
var ErrNoCredentials = errors.New("no credentials")

// Reasons a present credential is refused. They go to logs and audit events,
// not to the client.
const (
	ReasonMalformed         = "malformed"          // unparsable header or token, or a required claim missing
	ReasonAmbiguous         = "ambiguous"          // both a bearer token and an API key
	ReasonUnsupportedAlg    = "unsupported_alg"    // none, HS*, or an algorithm the issuer does not advertise
	ReasonUnknownIssuer     = "unknown_issuer"     // iss is not a configured issuer
	ReasonIssuerUnavailable = "issuer_unavailable" // issuer configured but its discovery or keys never loaded
	ReasonUnknownKey        = "unknown_key"        // kid not in the issuer's JWKS (after a permitted refresh)
	ReasonBadSignature      = "bad_signature"
	ReasonWrongAudience     = "wrong_audience"
	ReasonExpired           = "expired"
	ReasonNotYetValid       = "not_yet_valid" // nbf or iat in the future beyond the allowed skew
	ReasonUnknownAPIKey     = "unknown_api_key"
	ReasonInvalidClaims     = "invalid_claims" // a claim name out of case, a duplicate, or a registered claim of the wrong type
)

// AuthError is a credential that was present but invalid. Reason is one of
// the Reason constants; Err carries the detail for the log.
type AuthError struct {
	Reason string
	Err    error
}

func (e *AuthError) Error() string {
	if e.Err == nil {
		return "authenticating: " + e.Reason
	}
	return "authenticating: " + e.Reason + ": " + e.Err.Error()
}

func (e *AuthError) Unwrap() error { return e.Err }

func authErr(reason string, err error) *AuthError {
	return &AuthError{Reason: reason, Err: err}
}
