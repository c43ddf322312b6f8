package external

import (
	"container/list"
	"sync"
	"time"
)

// maxCacheBytes bounds the inputs the cache holds as keys.
const maxCacheBytes = 32 << 20

// decisionCache is an LRU of decisions keyed on the whole encoded input
// (no digest, so no two inputs can ever share a decision), bounded in
// entries and in key bytes, each entry valid until its expiry.
type decisionCache struct {
	mu         sync.Mutex
	m          map[string]*list.Element
	order      *list.List // front: most recent
	bytes      int
	maxEntries int
	maxBytes   int
}

type cacheEntry struct {
	key     string
	d       Decision
	expires time.Time
}

func newDecisionCache(maxEntries, maxBytes int) *decisionCache {
	return &decisionCache{m: make(map[string]*list.Element), order: list.New(), maxEntries: maxEntries, maxBytes: maxBytes}
}

// get looks key up without allocating (a map index with string(key)).
func (c *decisionCache) get(key []byte, now time.Time) (Decision, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.m[string(key)]
	if !ok {
		return Decision{}, false
	}
	e := el.Value.(*cacheEntry)
	if !now.Before(e.expires) {
		c.remove(el)
		return Decision{}, false
	}
	c.order.MoveToFront(el)
	return e.d, true
}

func (c *decisionCache) put(key string, d Decision, expires time.Time) {
	if len(key) > c.maxBytes/16 {
		// One huge input must not flush everything else.
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.m[key]; ok {
		c.remove(el)
	}
	c.m[key] = c.order.PushFront(&cacheEntry{key: key, d: d, expires: expires})
	c.bytes += len(key)
	for c.order.Len() > c.maxEntries || c.bytes > c.maxBytes {
		c.remove(c.order.Back())
	}
}

func (c *decisionCache) remove(el *list.Element) {
	e := c.order.Remove(el).(*cacheEntry)
	delete(c.m, e.key)
	c.bytes -= len(e.key)
}
