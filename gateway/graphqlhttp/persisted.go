package graphqlhttp

import (
	"crypto/sha256"
	"fmt"
	"log/slog"
	"sync"

	"github.com/hashicorp/golang-lru/v2/simplelru"

	"github.com/portcullis-gw/portcullis/analysis"
	"github.com/portcullis-gw/portcullis/gateway/config"
	"github.com/portcullis-gw/portcullis/gateway/errcode"
	"github.com/portcullis-gw/portcullis/gateway/pipeline"
	"github.com/portcullis-gw/portcullis/policy/trusted"
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

// persisted enforces a route's persisted_operations mode. A nil *persisted
// (mode off) lets every request through unchanged.
type persisted struct {
	// apq is set in allow_apq mode: queries registered by clients.
	apq *apqCache
	// audit: unknown operations pass and are reported; otherwise (safelist)
	// they are refused. lists are the trusted documents of both modes.
	audit bool
	lists *trusted.Lists
	norms *trusted.Normalizer
	// rec, when set, records every operation that passed all checks.
	rec *trusted.Recorder
}

// normCacheSize bounds the normalised hashes remembered per route.
const normCacheSize = 4096

// newPersisted builds the route's persisted-operation checker once, at
// load; a bad manifest is an error naming the file.
func newPersisted(cfg config.PersistedOperations, log *slog.Logger) (*persisted, error) {
	switch cfg.Mode {
	case "", trusted.ModeOff:
		return nil, nil
	case trusted.ModeAPQ:
		return &persisted{apq: newAPQCache(apqMaxEntries, apqMaxBytes)}, nil
	case trusted.ModeAudit, trusted.ModeSafelist:
		lists, err := trusted.LoadLists(cfg)
		if err != nil {
			return nil, err
		}
		ps := &persisted{audit: cfg.Mode == trusted.ModeAudit, lists: lists, norms: trusted.NewNormalizer(normCacheSize)}
		if cfg.Record != nil {
			if ps.rec, err = trusted.Open(*cfg.Record, log, nil); err != nil {
				return nil, err
			}
		}
		return ps, nil
	default:
		return nil, fmt.Errorf("unknown persisted operations mode %q", cfg.Mode)
	}
}

// close releases the operation record (written once more on the way).
func (ps *persisted) close() error {
	if ps == nil || ps.rec == nil {
		return nil
	}
	return ps.rec.Close()
}

// entryCheck is what resolving left to decide after analysis: a full text
// whose bytes are in no list may still be a listed document spelt
// differently, which only its parsed form can tell.
type entryCheck uint8

const (
	entryKnown   entryCheck = iota // listed, or nothing to check (off, APQ)
	entryPending                   // full text not listed byte for byte
)

// resolve runs before analysis with the shared list (a request naming no
// client). See resolveIn.
func (ps *persisted) resolve(p *analysis.Request) *pipeline.Refusal {
	if ps == nil {
		return nil
	}
	ref, _ := ps.resolveIn(ps.lists.For(""), p)
	return ref
}

// resolveIn fills p.Query from the APQ cache or the list when the request
// sends only a hash or id, and refuses what the mode does not allow. It
// does not store anything: see remember.
func (ps *persisted) resolveIn(l *trusted.List, p *analysis.Request) (*pipeline.Refusal, entryCheck) {
	if ps == nil {
		return nil, entryKnown
	}
	key, sent, ref := persistedKey(p.Extensions)
	if ref != nil {
		return ref, entryKnown
	}
	if ps.apq != nil {
		return ps.resolveAPQ(p, key, sent), entryKnown
	}
	return ps.resolveListed(l, p, key, sent)
}

func (ps *persisted) resolveAPQ(p *analysis.Request, key string, sent bool) *pipeline.Refusal {
	if !sent {
		return nil
	}
	sum, ok := trusted.ParseSHA256(key)
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

// resolveListed checks an entry against the client's list. An id names a
// document or is refused (in audit mode too: there is no text to forward);
// a full text listed byte for byte is known, any other is decided after
// analysis (checkListed).
func (ps *persisted) resolveListed(l *trusted.List, p *analysis.Request, key string, sent bool) (*pipeline.Refusal, entryCheck) {
	if p.Query == "" {
		if !sent {
			// Nothing to look up: the front door answers "missing query".
			return nil, entryKnown
		}
		d, ok := l.ByID(key)
		if !ok {
			if ps.audit {
				return pipeline.Refuse(errcode.PersistedNotFound, "the persisted operation is not in this route's manifests; send the query"), entryKnown
			}
			// The same answer whether or not the hash is known anywhere
			// else: a safelist is not an oracle.
			return pipeline.Refuse(errcode.PersistedNotInList, "the persisted operation is not in this route's safelist"), entryKnown
		}
		p.Query = d.Body
		return nil, entryKnown
	}
	sum := sha256.Sum256([]byte(p.Query))
	d, ok := l.ByHash(sum)
	if sent {
		// The id sent beside the query must name that same query, or the
		// client is confused about what it runs.
		byID, found := l.ByID(key)
		keySum, isHash := trusted.ParseSHA256(key)
		if found && (!ok || byID.Body != d.Body) || !found && isHash && keySum != sum {
			if !ok && !ps.audit {
				// An unlisted text is refused as unlisted, whatever id
				// it claims: a safelist is not an oracle.
				return pipeline.Refuse(errcode.PersistedNotInList, "this route only serves operations from its safelist"), entryKnown
			}
			return pipeline.Refuse(errcode.BadRequest, "provided sha does not match query"), entryKnown
		}
	}
	if ok {
		return nil, entryKnown
	}
	return nil, entryPending
}

// checkListed decides a pending entry once analysed: its normalised form
// is listed (the same syntax tree as a trusted document), or it is unknown:
// refused in safelist mode, reported in audit mode (unknown = true).
func (ps *persisted) checkListed(l *trusted.List, p analysis.Request, rep *analysis.Report) (ref *pipeline.Refusal, unknown bool) {
	if _, ok := l.ByNorm(ps.norms.Of(p.Query, rep.Document)); ok {
		return nil, false
	}
	if ps.audit {
		return nil, true
	}
	return pipeline.Refuse(errcode.PersistedNotInList, "this route only serves operations from its safelist"), false
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
