package graphqlhttp

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/parser"

	"github.com/portcullis-gw/portcullis/analysis"
	"github.com/portcullis-gw/portcullis/gateway/config"
	"github.com/portcullis-gw/portcullis/gateway/errcode"
	"github.com/portcullis-gw/portcullis/gateway/pipeline"
	"github.com/portcullis-gw/portcullis/policy/trusted"
)

// Bodies of the manifests under testdata/persisted (valid against
// testdata/schema.graphql, so the wired front door can serve them).
const (
	pqHello    = "query Hello { hello }"
	pqProducts = "query Products($first: Int) { products(first: $first) { upc name } }"
	pqSetHello = "mutation SetHello($v: String!) { setHello(value: $v) }"
)

func sha(q string) string {
	s := sha256.Sum256([]byte(q))
	return hex.EncodeToString(s[:])
}

// pqBody is a GraphQL-over-HTTP body with extensions.persistedQuery.
func pqBody(query, hash string) string {
	ext := fmt.Sprintf(`"extensions":{"persistedQuery":{"version":1,"sha256Hash":%q}}`, hash)
	if query == "" {
		return "{" + ext + "}"
	}
	return fmt.Sprintf(`{"query":%q,%s}`, query, ext)
}

// params decodes a body as the front door does, so the extension values
// have the types JSON decoding gives them.
func params(t testing.TB, body string) analysis.Request {
	t.Helper()
	p, err := decodeParams(body)
	if err != nil {
		t.Fatalf("bad test body %s: %v", body, err)
	}
	return p
}

// decodeParams is params for goroutines, which must not call t.Fatal.
func decodeParams(body string) (analysis.Request, error) {
	var p analysis.Request
	err := json.Unmarshal([]byte(body), &p)
	return p, err
}

// wantResolve checks one resolve: either a refusal with status, code and
// (when given) message, or success with the query filled in.
type wantResolve struct {
	status int
	code   string
	msg    string
	query  string
}

func checkResolve(t *testing.T, ps *persisted, body string, want wantResolve) {
	t.Helper()
	p := params(t, body)
	ref := resolveAll(ps, &p)
	if want.code == "" {
		if ref != nil {
			t.Fatalf("resolve(%s) refused %d %+v, want success", body, ref.Status, errorsOf(ref))
		}
		if p.Query != want.query {
			t.Fatalf("resolve(%s): query %q, want %q", body, p.Query, want.query)
		}
		return
	}
	if ref == nil {
		t.Fatalf("resolve(%s) succeeded (query %q), want %d %s", body, p.Query, want.status, want.code)
	}
	if len(errorsOf(ref)) != 1 {
		t.Fatalf("resolve(%s): %d errors, want 1", body, len(errorsOf(ref)))
	}
	got := errorsOf(ref)[0]
	if ref.Status != want.status || got.Extensions["code"] != want.code {
		t.Fatalf("resolve(%s) = %d %v, want %d %s", body, ref.Status, got.Extensions["code"], want.status, want.code)
	}
	if want.msg != "" && got.Message != want.msg {
		t.Fatalf("resolve(%s) message %q, want %q", body, got.Message, want.msg)
	}
}

// resolveAll is both phases of the check as the door runs them: resolving
// before analysis, and deciding a text not listed byte for byte by its
// parsed form after.
func resolveAll(ps *persisted, p *analysis.Request) *pipeline.Refusal {
	if ps == nil {
		return nil
	}
	l := ps.lists.For("")
	ref, check := ps.resolveIn(l, p)
	if ref != nil || check != entryPending {
		return ref
	}
	doc, err := parser.ParseQuery(&ast.Source{Input: p.Query})
	if err != nil {
		return pipeline.Refuse(analysis.CodeParseFailed, err.Error())
	}
	ref, _ = ps.checkListed(l, *p, &analysis.Report{Document: doc})
	return ref
}

func mustPersisted(t testing.TB, cfg config.PersistedOperations) *persisted {
	t.Helper()
	ps, err := newPersisted(cfg, nil)
	if err != nil {
		t.Fatalf("newPersisted(%+v): %v", cfg, err)
	}
	if ps == nil {
		t.Fatalf("newPersisted(%+v) = nil", cfg)
	}
	return ps
}

