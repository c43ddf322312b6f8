package graphqlhttp

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"sync"

	"github.com/hashicorp/golang-lru/v2/simplelru"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/parser"

	"github.com/portcullis-gw/portcullis/analysis"
	"github.com/portcullis-gw/portcullis/gateway/config"
	"github.com/portcullis-gw/portcullis/gateway/errcode"
	"github.com/portcullis-gw/portcullis/gateway/pipeline"
)

// msgPersistedNotFound is the exact message Apollo clients match on to send
// the full query again (Apollo's APQ protocol).
const msgPersistedNotFound = "PersistedQueryNotFound"

// The APQ cache is filled by clients, so it is bounded both in entries and
// in query bytes: a few huge queries cannot take the memory of many small
// ones.
const (
	apqMaxEntries = 10000
	apqMaxBytes   = 32 << 20
)

// apolloManifestFormat names Apollo's persisted query manifest
// (@apollo/generate-persisted-query-manifest).
const apolloManifestFormat = "apollo-persisted-query-manifest"

// persisted enforces a route's persisted_operations mode. A nil *persisted
// (mode off) lets every request through unchanged.
type persisted struct {
	// apq is set in allow_apq mode: queries registered by clients.
	apq *apqCache
	// byID and byHash are set in safelist mode: the manifest's bodies by
	// operation id and by the sha256 of the body.
	byID   map[string]string
	byHash map[[sha256.Size]byte]string
}

// newPersisted builds the route's persisted-operation checker once, at
// load; a bad manifest is an error naming the file.
func newPersisted(cfg config.PersistedOperations) (*persisted, error) {
	switch cfg.Mode {
	case "", "off":
		return nil, nil
	case "allow_apq":
		return &persisted{apq: newAPQCache(apqMaxEntries, apqMaxBytes)}, nil
	case "safelist":
		byID, err := loadManifest(cfg.Manifest)
		if err != nil {
			return nil, fmt.Errorf("loading persisted operation manifest %q: %w", cfg.Manifest, err)
		}
		ps := &persisted{byID: byID, byHash: make(map[[sha256.Size]byte]string, len(byID))}
		for _, body := range byID {
			ps.byHash[sha256.Sum256([]byte(body))] = body
		}
		return ps, nil
	default:
		return nil, fmt.Errorf("unknown persisted operations mode %q", cfg.Mode)
	}
}

// resolve runs before analysis. It fills p.Query from the APQ cache or the
// manifest when the request sends only a hash or id, and refuses what the
// mode does not allow. It does not store anything: see remember.
func (ps *persisted) resolve(p *analysis.Request) *pipeline.Refusal {
	if ps == nil {
		return nil
	}
	key, sent, ref := persistedKey(p.Extensions)
	if ref != nil {
		return ref
	}
	if ps.apq != nil {
		return ps.resolveAPQ(p, key, sent)
	}
	return ps.resolveSafelist(p, key, sent)
}

func (ps *persisted) resolveAPQ(p *analysis.Request, key string, sent bool) *pipeline.Refusal {
	if !sent {
		return nil
	}
	sum, ok := parseSHA256(key)
	if !ok {
		return pipeline.Refuse(errcode.BadRequest, "extensions.persistedQuery.sha256Hash must be a hex sha256 digest")
	}
	if p.Query == "" {
		q, found := ps.apq.get(sum)
		if !found {
			return pipeline.Refuse(errcode.PersistedNotFound, msgPersistedNotFound).Paying(pipeline.PayMinimum)
		}
		p.Query = q
		return nil
	}
	if sha256.Sum256([]byte(p.Query)) != sum {
		return pipeline.Refuse(errcode.BadRequest, "provided sha does not match query")
	}
	return nil
}

func (ps *persisted) resolveSafelist(p *analysis.Request, key string, sent bool) *pipeline.Refusal {
	if p.Query == "" {
		if !sent {
			// Nothing to look up: the front door answers "missing query".
			return nil
		}
		body, ok := ps.lookup(key)
		if !ok {
			// The same answer whether or not the hash is known anywhere
			// else: a safelist is not an oracle.
			return pipeline.Refuse(errcode.PersistedNotInList, "the persisted operation is not in this route's safelist")
		}
		p.Query = body
		return nil
	}
	sum := sha256.Sum256([]byte(p.Query))
	if _, ok := ps.byHash[sum]; !ok {
		return pipeline.Refuse(errcode.PersistedNotInList, "this route only serves operations from its safelist")
	}
	if sent {
		// The query is listed; the id sent beside it must name that same
		// query, or the client is confused about what it runs.
		if body, ok := ps.lookup(key); !ok || body != p.Query {
			return pipeline.Refuse(errcode.BadRequest, "provided sha does not match query")
		}
	}
	return nil
}

// lookup finds a manifest body by its id, or by the sha256 of the body
// (ids need not be hashes, and hashes may be sent in upper case).
func (ps *persisted) lookup(key string) (string, bool) {
	if body, ok := ps.byID[key]; ok {
		return body, true
	}
	if sum, ok := parseSHA256(key); ok {
		body, ok := ps.byHash[sum]
		return body, ok
	}
	return "", false
}

// remember stores an APQ registration (a request that sent both the query
// and its hash). It must run only once the request passed every check and
// was charged, so the cache never holds an operation the gateway refused.
func (ps *persisted) remember(p analysis.Request) {
	if ps == nil || ps.apq == nil || p.Query == "" {
		return
	}
	if _, sent, ref := persistedKey(p.Extensions); !sent || ref != nil {
		return
	}
	ps.apq.add(sha256.Sum256([]byte(p.Query)), p.Query)
}

