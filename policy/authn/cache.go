package authn

import (
	"crypto/sha256"
	"sync"
	"time"
)

// DefaultCacheSize bounds the verified-token cache.
const DefaultCacheSize = 10000

// maxCacheTTL caps how long a verified token is served from the cache, so a
// key the IdP withdraws stops being honoured within minutes even for
// long-lived tokens.
const maxCacheTTL = 5 * time.Minute

type cacheEntry struct {
	id    Identity
	until time.Time // exp + skew, capped by maxCacheTTL
}

// tokenCache maps sha256(token) to the identity it verified to, so the hot
// path is a hash and one map lookup instead of a signature check (the docs/ pages
// item 1). Only verified tokens enter it.
type tokenCache struct {
	max int
	mu  sync.RWMutex
	m   map[[sha256.Size]byte]cacheEntry
}

func newTokenCache(max int) *tokenCache {
	if max <= 0 {
		return nil
	}
	return &tokenCache{max: max, m: make(map[[sha256.Size]byte]cacheEntry, max)}
}

func (c *tokenCache) get(key [sha256.Size]byte, now time.Time) (Identity, bool) {
	if c == nil {
		return Identity{}, false
	}
	c.mu.RLock()
	e, ok := c.m[key]
	c.mu.RUnlock()
	if !ok {
		return Identity{}, false
	}
	if now.After(e.until) {
		c.mu.Lock()
		if cur, ok := c.m[key]; ok && now.After(cur.until) {
			delete(c.m, key)
		}
		c.mu.Unlock()
		return Identity{}, false
	}
	return e.id, true
}

func (c *tokenCache) put(key [sha256.Size]byte, id Identity, until, now time.Time) {
	if c == nil || !until.After(now) {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.m[key]; !ok && len(c.m) >= c.max {
		c.evictLocked(now)
	}
	c.m[key] = cacheEntry{id: id, until: until}
}

// evictLocked drops expired entries, then arbitrary ones (map order) down to
// 7/8 of the bound, so a full cache pays this sweep once per max/8 inserts
// rather than on each.
func (c *tokenCache) evictLocked(now time.Time) {
	for k, e := range c.m {
		if now.After(e.until) {
			delete(c.m, k)
		}
	}
	target := c.max - c.max/8
	if target >= c.max {
		target = c.max - 1
	}
	for k := range c.m {
		if len(c.m) <= target {
			break
		}
		delete(c.m, k)
	}
}

func (c *tokenCache) len() int {
	if c == nil {
		return 0
	}
	c.mu.RLock()
	defer c.mu.RUnlock()
	return len(c.m)
}
