package authn

import (
	"errors"
	"strings"
)

// maxTokenBytes bounds the work an attacker can make us do before any
// signature check; real access tokens are a few KB at most.
const maxTokenBytes = 16 << 10

// bearerToken extracts the token of RFC 6750 section 2.1:
//
//	credentials = "Bearer" 1*SP b64token
//
// Anything else (another scheme, no token, several tokens or several
// Authorization headers) is malformed: a client that sent a credential we
// cannot read must get 401, not the anonymous identity.
func bearerToken(values []string) (string, error) {
	if len(values) != 1 {
		return "", errors.New("several authorization headers")
	}
	v := values[0]
	scheme, rest, ok := strings.Cut(v, " ")
	if !ok {
		return "", errors.New("authorization header without credentials")
	}
	// RFC 9110 section 11.1: the scheme is case-insensitive.
	if !strings.EqualFold(scheme, "Bearer") {
		return "", errors.New("unsupported authorization scheme")
	}
	tok := strings.TrimLeft(rest, " ")
	if tok == "" {
		return "", errors.New("empty bearer token")
	}
	if len(tok) > maxTokenBytes {
		return "", errors.New("bearer token too large")
	}
	for i := 0; i < len(tok); i++ {
		if !isB64TokenChar(tok[i]) {
			return "", errors.New("bearer token has characters outside b64token")
		}
	}
	return tok, nil
}

// b64tokenChars is RFC 6750's b64token alphabet, which also rules out a
// second token after a space. A table, because this loop runs over every
// token on the hot path.
var b64tokenChars = func() (t [256]bool) {
	for _, c := range []byte("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~+/=") {
		t[c] = true
	}
	return t
}()

func isB64TokenChar(c byte) bool { return b64tokenChars[c] }
