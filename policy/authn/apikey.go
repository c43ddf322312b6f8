package authn

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
)

// maxAPIKeyBytes bounds the header we hash.
const maxAPIKeyBytes = 1024

type apiKey struct {
	hash     [sha256.Size]byte
	identity Identity
}

// compileAPIKeys decodes keys that Config.Validate has accepted (names
// present and unique, hashes 64 hex digits).
func compileAPIKeys(keys []APIKey) ([]apiKey, error) {
	out := make([]apiKey, 0, len(keys))
	for i, k := range keys {
		raw, err := hex.DecodeString(k.SHA256)
		if err != nil || len(raw) != sha256.Size {
			return nil, fmt.Errorf("api_keys[%d] %q: sha256 must be 64 hex digits", i, k.Name)
		}
		tier := k.Tier
		if tier == "" {
			tier = TierDefault
		}
		ak := apiKey{identity: Identity{
			Kind:       KindAPIKey,
			Subject:    "apikey:" + k.Name,
			Principal:  APIKeyPrincipal(k.Name),
			Scopes:     slices.Clone(k.Scopes),
			Tier:       tier,
			APIKeyName: k.Name,
		}}
		copy(ak.hash[:], raw)
		out = append(out, ak)
	}
	return out, nil
}

// lookupAPIKey compares the presented key's hash with every configured hash
// in constant time and without stopping at a match, so timing reveals
// neither which key matched nor how much of a hash did.
func (a *Authenticator) lookupAPIKey(values []string) (Identity, error) {
	if len(values) != 1 {
		return Identity{}, authErr(ReasonMalformed, errors.New("several X-API-Key headers"))
	}
	v := values[0]
	if v == "" || len(v) > maxAPIKeyBytes {
		return Identity{}, authErr(ReasonMalformed, errors.New("empty or oversized X-API-Key"))
	}
	sum := sha256.Sum256([]byte(v))
	found := -1
	for i := range a.apiKeys {
		if subtle.ConstantTimeCompare(sum[:], a.apiKeys[i].hash[:]) == 1 {
			found = i
		}
	}
	if found < 0 {
		return Identity{}, authErr(ReasonUnknownAPIKey, errors.New("api key matches no configured hash"))
	}
	return a.apiKeys[found].identity, nil
}