// persistedKey reads extensions.persistedQuery {version: 1, sha256Hash}.
// sent is false when the request has no persistedQuery extension.
func persistedKey(ext map[string]any) (key string, sent bool, ref *pipeline.Refusal) {
	raw, ok := ext["persistedQuery"]
	if !ok {
		return "", false, nil
	}
	pq, ok := raw.(map[string]any)
	if !ok {
		return "", false, pipeline.Refuse(errcode.BadRequest, "extensions.persistedQuery must be an object")
	}
	if v, ok := pq["version"].(float64); !ok || v != 1 {
		return "", false, pipeline.Refuse(errcode.BadRequest, "unsupported persisted query version")
	}
	key, ok = pq["sha256Hash"].(string)
	if !ok || key == "" {
		return "", false, pipeline.Refuse(errcode.BadRequest, "extensions.persistedQuery.sha256Hash must be a non-empty string")
	}
	return key, true, nil
}

// parseSHA256 decodes a hex sha256 digest, in either case.
func parseSHA256(s string) (sum [sha256.Size]byte, ok bool) {
	if len(s) != hex.EncodedLen(sha256.Size) {
		return sum, false
	}
	if _, err := hex.Decode(sum[:], []byte(s)); err != nil {
		return sum, false
	}
	return sum, true
}

// loadManifest reads a safelist: Apollo's persisted query manifest, or a
// plain JSON object of id to query (Relay, GraphQL Codegen's persisted
// documents). It returns the bodies by id.
func loadManifest(path string) (map[string]string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(data, &top); err != nil {
		return nil, fmt.Errorf("parsing JSON: %w", err)
	}
	if top == nil {
		return nil, fmt.Errorf("expected a JSON object")
	}
	if _, ok := top["format"]; ok {
		return loadApolloManifest(data)
	}
	ops := make(map[string]string, len(top))
	for id, raw := range top {
		var body string
		if err := json.Unmarshal(raw, &body); err != nil {
			return nil, fmt.Errorf("unknown manifest format: expected %q or an object of id to query string, and %q is not a string", apolloManifestFormat, id)
		}
		if err := checkOperation(id, body); err != nil {
			return nil, fmt.Errorf("operation %q: %w", id, err)
		}
		ops[id] = body
	}
	return ops, nil
}

func loadApolloManifest(data []byte) (map[string]string, error) {
	var m struct {
		Format     string `json:"format"`
		Version    int    `json:"version"`
		Operations []struct {
			ID   string `json:"id"`
			Name string `json:"name"`
			Type string `json:"type"`
			Body string `json:"body"`
		} `json:"operations"`
	}
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, fmt.Errorf("parsing Apollo manifest: %w", err)
	}
	if m.Format != apolloManifestFormat {
		return nil, fmt.Errorf("unknown manifest format %q, want %q", m.Format, apolloManifestFormat)
	}
	if m.Version != 1 {
		return nil, fmt.Errorf("unsupported manifest version %d, want 1", m.Version)
	}
	ops := make(map[string]string, len(m.Operations))
	for i, op := range m.Operations {
		if op.ID == "" {
			return nil, fmt.Errorf("operations[%d] (%s): missing id", i, op.Name)
		}
		if err := checkOperation(op.ID, op.Body); err != nil {
			return nil, fmt.Errorf("operations[%d] (%s): %w", i, op.Name, err)
		}
		if prev, dup := ops[op.ID]; dup && prev != op.Body {
			return nil, fmt.Errorf("operations[%d] (%s): id %q already names another body", i, op.Name, op.ID)
		}
		ops[op.ID] = op.Body
	}
	return ops, nil
}

// checkOperation refuses a manifest entry the gateway could never serve:
// an empty or unparsable body, or an id that is a sha256 but not its
// body's (a stale or hand-edited manifest).
func checkOperation(id, body string) error {
	if strings.TrimSpace(body) == "" {
		return fmt.Errorf("empty body")
	}
	if sum, ok := parseSHA256(id); ok && sum != sha256.Sum256([]byte(body)) {
		return fmt.Errorf("id %q is a sha256 but not that of its body", id)
	}
	if _, err := parser.ParseQuery(&ast.Source{Name: id, Input: body}); err != nil {
		return fmt.Errorf("parsing body: %w", err)
	}
	return nil
}

// apqCache is a concurrency-safe LRU of queries by sha256, bounded in
// entries and in bytes.
type apqCache struct {
	mu       sync.Mutex
	lru      *simplelru.LRU[[sha256.Size]byte, string]
	bytes    int
	maxBytes int
}

func newAPQCache(maxEntries, maxBytes int) *apqCache {
	c := &apqCache{maxBytes: maxBytes}
	// NewLRU fails only for a size <= 0, which the callers never pass.
	c.lru, _ = simplelru.NewLRU(maxEntries, func(_ [sha256.Size]byte, q string) { c.bytes -= len(q) })
	return c
}

func (c *apqCache) get(sum [sha256.Size]byte) (string, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.lru.Get(sum)
}

func (c *apqCache) add(sum [sha256.Size]byte, q string) {
	if len(q) > c.maxBytes {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.lru.Contains(sum) {
		// Same hash, same query: only its recency changes.
		c.lru.Get(sum)
		return
	}
	c.lru.Add(sum, q)
	c.bytes += len(q)
	for c.bytes > c.maxBytes {
		c.lru.RemoveOldest()
	}
}

func (c *apqCache) len() (entries, bytes int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.lru.Len(), c.bytes
}
