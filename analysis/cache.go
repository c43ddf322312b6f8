package analysis

import (
	"container/list"
	"crypto/sha256"
	"sync"
	"unsafe"

	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"
)

// docKey identifies a document against one schema version.
type docKey struct {
	sum     [sha256.Size]byte
	version string
}

// docEntry is a parsed and validated document; immutable once cached except
// for ops, which only grows under mu. A refused document keeps only what its
// refusal needs (its error, its operations' names), never its AST: a flood of
// distinct bad documents must not hold their syntax trees.
type docEntry struct {
	tokens int
	// selections is the pre-pass count: exact unless selOver, then a lower
	// bound (the count stopped past the limit of the request that loaded it).
	selections int
	selOver    bool
	doc        *ast.QueryDocument // nil unless the document is valid
	// conditions are the distinct type conditions of a valid document.
	conditions []string
	parseErr   *gqlerror.Error
	validation gqlerror.List
	// names are the operations of an invalid document, which keeps no AST,
	// so that operation selection answers as it would with one.
	names []opName

	mu sync.Mutex
	// ops holds the measures of the operations analysed so far; they depend
	// on no variable, which apply evaluates per request.
	ops map[string]*measures
}

type opName struct{ name, typ string }

func (e *docEntry) measures(op string) *measures {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.ops[op]
}

// keep stores m and reports whether it was new.
func (e *docEntry) keep(op string, m *measures) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.ops == nil {
		e.ops = map[string]*measures{}
	}
	if _, ok := e.ops[op]; ok {
		return false
	}
	e.ops[op] = m
	return true
}

// Size estimates, in bytes, of what a cache entry holds. They were measured
// against runtime.MemStats (TestCacheSizeEstimate keeps them honest): a
// parsed and validated document holds about astBytesPerToken per lexer
// token beside its source text (nodes, positions, the definitions the
// validator attaches); an error its struct, message and locations.
const (
	entryOverhead    = 250 // docEntry, list element, map slot, key, mutex
	astBytesPerToken = 100
	errorBytes       = int(unsafe.Sizeof(gqlerror.Error{})) + 64
	fieldUseBytes    = int(unsafe.Sizeof(FieldUse{})) + 32
	costNodeBytes    = int(unsafe.Sizeof(costNode{}))
)

// size estimates the bytes the entry keeps alive, src being its document.
func (e *docEntry) size(src string) int64 {
	n := entryOverhead
	if e.parseErr != nil {
		n += errorBytes + len(e.parseErr.Message) + 16*len(e.parseErr.Locations)
	}
	for _, v := range e.validation {
		n += errorBytes + len(v.Message) + 16*len(v.Locations)
	}
	for _, o := range e.names {
		n += 32 + len(o.name)
	}
	if e.doc != nil {
		// The AST's names and values are substrings of the source.
		n += len(src) + e.tokens*astBytesPerToken + 16*len(e.conditions)
	}
	return int64(n)
}

// size estimates the bytes held by the measures of one operation.
func (m *measures) size() int64 {
	n := 256 + len(m.fields)*fieldUseBytes + len(m.cost.nodes)*costNodeBytes
	for i := range m.fields {
		n += 16*len(m.fields[i].Path) + 48*len(m.fields[i].Arguments)
	}
	for i := range m.args {
		n += 64 * len(m.args[i].slots)
	}
	n += len(m.errs)*errorBytes + len(m.checks)*32
	return int64(n)
}

// lru is a least-recently-used map bounded both in entries and in estimated
// bytes, safe for concurrent use.
type lru struct {
	mu       sync.Mutex
	max      int   // entries
	maxBytes int64 // estimated bytes
	bytes    int64
	order    *list.List // front: most recent; values are *lruItem
	items    map[docKey]*list.Element
}

type lruItem struct {
	key  docKey
	val  *docEntry
	size int64
}

func newLRU(max int, maxBytes int64) *lru {
	return &lru{max: max, maxBytes: maxBytes, order: list.New(), items: map[docKey]*list.Element{}}
}

func (c *lru) enabled() bool { return c.max > 0 && c.maxBytes > 0 }

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

// put stores v under k with its estimated size. An entry larger than a
// quarter of the cache is not kept: one document must not empty it.
func (c *lru) put(k docKey, v *docEntry, size int64) {
	if !c.enabled() || size > c.maxBytes/4 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.items[k]; ok {
		it := el.Value.(*lruItem)
		c.bytes += size - it.size
		it.val, it.size = v, size
		c.order.MoveToFront(el)
	} else {
		c.items[k] = c.order.PushFront(&lruItem{key: k, val: v, size: size})
		c.bytes += size
	}
	c.evict()
}

// grow adds delta bytes to k's entry if it still holds v (measures kept
// after the entry was stored).
func (c *lru) grow(k docKey, v *docEntry, delta int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.items[k]
	if !ok || el.Value.(*lruItem).val != v {
		return
	}
	el.Value.(*lruItem).size += delta
	c.bytes += delta
	c.evict()
}

func (c *lru) evict() {
	for c.order.Len() > c.max || (c.bytes > c.maxBytes && c.order.Len() > 0) {
		last := c.order.Back()
		it := last.Value.(*lruItem)
		c.order.Remove(last)
		delete(c.items, it.key)
		c.bytes -= it.size
	}
}

func (c *lru) stats() (entries int, bytes int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.order.Len(), c.bytes
}