func TestPersistedOff(t *testing.T) {
	ps, err := newPersisted(config.PersistedOperations{Mode: "off"}, nil)
	if err != nil || ps != nil {
		t.Fatalf("newPersisted(off) = %v, %v; want nil, nil", ps, err)
	}
	// A nil checker changes nothing: the front door's own checks decide.
	for _, body := range []string{pqBody("", sha(pqHello)), pqBody(pqHello, sha("other")), `{"query":"{ hello }"}`} {
		p := params(t, body)
		before := params(t, body)
		if ref := ps.resolve(&p); ref != nil {
			t.Errorf("nil resolve(%s) refused: %+v", body, errorsOf(ref))
		}
		ps.remember(p)
		if !reflect.DeepEqual(p, before) {
			t.Errorf("nil checker changed %s: %+v", body, p)
		}
	}
}

func TestPersistedAPQ(t *testing.T) {
	bad := func(msg string) wantResolve { return wantResolve{http.StatusBadRequest, errcode.BadRequest, msg, ""} }
	notFound := wantResolve{http.StatusBadRequest, errcode.PersistedNotFound, "PersistedQueryNotFound", ""}
	tests := []struct {
		name     string
		register []string // bodies passed to remember first
		body     string
		want     wantResolve
	}{
		{"hash only, unknown", nil, pqBody("", sha(pqHello)), notFound},
		{"hash only, registered", []string{pqBody(pqHello, sha(pqHello))}, pqBody("", sha(pqHello)), wantResolve{query: pqHello}},
		{"hash in upper case", []string{pqBody(pqHello, sha(pqHello))}, pqBody("", strings.ToUpper(sha(pqHello))), wantResolve{query: pqHello}},
		{"registration with matching hash", nil, pqBody(pqHello, sha(pqHello)), wantResolve{query: pqHello}},
		{"registration with another query's hash", nil, pqBody(pqHello, sha(pqProducts)), bad("provided sha does not match query")},
		{"mismatch even when the hash is registered", []string{pqBody(pqProducts, sha(pqProducts))}, pqBody(pqHello, sha(pqProducts)), bad("provided sha does not match query")},
		{"plain query passes untouched", nil, `{"query":"{ hello }"}`, wantResolve{query: "{ hello }"}},
		{"a plain query is not registered", []string{`{"query":"query Hello { hello }"}`}, pqBody("", sha(pqHello)), notFound},
		{"other extensions only", nil, `{"query":"{ hello }","extensions":{"tracing":true}}`, wantResolve{query: "{ hello }"}},
		{"version 2", nil, `{"extensions":{"persistedQuery":{"version":2,"sha256Hash":"` + sha(pqHello) + `"}}}`, bad("unsupported persisted query version")},
		{"version missing", nil, `{"extensions":{"persistedQuery":{"sha256Hash":"` + sha(pqHello) + `"}}}`, bad("unsupported persisted query version")},
		{"version as a string", nil, `{"extensions":{"persistedQuery":{"version":"1","sha256Hash":"` + sha(pqHello) + `"}}}`, bad("unsupported persisted query version")},
		{"persistedQuery not an object", nil, `{"extensions":{"persistedQuery":"` + sha(pqHello) + `"}}`, bad("")},
		{"hash missing", nil, `{"extensions":{"persistedQuery":{"version":1}}}`, bad("")},
		{"hash not a string", nil, `{"extensions":{"persistedQuery":{"version":1,"sha256Hash":42}}}`, bad("")},
		{"hash not hex", nil, pqBody("", strings.Repeat("z", 64)), bad("")},
		{"hash too short", nil, pqBody("", sha(pqHello)[:40]), bad("")},
		{"hash not hex, with query", nil, pqBody(pqHello, "abc"), bad("")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ps := mustPersisted(t, config.PersistedOperations{Mode: "allow_apq"})
			for _, r := range tt.register {
				ps.remember(params(t, r))
			}
			checkResolve(t, ps, tt.body, tt.want)
		})
	}
}

// A registration is stored by remember, never by resolve: an operation
// refused after resolve (invalid, too costly, unauthorized) never enters
// the cache.
func TestPersistedAPQStoresOnlyOnRemember(t *testing.T) {
	ps := mustPersisted(t, config.PersistedOperations{Mode: "allow_apq"})
	reg := params(t, pqBody(pqHello, sha(pqHello)))
	if ref := ps.resolve(&reg); ref != nil {
		t.Fatalf("registration refused: %+v", errorsOf(ref))
	}
	checkResolve(t, ps, pqBody("", sha(pqHello)), wantResolve{http.StatusBadRequest, errcode.PersistedNotFound, "PersistedQueryNotFound", ""})
	ps.remember(reg)
	checkResolve(t, ps, pqBody("", sha(pqHello)), wantResolve{query: pqHello})
}

