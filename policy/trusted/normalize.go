package trusted

import (
	"bytes"
	"crypto/sha256"
	"sync"

	"github.com/hashicorp/golang-lru/v2/simplelru"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/formatter"
)

// Normalizer computes the normalised hash of documents the analysis already
// parsed (so no document is parsed twice), remembering it by the sha256 of
// the text as sent, in a bounded LRU.
type Normalizer struct {
	mu  sync.Mutex
	lru *simplelru.LRU[Hash, Hash]
}

// NewNormalizer remembers at most size documents (at least 1).
func NewNormalizer(size int) *Normalizer {
	l, _ := simplelru.NewLRU[Hash, Hash](max(size, 1), nil)
	return &Normalizer{lru: l}
}

// Of is the normalised hash of query, whose parsed form is doc: the same
// as Normalize(query) gives.
func (n *Normalizer) Of(query string, doc *ast.QueryDocument) Hash {
	raw := sha256.Sum256([]byte(query))
	n.mu.Lock()
	h, ok := n.lru.Get(raw)
	n.mu.Unlock()
	if ok {
		return h
	}
	var buf bytes.Buffer
	formatter.NewFormatter(&buf).FormatQueryDocument(doc)
	h = sha256.Sum256(buf.Bytes())
	n.mu.Lock()
	n.lru.Add(raw, h)
	n.mu.Unlock()
	return h
}

// ByNorm finds the document whose normalised form has hash h.
func (l *List) ByNorm(h Hash) (*Document, bool) {
	if l == nil {
		return nil, false
	}
	d, ok := l.byNorm[h]
	return d, ok
}

// ByHash finds the document whose body, byte for byte, has sha256 h.
func (l *List) ByHash(h Hash) (*Document, bool) {
	if l == nil {
		return nil, false
	}
	d, ok := l.byHash[h]
	return d, ok
}
