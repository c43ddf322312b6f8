package authn

import (
	"crypto/sha256"
	"strconv"
	"testing"
	"time"
)

func TestTokenCacheBounded(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	c := newTokenCache(64)
	for i := range 1000 {
		c.put(sha256.Sum256([]byte(strconv.Itoa(i))), Identity{Subject: strconv.Itoa(i)}, now.Add(time.Hour), now)
		if n := c.len(); n > 64 {
			t.Fatalf("cache holds %d entries, bound 64", n)
		}
	}
	// The newest entry is always kept.
	if id, ok := c.get(sha256.Sum256([]byte("999")), now); !ok || id.Subject != "999" {
		t.Fatalf("latest entry missing: %+v %v", id, ok)
	}
}

func TestTokenCacheExpiry(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	c := newTokenCache(8)
	k := sha256.Sum256([]byte("tok"))
	c.put(k, Identity{Subject: "a"}, now.Add(time.Minute), now)
	if _, ok := c.get(k, now.Add(time.Minute)); !ok {
		t.Fatal("entry missing at its last valid instant")
	}
	if _, ok := c.get(k, now.Add(time.Minute+time.Nanosecond)); ok {
		t.Fatal("expired entry served")
	}
	if c.len() != 0 {
		t.Fatal("expired entry kept after lookup")
	}
	c.put(k, Identity{Subject: "a"}, now, now)
	if c.len() != 0 {
		t.Fatal("entry already expired was stored")
	}
	// Expired entries are evicted before live ones.
	for i := range 8 {
		until := now.Add(time.Hour)
		if i%2 == 0 {
			until = now.Add(time.Second)
		}
		c.put(sha256.Sum256([]byte(strconv.Itoa(i))), Identity{}, until, now)
	}
	later := now.Add(time.Minute)
	c.put(sha256.Sum256([]byte("new")), Identity{}, later.Add(time.Hour), later)
	for i := 1; i < 8; i += 2 {
		if _, ok := c.get(sha256.Sum256([]byte(strconv.Itoa(i))), later); !ok {
			t.Fatalf("live entry %d evicted while expired ones were present", i)
		}
	}
	var disabled *tokenCache = newTokenCache(0)
	disabled.put(k, Identity{}, now.Add(time.Hour), now)
	if _, ok := disabled.get(k, now); ok {
		t.Fatal("disabled cache served an entry")
	}
}

func TestBearerTokenCharset(t *testing.T) {
	for _, v := range []string{"Bearer a\x00b", "Bearer a;b", "Bearer é"} {
		if _, err := bearerToken([]string{v}); err == nil {
			t.Fatalf("%q accepted", v)
		}
	}
	if tok, err := bearerToken([]string{"Bearer aZ09-._~+/="}); err != nil || tok != "aZ09-._~+/=" {
		t.Fatalf("b64token refused: %q %v", tok, err)
	}
}