func TestPersistedSafelist(t *testing.T) {
	notInList := wantResolve{status: http.StatusForbidden, code: errcode.PersistedNotInList}
	mismatch := wantResolve{http.StatusBadRequest, errcode.BadRequest, "provided sha does not match query", ""}
	unlisted := "query Hello { hello products { upc } }"
	tests := []struct {
		name string
		body string
		want wantResolve
	}{
		{"hash only, listed", pqBody("", sha(pqHello)), wantResolve{query: pqHello}},
		{"hash only, other listed", pqBody("", sha(pqProducts)), wantResolve{query: pqProducts}},
		{"hash in upper case", pqBody("", strings.ToUpper(sha(pqProducts))), wantResolve{query: pqProducts}},
		{"custom id", pqBody("", "set-hello-v1"), wantResolve{query: pqSetHello}},
		{"sha of a body listed under a custom id", pqBody("", sha(pqSetHello)), wantResolve{query: pqSetHello}},
		{"unknown hash", pqBody("", sha(unlisted)), notInList},
		{"unknown id", pqBody("", "set-hello-v2"), notInList},
		{"id differing in case", pqBody("", "SET-HELLO-V1"), notInList},
		{"listed query, byte-identical", fmt.Sprintf(`{"query":%q}`, pqProducts), wantResolve{query: pqProducts}},
		{"listed query with its hash", pqBody(pqHello, sha(pqHello)), wantResolve{query: pqHello}},
		{"listed query with its custom id", pqBody(pqSetHello, "set-hello-v1"), wantResolve{query: pqSetHello}},
		{"listed query, another listed hash", pqBody(pqHello, sha(pqProducts)), mismatch},
		{"listed query, unknown hash", pqBody(pqHello, sha(unlisted)), mismatch},
		// The same syntax tree as a listed document: the same operation.
		{"listed query, whitespace changed", fmt.Sprintf(`{"query":%q}`, "query Hello {hello}"), wantResolve{query: "query Hello {hello}"}},
		{"listed query, a comment added", fmt.Sprintf(`{"query":%q}`, "# hi\nquery Hello { hello }"), wantResolve{query: "# hi\nquery Hello { hello }"}},
		{"listed query, an alias added", fmt.Sprintf(`{"query":%q}`, "query Hello { h: hello }"), notInList},
		{"unlisted query", fmt.Sprintf(`{"query":%q}`, unlisted), notInList},
		{"unlisted query with its own hash (APQ registration)", pqBody(unlisted, sha(unlisted)), notInList},
		{"unlisted query with a listed hash", pqBody(unlisted, sha(pqHello)), notInList},
		{"version 2", `{"extensions":{"persistedQuery":{"version":2,"sha256Hash":"` + sha(pqHello) + `"}}}`, wantResolve{status: http.StatusBadRequest, code: errcode.BadRequest}},
		{"neither query nor hash is left to the front door", `{"variables":{}}`, wantResolve{query: ""}},
	}
	for _, manifest := range []string{"apollo.json", "plain.json"} {
		t.Run(manifest, func(t *testing.T) {
			ps := mustPersisted(t, config.PersistedOperations{Mode: "safelist", Manifest: filepath.Join("testdata", "persisted", manifest)})
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					checkResolve(t, ps, tt.body, tt.want)
				})
			}
			t.Run("remember cannot extend the safelist", func(t *testing.T) {
				ps.remember(params(t, pqBody(unlisted, sha(unlisted))))
				checkResolve(t, ps, pqBody("", sha(unlisted)), notInList)
			})
		})
	}
}

func TestPersistedEmptyManifestRefusesEverything(t *testing.T) {
	path := writeManifest(t, `{}`)
	ps := mustPersisted(t, config.PersistedOperations{Mode: "safelist", Manifest: path})
	checkResolve(t, ps, pqBody("", sha(pqHello)), wantResolve{status: http.StatusForbidden, code: errcode.PersistedNotInList})
	checkResolve(t, ps, fmt.Sprintf(`{"query":%q}`, pqHello), wantResolve{status: http.StatusForbidden, code: errcode.PersistedNotInList})
}

