package main

import (
	"bytes"
	"embed"
	"fmt"
	"net/http"
	"strings"
)

//go:embed fixtures
var fixtures embed.FS

func fixture(name string) []byte {
	b, err := fixtures.ReadFile("fixtures/" + name)
	if err != nil {
		panic(err) // embedded at build time: a missing name is a programming error
	}
	return b
}

// varyMarker in a body is replaced, request by request, by a counter that
// never repeats within a run, so each request is a document the analysis
// cache has never seen.
const varyMarker = "@N@"

// workload is one kind of request, sent alike to the bare proxy and to each
// gateway of its row.
type workload struct {
	Name   string
	Method string
	Path   string
	Header http.Header
	Body   []byte
	// Vary: Body holds varyMarker.
	Vary bool
	// Want is the upstream's answer, which the check demands through every
	// target.
	Want []byte
	// Redis adds the Redis-store gateway to the row.
	Redis bool
	// Goal is the least throughput ratio to the bare proxy; RedisGoal the
	// Redis-store gateway's.
	Goal, RedisGoal float64
	// Refusals prove that the row's checks are on: each must be answered
	// by the gateway as stated, never by the upstream.
	Refusals []refusal
}

// refusal is a request the gateway must answer with Status and a body
// containing Contains.
type refusal struct {
	Why      string
	Method   string
	Path     string
	Header   http.Header
	Body     []byte
	Status   int
	Contains string
}

// p99Goal: a gateway's p99 latency may be at most this multiple of the bare
// proxy's in the same round.
const p99Goal = 1.5

// gqlBody is the GraphQL POST body of the fixture document with vars.
func gqlBody(doc string, vars map[string]any) []byte {
	req := map[string]any{"query": doc}
	if vars != nil {
		req["variables"] = vars
	}
	return mustJSON(req)
}

// tokens are the callers of the run: full holds every scope the checks
// ask for, narrow lacks users:email (so filter mode removes Author.email)
// and orders:write.
type tokens struct{ full, narrow string }

func bearer(tok string) http.Header {
	return http.Header{"Authorization": {"Bearer " + tok}}
}

func jsonHeader(tok string) http.Header {
	h := bearer(tok)
	h.Set("Content-Type", "application/json")
	return h
}

