package trusted

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/formatter"
	"github.com/vektah/gqlparser/v2/parser"
)

// ApolloFormat names Apollo's persisted query manifest
// (@apollo/generate-persisted-query-manifest, format version 1).
const ApolloFormat = "apollo-persisted-query-manifest"

// Hash is a sha256 digest.
type Hash = [sha256.Size]byte

// Document is one trusted document.
type Document struct {
	ID   string
	Name string
	Body string
}

// List is one set of trusted documents (one client's, or the shared one),
// looked up by id, by the sha256 of the body as written, and by the sha256
// of the body's normalised form (NormalizedHash), so a client that sends
// the full text with other spacing or comments is still recognised.
type List struct {
	byID   map[string]*Document
	byHash map[Hash]*Document
	byNorm map[Hash]*Document
}

// Len is the number of documents.
func (l *List) Len() int {
	if l == nil {
		return 0
	}
	return len(l.byHash)
}

// ByID finds a document by its manifest id, or by the hex sha256 of its
// body in either case, with or without the "sha256:" prefix of the
// GraphQL-over-HTTP persisted documents convention.
func (l *List) ByID(id string) (*Document, bool) {
	if l == nil {
		return nil, false
	}
	if d, ok := l.byID[id]; ok {
		return d, true
	}
	if sum, ok := ParseSHA256(strings.TrimPrefix(id, "sha256:")); ok {
		d, ok := l.byHash[sum]
		return d, ok
	}
	return nil, false
}

// ByBody finds the document a full query text is: the same bytes, or the
// same document once normalised. norm is called only when the bytes are not
// listed; it returns the body's normalised hash.
func (l *List) ByBody(body string, norm func() (Hash, bool)) (*Document, bool) {
	if l == nil {
		return nil, false
	}
	if d, ok := l.byHash[sha256.Sum256([]byte(body))]; ok {
		return d, true
	}
	if len(l.byNorm) == 0 {
		return nil, false
	}
	h, ok := norm()
	if !ok {
		return nil, false
	}
	d, ok := l.byNorm[h]
	return d, ok
}

func newList() *List {
	return &List{byID: map[string]*Document{}, byHash: map[Hash]*Document{}, byNorm: map[Hash]*Document{}}
}

// add merges one document in; an id that already names another body is an
// error (two manifests disagree on what an id runs).
func (l *List) add(d Document) error {
	if prev, ok := l.byID[d.ID]; ok {
		if prev.Body != d.Body {
			return fmt.Errorf("id %q already names another body", d.ID)
		}
		return nil
	}
	norm, _, err := Normalize(d.Body)
	if err != nil {
		return err
	}
	doc := &d
	l.byID[d.ID] = doc
	sum := sha256.Sum256([]byte(d.Body))
	if _, ok := l.byHash[sum]; !ok {
		l.byHash[sum] = doc
	}
	if _, ok := l.byNorm[norm]; !ok {
		l.byNorm[norm] = doc
	}
	return nil
}

// Load reads and merges manifest files into one list. Each file is Apollo's
// persisted query manifest or a plain JSON object of id to document (Relay,
// GraphQL Hive, GraphQL Codegen's persisted documents).
func Load(files ...string) (*List, error) {
	l := newList()
	for _, f := range files {
		docs, err := ReadManifest(f)
		if err != nil {
			return nil, fmt.Errorf("loading persisted operation manifest %q: %w", f, err)
		}
		for _, d := range docs {
			if err := l.add(d); err != nil {
				return nil, fmt.Errorf("loading persisted operation manifest %q: operation %q: %w", f, d.ID, err)
			}
		}
	}
	return l, nil
}

// maxManifestBytes bounds a manifest read into memory.
const maxManifestBytes = 64 << 20