func writeManifest(t *testing.T, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "manifest.json")
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestPersistedManifestErrors(t *testing.T) {
	apollo := func(ops string) string {
		return `{"format":"apollo-persisted-query-manifest","version":1,"operations":[` + ops + `]}`
	}
	op := func(id, body string) string {
		return fmt.Sprintf(`{"id":%q,"name":"Op","type":"query","body":%q}`, id, body)
	}
	tests := []struct {
		name    string
		content string // "" means the file does not exist
		want    string
	}{
		{"missing file", "", "no such file"},
		{"not JSON", `{"a": `, "parsing JSON"},
		{"trailing garbage", `{} {}`, "parsing JSON"},
		{"array", `[]`, "parsing JSON"},
		{"null", `null`, "expected a JSON object"},
		{"unknown format", `{"format":"relay","version":1,"operations":[]}`, `unknown manifest format "relay"`},
		{"format not a string", `{"format":1}`, "parsing Apollo manifest"},
		{"unsupported version", `{"format":"apollo-persisted-query-manifest","version":2,"operations":[]}`, "unsupported manifest version 2"},
		{"operations without format", `{"operations":[]}`, "unknown manifest format"},
		{"plain map with a non-string value", `{"abc":"{ hello }","def":{"body":"{ hello }"}}`, `"def" is not a string`},
		{"apollo op without id", apollo(op("", pqHello)), "missing id"},
		{"apollo op with empty body", apollo(op("x", " ")), "empty body"},
		{"apollo op whose sha id is not its body's", apollo(op(sha(pqProducts), pqHello)), "is a sha256 but not that of its body"},
		{"apollo op whose body does not parse", apollo(op("x", "query {")), "parsing body"},
		{"apollo duplicate id, two bodies", apollo(op("x", pqHello) + "," + op("x", pqProducts)), "already names another body"},
		{"plain sha key not its body's", fmt.Sprintf(`{%q:%q}`, sha(pqProducts), pqHello), "is a sha256 but not that of its body"},
		{"plain empty body", `{"x":""}`, "empty body"},
		{"plain body does not parse", `{"x":"{ hello"}`, "parsing body"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "absent.json")
			if tt.content != "" {
				path = writeManifest(t, tt.content)
			}
			ps, err := newPersisted(config.PersistedOperations{Mode: "safelist", Manifest: path}, nil)
			if err == nil {
				t.Fatalf("newPersisted loaded %s (%v), want an error", tt.content, ps)
			}
			if !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), path) {
				t.Fatalf("error %q, want it to name %q and contain %q", err, path, tt.want)
			}
		})
	}
}

func TestPersistedManifestFormatsAgree(t *testing.T) {
	var got []map[string]string
	for _, m := range []string{"apollo.json", "plain.json"} {
		docs, err := trusted.ReadManifest(filepath.Join("testdata", "persisted", m))
		if err != nil {
			t.Fatalf("loading %s: %v", m, err)
		}
		ops := map[string]string{}
		for _, d := range docs {
			ops[d.ID] = d.Body
		}
		got = append(got, ops)
	}
	want := map[string]string{sha(pqHello): pqHello, sha(pqProducts): pqProducts, "set-hello-v1": pqSetHello}
	for i, ops := range got {
		if !reflect.DeepEqual(ops, want) {
			t.Errorf("manifest %d = %v, want %v", i, ops, want)
		}
	}
}

func TestPersistedAPQCacheBound(t *testing.T) {
	key := func(q string) [sha256.Size]byte { return sha256.Sum256([]byte(q)) }
	t.Run("entries, least recently used first", func(t *testing.T) {
		c := newAPQCache(3, 1<<20)
		for _, q := range []string{"a", "b", "c"} {
			c.add(key(q), q)
		}
		c.get(key("a")) // a is now more recent than b
		c.add(key("d"), "d")
		if _, ok := c.get(key("b")); ok {
			t.Error("b survived; the least recently used entry must go")
		}
		for _, q := range []string{"a", "c", "d"} {
			if got, ok := c.get(key(q)); !ok || got != q {
				t.Errorf("get(%s) = %q, %v", q, got, ok)
			}
		}
		if n, b := c.len(); n != 3 || b != 3 {
			t.Errorf("len = %d entries, %d bytes; want 3, 3", n, b)
		}
	})
	t.Run("bytes", func(t *testing.T) {
		c := newAPQCache(100, 10)
		for _, q := range []string{"1111", "2222", "3333"} {
			c.add(key(q), q)
		}
		if _, ok := c.get(key("1111")); ok {
			t.Error("1111 survived past the byte bound")
		}
		if n, b := c.len(); n != 2 || b != 8 {
			t.Errorf("len = %d entries, %d bytes; want 2, 8", n, b)
		}
		c.add(key("too long a query"), "too long a query")
		if _, ok := c.get(key("too long a query")); ok {
			t.Error("a query over the whole byte budget was stored")
		}
		if n, b := c.len(); n != 2 || b != 8 {
			t.Errorf("after an oversized add: len = %d entries, %d bytes; want 2, 8", n, b)
		}
	})
	t.Run("re-adding counts once", func(t *testing.T) {
		c := newAPQCache(10, 100)
		c.add(key("abc"), "abc")
		c.add(key("abc"), "abc")
		if n, b := c.len(); n != 1 || b != 3 {
			t.Errorf("len = %d entries, %d bytes; want 1, 3", n, b)
		}
	})
	t.Run("route cache holds apqMaxEntries", func(t *testing.T) {
		ps := mustPersisted(t, config.PersistedOperations{Mode: "allow_apq"})
		query := func(i int) string { return fmt.Sprintf("query Q%d { hello }", i) }
		for i := 0; i <= apqMaxEntries; i++ {
			q := query(i)
			ps.remember(analysis.Request{Query: q, Extensions: map[string]any{"persistedQuery": map[string]any{"version": float64(1), "sha256Hash": sha(q)}}})
		}
		if n, _ := ps.apq.len(); n != apqMaxEntries {
			t.Errorf("cache holds %d entries, want %d", n, apqMaxEntries)
		}
		checkResolve(t, ps, pqBody("", sha(query(0))), wantResolve{status: http.StatusBadRequest, code: errcode.PersistedNotFound})
		checkResolve(t, ps, pqBody("", sha(query(apqMaxEntries))), wantResolve{query: query(apqMaxEntries)})
	})
}