func workloads(tk tokens, rp replies) []workload {
	small := string(fixture("small.graphql"))
	medium := string(fixture("medium.graphql"))
	large := string(fixture("large.graphql"))
	mediumVars := map[string]any{"n": 3, "id": "b1"}
	fresh := strings.Replace(medium, `term: "dune"`, `term: "dune`+varyMarker+`"`, 1)
	order := fixture("order.json")
	badOrder := bytes.Replace(order, []byte(`"quantity": 7,`), []byte(`"quantity": "7",`), 1)
	gql := func(name, doc string, vars map[string]any, want []byte, goal float64) workload {
		return workload{
			Name: name, Method: http.MethodPost, Path: "/graphql", Header: jsonHeader(tk.full),
			Body: gqlBody(doc, vars), Want: want, Goal: goal,
		}
	}
	unauthorized := `"UNAUTHORIZED_FIELD_OR_TYPE"`

	sm := gql("small query", small, map[string]any{"id": "b1"}, rp.small, 0.90)
	sm.Refusals = []refusal{
		{Why: "no token", Method: http.MethodPost, Path: "/graphql", Header: http.Header{"Content-Type": {"application/json"}},
			Body: sm.Body, Status: http.StatusUnauthorized, Contains: "UNAUTHENTICATED"},
		{Why: "a forged token", Method: http.MethodPost, Path: "/graphql", Header: jsonHeader(tk.full[:len(tk.full)-4] + "AAAA"),
			Body: sm.Body, Status: http.StatusUnauthorized, Contains: "UNAUTHENTICATED"},
	}
	md := gql("medium query", medium, mediumVars, rp.medium, 0.90)
	md.Redis, md.RedisGoal = true, 0.80
	md.Refusals = []refusal{
		{Why: "a token without users:email (filter mode removes Author.email)", Method: http.MethodPost, Path: "/graphql",
			Header: jsonHeader(tk.narrow), Body: md.Body, Status: http.StatusOK, Contains: unauthorized},
		{Why: "newestAdditions(limit: 50) (a CEL policy reading the argument)", Method: http.MethodPost, Path: "/graphql",
			Header: jsonHeader(tk.full), Body: gqlBody(medium, map[string]any{"n": 50, "id": "b1"}), Status: http.StatusOK, Contains: unauthorized},
		{Why: "a cost over max_cost", Method: http.MethodPost, Path: "/graphql", Header: jsonHeader(tk.full),
			Body:   gqlBody(`query Shelf { newestAdditions(limit: 20) { related(first: 1000) { id } } }`, nil),
			Status: http.StatusBadRequest, Contains: "COST"},
		{Why: "too deep", Method: http.MethodPost, Path: "/graphql", Header: jsonHeader(tk.full),
			Body:   gqlBody(`query Shelf { book { related { related { related { related { related { related { related { related { related { related { related { id } } } } } } } } } } } } }`, nil),
			Status: http.StatusBadRequest, Contains: "DEPTH"},
	}
	lg := gql("large query", large, map[string]any{"n": 4}, rp.large, 0.80)
	lg.Refusals = []refusal{
		{Why: "a token without users:email", Method: http.MethodPost, Path: "/graphql",
			Header: jsonHeader(tk.narrow), Body: lg.Body, Status: http.StatusOK, Contains: unauthorized},
	}
	nw := gql("medium, new document each request", fresh, mediumVars, rp.medium, 0.55)
	nw.Vary = true

	restGet := "/api/v1/orders?status=paid&limit=20"
	get := workload{
		Name: "REST GET", Method: http.MethodGet, Path: restGet, Header: bearer(tk.full), Want: rp.rest, Goal: 0.90,
		Refusals: []refusal{
			{Why: "no token", Method: http.MethodGet, Path: restGet, Status: http.StatusUnauthorized, Contains: "UNAUTHENTICATED"},
			{Why: "a status outside the enum", Method: http.MethodGet, Path: "/api/v1/orders?status=lost", Header: bearer(tk.full),
				Status: http.StatusBadRequest, Contains: "VALIDATION_FAILED"},
			{Why: "an operation the spec does not list", Method: http.MethodDelete, Path: restGet, Header: bearer(tk.full),
				Status: http.StatusMethodNotAllowed, Contains: ""},
		},
	}
	get.Header.Set("X-Request-Tag", "corebench")
	post := workload{
		Name: "REST POST (1 KB validated body)", Method: http.MethodPost, Path: "/api/v1/orders", Header: jsonHeader(tk.full),
		Body: order, Want: rp.rest, Goal: 0.80,
		Refusals: []refusal{
			{Why: "a mistyped field", Method: http.MethodPost, Path: "/api/v1/orders", Header: jsonHeader(tk.full),
				Body: badOrder, Status: http.StatusBadRequest, Contains: "VALIDATION_FAILED"},
			{Why: "a token without orders:write", Method: http.MethodPost, Path: "/api/v1/orders", Header: jsonHeader(tk.narrow),
				Body: order, Status: http.StatusForbidden, Contains: "FORBIDDEN"},
		},
	}
	return []workload{sm, md, lg, get, post, nw}
}

// bodyFor is w's body for the n-th request of a varying workload.
func (w workload) bodyFor(n uint64) []byte {
	if !w.Vary {
		return w.Body
	}
	return bytes.Replace(w.Body, []byte(varyMarker), fmt.Appendf(nil, "%d", n), 1)
}

// describe is a short line of what the workload sends, for the report.
func (w workload) describe() string {
	s := fmt.Sprintf("%s %s", w.Method, strings.SplitN(w.Path, "?", 2)[0])
	if len(w.Body) > 0 {
		s += fmt.Sprintf(", %d B body", len(w.Body))
	}
	return s + fmt.Sprintf(", %d B answer", len(w.Want))
}
