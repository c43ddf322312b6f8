package federation

import (
	"container/list"
	"sync"

	"github.com/wundergraph/graphql-go-tools/v2/pkg/ast"
)

// planCache is a least-recently-used map of plans bounded in estimated
// bytes, safe for concurrent use. One lives in each Engine, so a schema
// version's plans go with it.
type planCache struct {
	mu       sync.Mutex
	maxBytes int64
	bytes    int64
	order    *list.List // front: most recent; values are *planItem
	items    map[uint64]*list.Element
}

type planItem struct {
	key  uint64
	val  *cached
	size int64
}

func newPlanCache(maxBytes int64) *planCache {
	switch {
	case maxBytes == 0:
		maxBytes = DefaultPlanCacheBytes
	case maxBytes < 0:
		maxBytes = 0
	}
	return &planCache{maxBytes: maxBytes, order: list.New(), items: map[uint64]*list.Element{}}
}

func (c *planCache) get(k uint64) *cached {
	if c.maxBytes == 0 {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.items[k]
	if !ok {
		return nil
	}
	c.order.MoveToFront(el)
	return el.Value.(*planItem).val
}

func (c *planCache) put(k uint64, v *cached, size int64) {
	if c.maxBytes == 0 || size > c.maxBytes {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.items[k]; ok {
		it := el.Value.(*planItem)
		c.bytes += size - it.size
		it.val, it.size = v, size
		c.order.MoveToFront(el)
	} else {
		c.items[k] = c.order.PushFront(&planItem{key: k, val: v, size: size})
		c.bytes += size
	}
	for c.bytes > c.maxBytes && c.order.Len() > 0 {
		last := c.order.Back()
		it := last.Value.(*planItem)
		c.order.Remove(last)
		delete(c.items, it.key)
		c.bytes -= it.size
	}
}

func (c *planCache) stats() (int, int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.order.Len(), c.bytes
}

// Plan size estimate: a fixed part for the response tree and fetch
// structures, and a part per node of the normalised operation (each field
// becomes resolve nodes and text in a subgraph query). The factors were
// measured with runtime.MemStats over the test federations' operations
// (TestPlanSizeEstimate keeps the estimate at or above what is measured).
const (
	planBaseBytes    = 16 << 10
	planPerFieldByte = 2 << 10
)

func planSize(doc *ast.Document) int64 {
	return planBaseBytes + int64(len(doc.Fields))*planPerFieldByte + int64(len(doc.Input.RawBytes))*4
}