// Run with -race: one checker serves every request of a route at once.
func TestPersistedConcurrent(t *testing.T) {
	apq := mustPersisted(t, config.PersistedOperations{Mode: "allow_apq"})
	safe := mustPersisted(t, config.PersistedOperations{Mode: "safelist", Manifest: filepath.Join("testdata", "persisted", "apollo.json")})
	var wg sync.WaitGroup
	errs := make(chan string, 64)
	for g := range 8 {
		wg.Go(func() {
			for i := range 200 {
				// Few distinct queries, so goroutines hit each other's entries.
				q := fmt.Sprintf("query Q%d { hello }", (g*200+i)%50)
				reg, _ := decodeParams(pqBody(q, sha(q)))
				if ref := apq.resolve(&reg); ref != nil {
					errs <- fmt.Sprintf("registration of %q refused: %+v", q, errorsOf(ref))
					return
				}
				apq.remember(reg)
				p, _ := decodeParams(pqBody("", sha(q)))
				if ref := apq.resolve(&p); ref != nil || p.Query != q {
					errs <- fmt.Sprintf("hash of %q resolved to %q (%v)", q, p.Query, ref)
					return
				}
				s, _ := decodeParams(pqBody("", sha(pqProducts)))
				if ref := safe.resolve(&s); ref != nil || s.Query != pqProducts {
					errs <- fmt.Sprintf("safelist resolved %q (%v)", s.Query, ref)
					return
				}
				safe.remember(s)
			}
		})
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
}

func TestPersistedOutbound(t *testing.T) {
	rt := &Route{persisted: mustPersisted(t, config.PersistedOperations{Mode: "allow_apq"})}
	rt.readOpts = readOptions("refuse", true)
	tests := []struct {
		name, body, want string
	}{
		{"only persistedQuery", pqBody(pqHello, sha(pqHello)), `{"query":"` + pqHello + `"}`},
		{"other extensions kept", `{"query":"{ hello }","extensions":{"persistedQuery":{"version":1,"sha256Hash":"x"},"tracing":true}}`,
			`{"query":"{ hello }","extensions":{"tracing":true}}`},
		{"no persistedQuery", `{"query":"{ hello }","extensions":{"tracing":true}}`, `{"query":"{ hello }","extensions":{"tracing":true}}`},
		{"no extensions", `{"query":"{ hello }"}`, `{"query":"{ hello }"}`},
		{"documentId replaced by the query", `{"documentId":"sha256:` + sha(pqHello) + `"}`, `{"query":"` + pqHello + `"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			params, reqs, batch, ref := rt.parseBody([]byte(tt.body), 1)
			if ref != nil {
				t.Fatalf("refused: %+v", errorsOf(ref))
			}
			if reqs[0].HasDocumentID {
				// What resolution does: the query now travels in full.
				params[0].Query = pqHello
			}
			if got := string(rt.outboundBody(params, reqs, nil, batch)); got != tt.want {
				t.Errorf("outbound body\n got %s\nwant %s", got, tt.want)
			}
		})
	}
}