// ReadManifest reads one manifest file.
func ReadManifest(path string) ([]Document, error) {
	info, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if info.Size() > maxManifestBytes {
		return nil, fmt.Errorf("larger than %d bytes", maxManifestBytes)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return ParseManifest(data)
}

// ParseManifest reads a manifest's bytes.
func ParseManifest(data []byte) ([]Document, error) {
	var top map[string]json.RawMessage
	if err := json.Unmarshal(data, &top); err != nil {
		return nil, fmt.Errorf("parsing JSON: %w", err)
	}
	if top == nil {
		return nil, errors.New("expected a JSON object")
	}
	if _, ok := top["format"]; ok {
		return parseApollo(data)
	}
	docs := make([]Document, 0, len(top))
	for id, raw := range top {
		var body string
		if err := json.Unmarshal(raw, &body); err != nil {
			return nil, fmt.Errorf("unknown manifest format: expected %q or an object of id to query string, and %q is not a string", ApolloFormat, id)
		}
		if err := checkDocument(id, body); err != nil {
			return nil, fmt.Errorf("operation %q: %w", id, err)
		}
		docs = append(docs, Document{ID: id, Body: body})
	}
	return docs, nil
}

// ApolloManifest is Apollo's persisted query manifest, version 1.
type ApolloManifest struct {
	Format     string            `json:"format"`
	Version    int               `json:"version"`
	Operations []ApolloOperation `json:"operations"`
}

// ApolloOperation is one entry of an Apollo manifest.
type ApolloOperation struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	Type string `json:"type"`
	Body string `json:"body"`
}

func parseApollo(data []byte) ([]Document, error) {
	var m ApolloManifest
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, fmt.Errorf("parsing Apollo manifest: %w", err)
	}
	if m.Format != ApolloFormat {
		return nil, fmt.Errorf("unknown manifest format %q, want %q", m.Format, ApolloFormat)
	}
	if m.Version != 1 {
		return nil, fmt.Errorf("unsupported manifest version %d, want 1", m.Version)
	}
	docs := make([]Document, 0, len(m.Operations))
	for i, op := range m.Operations {
		if op.ID == "" {
			return nil, fmt.Errorf("operations[%d] (%s): missing id", i, op.Name)
		}
		if err := checkDocument(op.ID, op.Body); err != nil {
			return nil, fmt.Errorf("operations[%d] (%s): %w", i, op.Name, err)
		}
		docs = append(docs, Document{ID: op.ID, Name: op.Name, Body: op.Body})
	}
	return docs, nil
}

// checkDocument refuses a manifest entry the gateway could never serve: an
// empty or unparsable body, or an id that is a sha256 but not its body's (a
// stale or hand-edited manifest).
func checkDocument(id, body string) error {
	if strings.TrimSpace(body) == "" {
		return errors.New("empty body")
	}
	if sum, ok := ParseSHA256(strings.TrimPrefix(id, "sha256:")); ok && sum != sha256.Sum256([]byte(body)) {
		return fmt.Errorf("id %q is a sha256 but not that of its body", id)
	}
	if _, err := parser.ParseQuery(&ast.Source{Name: id, Input: body}); err != nil {
		return fmt.Errorf("parsing body: %w", err)
	}
	return nil
}

// ParseSHA256 decodes a hex sha256 digest, in either case.
func ParseSHA256(s string) (sum Hash, ok bool) {
	if len(s) != hex.EncodedLen(sha256.Size) {
		return sum, false
	}
	if _, err := hex.Decode(sum[:], []byte(s)); err != nil {
		return sum, false
	}
	return sum, true
}

// Normalize parses a document and prints it in gqlparser's canonical form,
// without comments: two documents with the same normalised form have the
// same syntax tree, so they run the same operations. It returns the sha256
// of that form and the form itself.
func Normalize(body string) (Hash, string, error) {
	doc, err := parser.ParseQuery(&ast.Source{Input: body})
	if err != nil {
		return Hash{}, "", fmt.Errorf("parsing body: %w", err)
	}
	var buf bytes.Buffer
	formatter.NewFormatter(&buf).FormatQueryDocument(doc)
	return sha256.Sum256(buf.Bytes()), buf.String(), nil
}
