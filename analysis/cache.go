package analysis

import (
	"container/list"
	"crypto/sha256"
	"sync"

	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"
)

// docKey identifies a document against one schema version (issue 4 item 7).
type docKey struct {
	sum     [sha256.Size]byte
	version string
}

// docEntry is a parsed and validated document; immutable once cached except
// for ops, which only grows under mu.
type docEntry struct {
	tokens     int
	doc        *ast.QueryDocument
	parseErr   *gqlerror.Error
	validation gqlerror.List

	mu sync.Mutex
	// ops holds the measures of the operations analysed so far; they depend
	// on no variable, which apply evaluates per request.
	ops map[string]*measures
}

func (e *docEntry) measures(op string) *measures {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.ops[op]
}

func (e *docEntry) keep(op string, m *measures) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.ops == nil {
		e.ops = map[string]*measures{}
	}
	e.ops[op] = m
}

// lru is a bounded least-recently-used map, safe for concurrent use.
type lru struct {
	mu    sync.Mutex
	max   int
	order *list.List // front: most recent; values are *lruItem
	items map[docKey]*list.Element
}

type lruItem struct {
	key docKey
	val *docEntry
}

func newLRU(max int) *lru {
	return &lru{max: max, order: list.New(), items: map[docKey]*list.Element{}}
}

func (c *lru) get(k docKey) *docEntry {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.items[k]
	if !ok {
		return nil
	}
	c.order.MoveToFront(el)
	return el.Value.(*lruItem).val
}

func (c *lru) put(k docKey, v *docEntry) {
	if c.max <= 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.items[k]; ok {
		el.Value.(*lruItem).val = v
		c.order.MoveToFront(el)
		return
	}
	c.items[k] = c.order.PushFront(&lruItem{key: k, val: v})
	for c.order.Len() > c.max {
		last := c.order.Back()
		c.order.Remove(last)
		delete(c.items, last.Value.(*lruItem).key)
	}
}

func (c *lru) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.order.Len()
}
