package test

// End-to-end rate limiting through the gateway binary (the docs/ pages, the docs/ pages
// sections 5 and 6): every test sends real requests to `portcullis serve`
// and asserts status, code, the RateLimit headers and what the upstreams
// received.
//
// Tiers use rate 1 per 1h, so nothing refills while a test runs and every
// remaining value is exact. Each subtest is its own anonymous client: the
// gateway trusts 127.0.0.1 as a proxy, so X-Forwarded-For picks the client
// IP, and anonymous callers are keyed by IP.

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/portcullis-gw/portcullis/internal/testkit/redistest"
	"github.com/portcullis-gw/portcullis/test/upstreams"
)

// GraphQL operations and their estimated costs against configs/schemas
// (the docs/ pages: objects 1, scalars 0 unless @cost, lists multiply by
// their slicing argument). Computed by hand, and checked by
// `portcullis analyze`.
const (
	// product is one object: 1.
	rlQ1 = `{ product(upc: "1") { upc } }`
	// topProducts(first: 2) of Product (1) with free scalars: 2 × 1.
	rlQ2 = `{ topProducts(first: 2) { upc name } }`
	// price has @cost(weight: 2): 3 × (1 + 2).
	rlQ9 = `{ topProducts(first: 3) { upc price } }`
	// 50 × (1 + 2).
	rlQ150 = `{ topProducts(first: 50) { upc price } }`
	// Not a field of Product: refused by validation, before any charge.
	rlQInvalid = `{ topProducts { nope } }`
)

// rlHour is the `per` of every tier here: one unit refills per hour.
const rlHour = 3600

// rlSpec is the REST document of these tests: one operation with no
// x-portcullis-cost (so it costs the route's default_cost) and no security
// requirement (so anonymous callers reach it).
const rlSpec = `openapi: 3.1.0
info: {title: Orders (rate limit tests), version: 1.0.0}
servers:
  - url: /v1
security: []
paths:
  /orders/{id}:
    parameters:
      - {name: id, in: path, required: true, schema: {type: integer, minimum: 1}}
    get:
      operationId: getOrder
      responses:
        "200":
          description: The order.
          content:
            application/json:
              schema: {type: object}
`

// rlKey is the one valid API key of these tests; its identity is charged in
// tier "default" (it names no tier).
const (
	rlKey       = "rl-test-key"
	rlKeySHA256 = "6289990127e8d351603acd49f1f97bc0fc862ec6c0e7a5d8a1aba54657469083"
)

// rlConfig is a gateway with the shop GraphQL route (to the products
// subgraph), the orders REST route at /api (cost 2 per call), any extra
// REST routes, and the given rate_limit section (unindented YAML lines).
func rlConfig(set *upstreams.Set, rateLimit, extraREST string) string {
	indented := "  " + strings.ReplaceAll(strings.TrimSpace(rateLimit), "\n", "\n  ")
	return fmt.Sprintf(`
identity:
  anonymous: true
  api_keys:
    - {name: rl-partner, sha256: %s}
server:
  listen: 127.0.0.1:0
  admin_listen: 127.0.0.1:0
  max_body_bytes: 65536
  shutdown_grace: 5s
  trusted_proxies: [127.0.0.1/32]
graphql:
  - name: shop
    path: /graphql
    upstream: {url: %q, timeout: 5s}
    schema:
      subgraphs:
        - {name: accounts, file: schemas/accounts.graphql}
        - {name: products, file: schemas/products.graphql}
        - {name: reviews, file: schemas/reviews.graphql}
    limits: {max_batch: 3}
rest:
  - name: orders
    prefix: /api
    openapi: specs/rl-orders.yaml
    upstream: {url: %q, timeout: 5s}
    strip_prefix: true
    default_cost: 2
%s
rate_limit:
%s
`, rlKeySHA256, set.Products.Endpoint, set.Orders.URL, extraREST, indented)
}

// rlStart starts the gateway on yaml (with the rate limit tests' REST
// document beside it) with the upstreams' records fresh.
func rlStart(t *testing.T, set *upstreams.Set, yaml string) *proc {
	t.Helper()
	return startFresh(t, set, rlWriteConfig(t, yaml))
}

func rlWriteConfig(t *testing.T, yaml string) string {
	t.Helper()
	path := writeConfig(t, yaml)
	if err := os.WriteFile(filepath.Join(filepath.Dir(path), "specs", "rl-orders.yaml"), []byte(rlSpec), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// rlStartOnChildRedis starts the upstreams and a gateway whose store is a
// Redis child of this test (which it may kill and restart), with a short
// store timeout, on_store_error onError and the anonymous tier's burst.
func rlStartOnChildRedis(t *testing.T, onError string, burst int) (*redistest.Child, *upstreams.Set, *proc) {
	t.Helper()
	rs := redistest.StartChild(t)
	set := upstreams.StartAll(t)
	gw := rlStart(t, set, rlConfig(set, fmt.Sprintf(`
store: redis
redis: {address: %q, db: 0}
on_store_error: %s
timeout: 300ms
tiers:
  anonymous: {rate: 1, per: 1h, burst: %d}
`, rs.Addr(), onError, burst), ""))
	return rs, set, gw
}

// rlClient bounds every request: a gateway waiting on a dead store must
// answer, not hang (a hang guard, not a timing assertion).
var rlClient = &http.Client{Timeout: 5 * time.Second}

// rlReply is one response, read whole.
type rlReply struct {
	status int
	header http.Header
	body   []byte
}

func (r rlReply) String() string {
	return fmt.Sprintf("%d RateLimit-Policy=%q RateLimit=%q Retry-After=%q %s", r.status,
		r.header.Get("RateLimit-Policy"), r.header.Get("RateLimit"), r.header.Get("Retry-After"), r.body)
}

// rlSend makes a request as the client at ip.
func rlSend(t *testing.T, method, url, ip, body string) rlReply {
	t.Helper()
	return rlSendWith(t, method, url, ip, body, nil)
}

// rlSendWith is rlSend with extra request headers.
func rlSendWith(t *testing.T, method, url, ip, body string, hdr map[string]string) rlReply {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("X-Forwarded-For", ip)
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	rp, err := rlDo(rlClient, req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	return rp
}

// rlDo sends req and reads the answer whole. It does not need a *testing.T,
// so concurrent callers use it from their goroutines.
func rlDo(c *http.Client, req *http.Request) (rlReply, error) {
	resp, err := c.Do(req)
	if err != nil {
		return rlReply{}, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return rlReply{}, fmt.Errorf("reading the answer: %w", err)
	}
	return rlReply{status: resp.StatusCode, header: resp.Header, body: b}, nil
}

func rlGQL(t *testing.T, gw *proc, ip, query string) rlReply {
	t.Helper()
	b, _ := json.Marshal(map[string]string{"query": query})
	return rlSend(t, http.MethodPost, gw.url("/graphql"), ip, string(b))
}

func rlREST(t *testing.T, gw *proc, ip string) rlReply {
	t.Helper()
	return rlSend(t, http.MethodGet, gw.url("/api/v1/orders/1"), ip, "")
}

// rlStructured parses `"<name>";k=v;k=v` with integer values (the RateLimit
// and RateLimit-Policy syntax of the docs/ pages).
func rlStructured(v string) (name string, params map[string]int, ok bool) {
	if !strings.HasPrefix(v, `"`) {
		return "", nil, false
	}
	end := strings.Index(v[1:], `"`)
	if end < 0 {
		return "", nil, false
	}
	name, rest := v[1:end+1], v[end+2:]
	params = map[string]int{}
	if rest == "" {
		return name, params, true
	}
	if rest[0] != ';' {
		return "", nil, false
	}
	for _, item := range strings.Split(rest[1:], ";") {
		k, val, found := strings.Cut(item, "=")
		n, err := strconv.Atoi(val)
		if !found || err != nil || n < 0 {
			return "", nil, false
		}
		if _, dup := params[k]; dup {
			return "", nil, false
		}
		params[k] = n
	}
	return name, params, true
}

// rlHeaders are the parsed rate limit headers of one response.
type rlHeaders struct {
	tier       string
	q, w, r, t int
	retryAfter int // -1: absent
}

func rlParse(t *testing.T, rp rlReply) rlHeaders {
	t.Helper()
	var h rlHeaders
	pn, pp, ok := rlStructured(rp.header.Get("RateLimit-Policy"))
	if !ok || len(pp) != 2 {
		t.Fatalf("RateLimit-Policy missing or unparsable: %v", rp)
	}
	rn, rr, ok := rlStructured(rp.header.Get("RateLimit"))
	if !ok || len(rr) != 2 {
		t.Fatalf("RateLimit missing or unparsable: %v", rp)
	}
	if pn != rn {
		t.Fatalf("RateLimit-Policy names %q, RateLimit %q: %v", pn, rn, rp)
	}
	var q1, w1, r1, t1 bool
	h.tier = pn
	h.q, q1 = pp["q"]
	h.w, w1 = pp["w"]
	h.r, r1 = rr["r"]
	h.t, t1 = rr["t"]
	if !q1 || !w1 || !r1 || !t1 {
		t.Fatalf("rate limit headers lack q, w, r or t: %v", rp)
	}
	h.retryAfter = -1
	if vs := rp.header.Values("Retry-After"); len(vs) > 0 {
		n, err := strconv.Atoi(vs[0])
		if len(vs) != 1 || err != nil || n < 1 {
			t.Fatalf("Retry-After is not one positive integer: %v", rp)
		}
		h.retryAfter = n
	}
	return h
}

// rlWithin reports got in [want-60, want]: values counting down in whole
// seconds from the moment of a charge are at most want and lose a second
// only when the test itself is slow.
func rlWithin(got, want int) bool { return got <= want && got >= want-60 }

// rlWantLimit asserts the rate limit headers of a response in tier with burst
// q and rate 1 unit per hour: r units left, and, on a refusal of cost
// units, a Retry-After.
func rlWantLimit(t *testing.T, rp rlReply, tier string, q, r int, refusedCost int) {
	t.Helper()
	h := rlParse(t, rp)
	if h.tier != tier || h.q != q || h.w != q*rlHour {
		t.Errorf(`RateLimit-Policy = %q;q=%d;w=%d, want %q;q=%d;w=%d (%v)`, h.tier, h.q, h.w, tier, q, q*rlHour, rp)
	}
	if h.r != r {
		t.Errorf("RateLimit r=%d, want %d (%v)", h.r, r, rp)
	}
	// t: the spent units refill at one per hour.
	if !rlWithin(h.t, (q-r)*rlHour) {
		t.Errorf("RateLimit t=%d, want about %d (%v)", h.t, (q-r)*rlHour, rp)
	}
	switch {
	case refusedCost == 0 && h.retryAfter != -1:
		t.Errorf("Retry-After on a response that was not refused: %v", rp)
	case refusedCost > 0 && !rlWithin(h.retryAfter, (refusedCost-r)*rlHour):
		t.Errorf("Retry-After = %d, want about %d (%v)", h.retryAfter, (refusedCost-r)*rlHour, rp)
	}
}

// rlWantOK asserts a forwarded, answered request.
func rlWantOK(t *testing.T, rp rlReply) {
	t.Helper()
	if rp.status != http.StatusOK {
		t.Fatalf("want 200, got %v", rp)
	}
	if strings.Contains(string(rp.body), `"errors"`) {
		t.Fatalf("answer has errors: %v", rp)
	}
}

// rlWantGQLError asserts the GraphQL error shape with code and no data.
func rlWantGQLError(t *testing.T, rp rlReply, status int, code string) map[string]any {
	t.Helper()
	var body struct {
		Errors []struct {
			Message    string
			Extensions map[string]any
		}
		Data json.RawMessage
	}
	if err := json.Unmarshal(rp.body, &body); err != nil || len(body.Errors) == 0 {
		t.Fatalf("want GraphQL errors, got %v", rp)
	}
	if rp.status != status || body.Errors[0].Extensions["code"] != code {
		t.Fatalf("want %d %s, got %v", status, code, rp)
	}
	if ct := rp.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("Content-Type = %q", ct)
	}
	if len(body.Data) != 0 {
		t.Errorf("refusal carries data: %v", rp)
	}
	if body.Errors[0].Message == "" {
		t.Errorf("error without message: %v", rp)
	}
	return body.Errors[0].Extensions
}

// rlWantProblem asserts an RFC 9457 problem document with code.
func rlWantProblem(t *testing.T, rp rlReply, status int, code string) map[string]any {
	t.Helper()
	var p map[string]any
	if err := json.Unmarshal(rp.body, &p); err != nil {
		t.Fatalf("want a problem document, got %v", rp)
	}
	if rp.status != status || p["code"] != code {
		t.Fatalf("want %d %s, got %v", status, code, rp)
	}
	if ct := rp.header.Get("Content-Type"); ct != "application/problem+json" {
		t.Errorf("Content-Type = %q, want application/problem+json", ct)
	}
	if p["status"] != float64(status) || p["title"] != http.StatusText(status) || !strings.HasPrefix(fmt.Sprint(p["type"]), "https://") {
		t.Errorf("problem lacks type/title/status: %v", rp)
	}
	return p
}

// rlWantUntouched fails if any upstream received a request since the last reset.
func rlWantUntouched(t *testing.T, set *upstreams.Set) {
	t.Helper()
	for _, s := range set.All() {
		if n := s.Recorder.Count(); n != 0 {
			t.Fatalf("%s received %d requests; a refusal must reach no upstream", s.Name, n)
		}
	}
}

// rlWantForwarded asserts the upstream got exactly n requests, the last one
// carrying substr (a query, or a path).
func rlWantForwarded(t *testing.T, svc *upstreams.Service, n int, substr string) {
	t.Helper()
	reqs := svc.Recorder.Requests()
	if len(reqs) != n {
		t.Fatalf("%s received %d requests, want %d", svc.Name, len(reqs), n)
	}
	if n == 0 {
		return
	}
	last := reqs[n-1]
	if !strings.Contains(last.Path+" "+string(last.Body), substr) {
		t.Fatalf("%s received %s %s, want %q in it", svc.Name, last.Path, last.Body, substr)
	}
}

// TestRateLimitHeaders: every response of a limited route, GraphQL and
// REST, allowed and refused, carries parsable RateLimit-Policy and RateLimit
// headers, r falls by each request's cost, and a refusal is 429 with
// Retry-After that reaches no upstream.
func TestRateLimitHeaders(t *testing.T) {
	set := upstreams.StartAll(t)
	gw := rlStart(t, set, rlConfig(set, `
tiers:
  anonymous: {rate: 1, per: 1h, burst: 6}
`, ""))
	const ip = "10.1.0.1"

	set.ResetAll()
	rp := rlGQL(t, gw, ip, rlQ2)
	rlWantOK(t, rp)
	rlWantLimit(t, rp, "anonymous", 6, 4, 0)
	rlWantForwarded(t, set.Products, 1, "topProducts(first: 2)")

	rp = rlREST(t, gw, ip)
	rlWantOK(t, rp)
	rlWantLimit(t, rp, "anonymous", 6, 2, 0)
	rlWantForwarded(t, set.Orders, 1, "/v1/orders/1")

	rp = rlGQL(t, gw, ip, rlQ2)
	rlWantOK(t, rp)
	rlWantLimit(t, rp, "anonymous", 6, 0, 0)
	rlWantForwarded(t, set.Products, 2, "topProducts(first: 2)")

	set.ResetAll()
	rp = rlGQL(t, gw, ip, rlQ2)
	rlWantGQLError(t, rp, http.StatusTooManyRequests, "RATE_LIMITED")
	rlWantLimit(t, rp, "anonymous", 6, 0, 2)
	rp = rlREST(t, gw, ip)
	rlWantProblem(t, rp, http.StatusTooManyRequests, "RATE_LIMITED")
	rlWantLimit(t, rp, "anonymous", 6, 0, 2)
	rlWantUntouched(t, set)

	t.Run("a tier whose burst refills in a fraction of a second rounds w up", func(t *testing.T) {
		set := upstreams.StartAll(t)
		// w = ceil(5 × 1s / 10) = 1, not 0.
		gw := rlStart(t, set, rlConfig(set, `
tiers:
  anonymous: {rate: 10, per: 1s, burst: 5}
`, ""))
		rp := rlGQL(t, gw, "10.1.0.2", rlQ1)
		rlWantOK(t, rp)
		h := rlParse(t, rp)
		if h.tier != "anonymous" || h.q != 5 || h.w != 1 || h.r != 4 || h.t != 1 || h.retryAfter != -1 {
			t.Fatalf("headers %+v, want q=5 w=1 r=4 t=1: %v", h, rp)
		}
	})
}

// TestRateLimitSharedBudget: one client's GraphQL and REST calls draw on
// one budget; spending it on either route refuses the other.
func TestRateLimitSharedBudget(t *testing.T) {
	set := upstreams.StartAll(t)
	gw := rlStart(t, set, rlConfig(set, `
tiers:
  anonymous: {rate: 1, per: 1h, burst: 10}
`, ""))

	t.Run("spent on GraphQL, refused on REST", func(t *testing.T) {
		const ip = "10.2.0.1"
		set.ResetAll()
		for i := 1; i <= 5; i++ {
			rp := rlGQL(t, gw, ip, rlQ2)
			rlWantOK(t, rp)
			rlWantLimit(t, rp, "anonymous", 10, 10-2*i, 0)
		}
		rlWantForwarded(t, set.Products, 5, "topProducts")
		set.ResetAll()
		rp := rlREST(t, gw, ip)
		rlWantProblem(t, rp, http.StatusTooManyRequests, "RATE_LIMITED")
		rlWantLimit(t, rp, "anonymous", 10, 0, 2)
		rlWantUntouched(t, set)
	})
	t.Run("spent on REST, refused on GraphQL", func(t *testing.T) {
		const ip = "10.2.0.2"
		set.ResetAll()
		for i := 1; i <= 4; i++ {
			rp := rlREST(t, gw, ip)
			rlWantOK(t, rp)
			rlWantLimit(t, rp, "anonymous", 10, 10-2*i, 0)
		}
		rlWantForwarded(t, set.Orders, 4, "/v1/orders/1")
		// 2 left: a cost-9 query is refused, a cost-2 one passes.
		set.ResetAll()
		rp := rlGQL(t, gw, ip, rlQ9)
		rlWantGQLError(t, rp, http.StatusTooManyRequests, "RATE_LIMITED")
		rlWantLimit(t, rp, "anonymous", 10, 2, 9)
		rlWantUntouched(t, set)
		rp = rlGQL(t, gw, ip, rlQ2)
		rlWantOK(t, rp)
		rlWantLimit(t, rp, "anonymous", 10, 0, 0)
		set.ResetAll()
		rp = rlGQL(t, gw, ip, rlQ1)
		rlWantGQLError(t, rp, http.StatusTooManyRequests, "RATE_LIMITED")
		rlWantLimit(t, rp, "anonymous", 10, 0, 1)
		rlWantUntouched(t, set)
	})
	t.Run("another client's budget is untouched", func(t *testing.T) {
		set.ResetAll()
		rp := rlREST(t, gw, "10.2.0.3")
		rlWantOK(t, rp)
		rlWantLimit(t, rp, "anonymous", 10, 8, 0)
	})
}

// TestRateLimitCostWeighted: with equal budgets, an expensive query is
// refused after fewer requests than a cheap one, each charged its
// estimated cost exactly.
func TestRateLimitCostWeighted(t *testing.T) {
	set := upstreams.StartAll(t)
	gw := rlStart(t, set, rlConfig(set, `
tiers:
  anonymous: {rate: 1, per: 1h, burst: 30}
`, ""))

	// admitted sends query until refused and returns how many passed,
	// asserting r after each.
	admitted := func(t *testing.T, ip, query string, cost int) int {
		t.Helper()
		set.ResetAll()
		n := 0
		for left := 30; ; {
			rp := rlGQL(t, gw, ip, query)
			if left < cost {
				rlWantGQLError(t, rp, http.StatusTooManyRequests, "RATE_LIMITED")
				rlWantLimit(t, rp, "anonymous", 30, left, cost)
				rlWantForwarded(t, set.Products, n, "topProducts")
				return n
			}
			left -= cost
			n++
			rlWantOK(t, rp)
			rlWantLimit(t, rp, "anonymous", 30, left, 0)
			if n > 30 {
				t.Fatal("never refused")
			}
		}
	}
	cheap := admitted(t, "10.3.0.1", rlQ2, 2)
	expensive := admitted(t, "10.3.0.2", rlQ9, 9)
	if cheap != 15 || expensive != 3 {
		t.Fatalf("admitted %d cheap (cost 2) and %d expensive (cost 9), want 15 and 3", cheap, expensive)
	}
	// The expensive client's 3 units are still there: the refusal spent nothing.
	rp := rlGQL(t, gw, "10.3.0.2", rlQ2)
	rlWantOK(t, rp)
	rlWantLimit(t, rp, "anonymous", 30, 1, 0)

	t.Run("a batch is charged the sum of its operations", func(t *testing.T) {
		const ip = "10.3.0.3"
		batch, _ := json.Marshal([]map[string]string{{"query": rlQ2}, {"query": rlQ9}})
		set.ResetAll()
		rp := rlSend(t, http.MethodPost, gw.url("/graphql"), ip, string(batch))
		// The subgraph need not serve batches: only the charge and the
		// forwarding matter here.
		rlWantLimit(t, rp, "anonymous", 30, 30-11, 0)
		rlWantForwarded(t, set.Products, 1, "topProducts(first: 3)")
		// 19 left: a second batch (11) passes, a third is refused whole.
		rlWantLimit(t, rlSend(t, http.MethodPost, gw.url("/graphql"), ip, string(batch)), "anonymous", 30, 8, 0)
		set.ResetAll()
		rp = rlSend(t, http.MethodPost, gw.url("/graphql"), ip, string(batch))
		rlWantGQLError(t, rp, http.StatusTooManyRequests, "RATE_LIMITED")
		rlWantLimit(t, rp, "anonymous", 30, 8, 11)
		rlWantUntouched(t, set)
	})
}

// rlCostExt reads cost.estimated and cost.max from GraphQL extensions or
// problem members: flat keys, as the analysis's max_cost refusal writes
// them; -1 when absent.
func rlCostExt(m map[string]any) (estimated, max float64) {
	estimated, max = -1, -1
	if v, ok := m["cost.estimated"].(float64); ok {
		estimated = v
	}
	if v, ok := m["cost.max"].(float64); ok {
		max = v
	}
	return estimated, max
}

// TestRateLimitTooExpensive: an operation costing more than the burst can
// never pass; it is refused at once as too expensive, with the burst as
// cost.max, without spending the budget or reaching the upstream.
func TestRateLimitTooExpensive(t *testing.T) {
	set := upstreams.StartAll(t)
	gw := rlStart(t, set, rlConfig(set, `
tiers:
  anonymous: {rate: 1, per: 1h, burst: 30}
`, `  - name: bulk
    prefix: /bulk
    openapi: specs/rl-orders.yaml
    upstream: {url: "`+set.Orders.URL+`", timeout: 5s}
    strip_prefix: true
    default_cost: 31
`))

	t.Run("graphql", func(t *testing.T) {
		const ip = "10.4.0.1"
		set.ResetAll()
		rp := rlGQL(t, gw, ip, rlQ150)
		ext := rlWantGQLError(t, rp, http.StatusBadRequest, "COST_ESTIMATED_TOO_EXPENSIVE")
		if est, max := rlCostExt(ext); est != 150 || max != 30 {
			t.Errorf("extensions %v: want cost estimated 150, max 30 (the burst)", ext)
		}
		rlWantLimit(t, rp, "anonymous", 30, 30, 0)
		rlWantUntouched(t, set)

		rp = rlGQL(t, gw, ip, rlQ2)
		rlWantOK(t, rp)
		rlWantLimit(t, rp, "anonymous", 30, 28, 0)
	})
	t.Run("rest", func(t *testing.T) {
		const ip = "10.4.0.2"
		set.ResetAll()
		rp := rlSend(t, http.MethodGet, gw.url("/bulk/v1/orders/1"), ip, "")
		p := rlWantProblem(t, rp, http.StatusBadRequest, "COST_ESTIMATED_TOO_EXPENSIVE")
		if est, max := rlCostExt(p); est != 31 || max != 30 {
			t.Errorf("problem %v: want cost estimated 31, max 30 (the burst)", p)
		}
		rlWantLimit(t, rp, "anonymous", 30, 30, 0)
		rlWantUntouched(t, set)

		rp = rlREST(t, gw, ip)
		rlWantOK(t, rp)
		rlWantLimit(t, rp, "anonymous", 30, 28, 0)
	})
}

// TestRateLimitRedisShared: two gateway processes on one Redis admit
// exactly the burst for one client, however the concurrent requests fall
// between them, and another client's budget is its own.
func TestRateLimitRedisShared(t *testing.T) {
	const db = 14
	rdb := redistest.Client(t, db)
	opts := rdb.Options()
	redistest.DeleteKeys(t, rdb, "portcullis:rl:{anonymous:ip:10.5.0.*}")

	set := upstreams.StartAll(t)
	// A generous store timeout: this test is about counting, not outages.
	rl := fmt.Sprintf(`
store: redis
redis: {address: %q, password: %q, db: %d}
on_store_error: fail_closed
timeout: 2s
tiers:
  anonymous: {rate: 1, per: 1h, burst: 20}
`, opts.Addr, opts.Password, db)
	gwA := rlStart(t, set, rlConfig(set, rl, ""))
	gwB := rlStart(t, set, rlConfig(set, rl, ""))

	const ip, other, callers = "10.5.0.1", "10.5.0.2", 64
	set.ResetAll()
	replies := make([]rlReply, callers)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range callers {
		gw := gwA
		if i%2 == 1 {
			gw = gwB
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			b, _ := json.Marshal(map[string]string{"query": rlQ1})
			req, _ := http.NewRequest(http.MethodPost, gw.url("/graphql"), strings.NewReader(string(b)))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("X-Forwarded-For", ip)
			rp, err := rlDo(rlClient, req)
			if err != nil {
				rp = rlReply{status: -1, body: []byte(err.Error())}
			}
			replies[i] = rp
		}()
	}
	close(start)
	wg.Wait()

	ok, limited := 0, 0
	seen := map[int]bool{}
	for _, rp := range replies {
		switch rp.status {
		case http.StatusOK:
			ok++
			h := rlParse(t, rp)
			if seen[h.r] {
				t.Errorf("two admitted requests both saw r=%d: the budget was not shared atomically", h.r)
			}
			seen[h.r] = true
		case http.StatusTooManyRequests:
			limited++
			rlWantGQLError(t, rp, http.StatusTooManyRequests, "RATE_LIMITED")
			rlWantLimit(t, rp, "anonymous", 20, 0, 1)
		default:
			t.Errorf("unexpected rlReply: %v", rp)
		}
	}
	if ok != 20 || limited != callers-20 {
		t.Fatalf("admitted %d and refused %d of %d, want exactly the burst (20) admitted", ok, limited, callers)
	}
	if n := set.Products.Recorder.Count(); n != 20 {
		t.Fatalf("products received %d requests, want 20", n)
	}

	// The bucket lives in Redis under the documented key, and expires.
	key := "portcullis:rl:{anonymous:ip:" + ip + "}"
	ttl, err := rdb.PTTL(context.Background(), key).Result()
	if err != nil || ttl <= 0 {
		t.Fatalf("key %s: ttl %v, err %v; want a namespaced, expiring key", key, ttl, err)
	}

	// Either gateway still refuses the spent client...
	for _, gw := range []*proc{gwA, gwB} {
		rp := rlGQL(t, gw, ip, rlQ1)
		rlWantGQLError(t, rp, http.StatusTooManyRequests, "RATE_LIMITED")
	}
	// ...while another client has its own budget, shared by both gateways.
	rp := rlGQL(t, gwA, other, rlQ1)
	rlWantOK(t, rp)
	rlWantLimit(t, rp, "anonymous", 20, 19, 0)
	rp = rlREST(t, gwB, other)
	rlWantOK(t, rp)
	rlWantLimit(t, rp, "anonymous", 20, 17, 0)
}

// TestRateLimitRedisOutage: when the Redis store dies, fail_closed answers
// 503 RATE_LIMIT_UNAVAILABLE at once and fail_open keeps serving within a
// per-replica budget; both recover by themselves when Redis is back.
func TestRateLimitRedisOutage(t *testing.T) {
	// Polls until the gateway's probe sees the restarted store (it backs off
	// up to 5s), accepting only the outage's answer until then.
	recovered := func(t *testing.T, gw *proc, ip string, outage func(rlReply) bool) rlReply {
		t.Helper()
		deadline := time.Now().Add(20 * time.Second)
		for {
			rp := rlGQL(t, gw, ip, rlQ1)
			if rp.status == http.StatusOK {
				return rp
			}
			if !outage(rp) {
				t.Fatalf("while recovering: %v", rp)
			}
			if time.Now().After(deadline) {
				t.Fatalf("not recovered 20s after Redis restarted: %v", rp)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}

	t.Run("fail_closed", func(t *testing.T) {
		rs, set, gw := rlStartOnChildRedis(t, "fail_closed", 100)
		const ip = "10.6.0.1"

		rp := rlGQL(t, gw, ip, rlQ1)
		rlWantOK(t, rp)
		rlWantLimit(t, rp, "anonymous", 100, 99, 0)
		if n, err := rs.Client().Exists(context.Background(), "portcullis:rl:{anonymous:ip:"+ip+"}").Result(); err != nil || n != 1 {
			t.Fatalf("bucket not in the child Redis: %d %v", n, err)
		}

		rs.Kill()
		set.ResetAll()
		for range 3 {
			rlWantGQLError(t, rlGQL(t, gw, ip, rlQ1), http.StatusServiceUnavailable, "RATE_LIMIT_UNAVAILABLE")
			rlWantProblem(t, rlREST(t, gw, ip), http.StatusServiceUnavailable, "RATE_LIMIT_UNAVAILABLE")
		}
		rlWantUntouched(t, set)

		rs.Start()
		rp = recovered(t, gw, ip, func(rp rlReply) bool {
			return rp.status == http.StatusServiceUnavailable && firstCode(t, rp.body) == "RATE_LIMIT_UNAVAILABLE"
		})
		// The restarted Redis is empty: a fresh bucket, charged once.
		rlWantLimit(t, rp, "anonymous", 100, 99, 0)
		rlWantForwarded(t, set.Products, 1, "product(upc")
		// The state changes are logged once each (stderr is read
		// asynchronously: wait for the recovery line).
		gw.waitLog(t, `"msg":"rate limit store available again"`)
		if n := strings.Count(gw.logs(), `"msg":"rate limit store unavailable"`); n != 1 {
			t.Errorf("outage logged %d times, want once:\n%s", n, gw.logs())
		}
	})

	t.Run("fail_open", func(t *testing.T) {
		rs, set, gw := rlStartOnChildRedis(t, "fail_open", 3)
		const ip = "10.6.0.2"

		rp := rlGQL(t, gw, ip, rlQ1)
		rlWantOK(t, rp)
		rlWantLimit(t, rp, "anonymous", 3, 2, 0)

		rs.Kill()
		set.ResetAll()
		// The local stand-in starts with a full bucket and still limits.
		for left := 2; left >= 0; left-- {
			rp := rlGQL(t, gw, ip, rlQ1)
			rlWantOK(t, rp)
			rlWantLimit(t, rp, "anonymous", 3, left, 0)
		}
		rlWantForwarded(t, set.Products, 3, "product(upc")
		set.ResetAll()
		rp = rlGQL(t, gw, ip, rlQ1)
		rlWantGQLError(t, rp, http.StatusTooManyRequests, "RATE_LIMITED")
		rlWantLimit(t, rp, "anonymous", 3, 0, 1)
		rlWantProblem(t, rlREST(t, gw, ip), http.StatusTooManyRequests, "RATE_LIMITED")
		rlWantUntouched(t, set)

		rs.Start()
		// Only Redis can admit this client now: the local bucket is empty.
		rp = recovered(t, gw, ip, func(rp rlReply) bool {
			return rp.status == http.StatusTooManyRequests && firstCode(t, rp.body) == "RATE_LIMITED"
		})
		rlWantLimit(t, rp, "anonymous", 3, 2, 0)
	})
}

// TestRateLimitPenalty: requests refused before forwarding spend the
// penalty (1 unit by default), so once probing has spent the budget, a
// valid request is refused too.
func TestRateLimitPenalty(t *testing.T) {
	set := upstreams.StartAll(t)
	gw := rlStart(t, set, rlConfig(set, `
tiers:
  anonymous: {rate: 1, per: 1h, burst: 3}
`, ""))

	t.Run("graphql validation errors", func(t *testing.T) {
		const ip = "10.7.0.1"
		set.ResetAll()
		for left := 2; left >= 0; left-- {
			rp := rlGQL(t, gw, ip, rlQInvalid)
			rlWantGQLError(t, rp, http.StatusBadRequest, "GRAPHQL_VALIDATION_FAILED")
			rlWantLimit(t, rp, "anonymous", 3, left, 0)
		}
		rp := rlGQL(t, gw, ip, rlQInvalid)
		rlWantGQLError(t, rp, http.StatusTooManyRequests, "RATE_LIMITED")
		rlWantLimit(t, rp, "anonymous", 3, 0, 1)
		rp = rlGQL(t, gw, ip, rlQ1)
		rlWantGQLError(t, rp, http.StatusTooManyRequests, "RATE_LIMITED")
		rlWantLimit(t, rp, "anonymous", 3, 0, 1)
		rp = rlREST(t, gw, ip)
		rlWantProblem(t, rp, http.StatusTooManyRequests, "RATE_LIMITED")
		rlWantUntouched(t, set)
	})
	t.Run("rest body too large", func(t *testing.T) {
		const ip = "10.7.0.2"
		set.ResetAll()
		big := `{"x":"` + strings.Repeat("a", 70000) + `"}`
		for left := 2; left >= 0; left-- {
			rp := rlSend(t, http.MethodGet, gw.url("/api/v1/orders/1"), ip, big)
			rlWantProblem(t, rp, http.StatusRequestEntityTooLarge, "REQUEST_TOO_LARGE")
			rlWantLimit(t, rp, "anonymous", 3, left, 0)
		}
		rp := rlSend(t, http.MethodGet, gw.url("/api/v1/orders/1"), ip, big)
		rlWantProblem(t, rp, http.StatusTooManyRequests, "RATE_LIMITED")
		rlWantLimit(t, rp, "anonymous", 3, 0, 1)
		rlWantGQLError(t, rlGQL(t, gw, ip, rlQ1), http.StatusTooManyRequests, "RATE_LIMITED")
		rlWantUntouched(t, set)
	})
}

// TestRateLimitConcurrency: with max_in_flight 1, a client's second request
// while the first waits on a slow upstream is refused with 429
// TOO_MANY_CONCURRENT_REQUESTS on any route; other clients are not, and the
// slot frees when the first request ends.
func TestRateLimitConcurrency(t *testing.T) {
	set := upstreams.StartAll(t)
	arrived := make(chan struct{}, 1)
	release := make(chan struct{})
	slow := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodHead {
			return // the gateway's readiness check
		}
		arrived <- struct{}{}
		<-release
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"slow":true}`)
	})}
	ln := listen(t)
	go slow.Serve(ln)
	t.Cleanup(func() { slow.Close() })
	gw := rlStart(t, set, rlConfig(set, `
tiers:
  anonymous: {rate: 1, per: 1h, burst: 100, max_in_flight: 1}
`, fmt.Sprintf(`  - name: slow
    prefix: /slow
    openapi: specs/rl-orders.yaml
    upstream: {url: "http://%s", timeout: 30s}
    strip_prefix: true
`, ln.Addr())))
	// Registered after the gateway's cleanup so it runs first: a failed
	// test must not leave the gateway draining a request that never ends.
	var once sync.Once
	free := func() { once.Do(func() { close(release) }) }
	t.Cleanup(free)
	const ip = "10.8.0.1"

	set.ResetAll()
	first := make(chan rlReply, 1)
	go func() {
		req, _ := http.NewRequest(http.MethodGet, gw.url("/slow/v1/orders/1"), nil)
		req.Header.Set("X-Forwarded-For", ip)
		rp, err := rlDo(&http.Client{Timeout: 30 * time.Second}, req)
		if err != nil {
			rp = rlReply{status: -1, body: []byte(err.Error())}
		}
		first <- rp
	}()
	select {
	case <-arrived:
	case rp := <-first:
		t.Fatalf("first request ended before reaching the slow upstream: %v", rp)
	case <-time.After(20 * time.Second):
		t.Fatal("first request never reached the slow upstream")
	}

	// A concurrency refusal is refused before forwarding: it pays the
	// penalty (1), not its cost (2 for REST, 9 for this query). The slow
	// route's call cost 1 (no default_cost): 99 left.
	rp := rlREST(t, gw, ip)
	rlWantProblem(t, rp, http.StatusTooManyRequests, "TOO_MANY_CONCURRENT_REQUESTS")
	if h := rlParse(t, rp); h.tier != "anonymous" || h.r != 98 {
		t.Errorf("after a REST concurrency refusal r=%d, want 98: %v", h.r, rp)
	}
	rp = rlGQL(t, gw, ip, rlQ9)
	rlWantGQLError(t, rp, http.StatusTooManyRequests, "TOO_MANY_CONCURRENT_REQUESTS")
	if h := rlParse(t, rp); h.tier != "anonymous" || h.r != 97 {
		t.Errorf("after a GraphQL concurrency refusal r=%d, want 97: %v", h.r, rp)
	}
	rlWantUntouched(t, set)

	// The cap is per client.
	rlWantOK(t, rlGQL(t, gw, "10.8.0.2", rlQ1))
	rlWantForwarded(t, set.Products, 1, "product(upc")

	free()
	rp = <-first
	if rp.status != http.StatusOK || string(rp.body) != `{"slow":true}` {
		t.Fatalf("first request: %v", rp)
	}
	rlParse(t, rp)
	// Its slot is free again.
	set.ResetAll()
	rp = rlREST(t, gw, ip)
	rlWantOK(t, rp)
	rlWantLimit(t, rp, "anonymous", 100, 95, 0)
	rlWantForwarded(t, set.Orders, 1, "/v1/orders/1")
}

// TestRateLimitAuthFailures: credentials that fail verification spend the
// client IP's own budget (rate_limit.auth_failures); once it is spent that
// IP's further bad attempts get 429 instead of 401, while its anonymous
// budget and valid credentials are untouched.
func TestRateLimitAuthFailures(t *testing.T) {
	set := upstreams.StartAll(t)
	gw := rlStart(t, set, rlConfig(set, `
auth_failures: {rate: 1, per: 1h, burst: 2}
tiers:
  anonymous: {rate: 1, per: 1h, burst: 10}
  default: {rate: 1, per: 1h, burst: 50}
`, ""))
	const ip = "10.9.0.1"
	bad := map[string]string{"X-API-Key": "guessed-key"}

	for range 2 {
		rp := rlSendWith(t, http.MethodPost, gw.url("/graphql"), ip, `{"query":"{ product(upc: \"1\") { upc } }"}`, bad)
		rlWantGQLError(t, rp, http.StatusUnauthorized, "UNAUTHENTICATED")
		if rp.header.Get("WWW-Authenticate") == "" {
			t.Errorf("401 without WWW-Authenticate: %v", rp)
		}
	}
	rp := rlSendWith(t, http.MethodPost, gw.url("/graphql"), ip, `{"query":"{ product(upc: \"1\") { upc } }"}`, bad)
	rlWantGQLError(t, rp, http.StatusTooManyRequests, "RATE_LIMITED")
	h := rlParse(t, rp)
	if h.q != 2 || h.w != 2*rlHour || h.r != 0 || !rlWithin(h.retryAfter, rlHour) {
		t.Errorf("auth failure budget headers %+v, want q=2 w=7200 r=0 Retry-After about 3600: %v", h, rp)
	}
	rp = rlSendWith(t, http.MethodGet, gw.url("/api/v1/orders/1"), ip, "", bad)
	rlWantProblem(t, rp, http.StatusTooManyRequests, "RATE_LIMITED")
	rlWantUntouched(t, set)

	// The same IP without credentials spends its anonymous budget, untouched so far.
	rp = rlGQL(t, gw, ip, rlQ1)
	rlWantOK(t, rp)
	rlWantLimit(t, rp, "anonymous", 10, 9, 0)
	// A valid key is not a failure: it is charged in its own tier.
	rp = rlSendWith(t, http.MethodGet, gw.url("/api/v1/orders/1"), ip, "", map[string]string{"X-API-Key": rlKey})
	rlWantOK(t, rp)
	rlWantLimit(t, rp, "default", 50, 48, 0)
	rlWantForwarded(t, set.Orders, 1, "/v1/orders/1")
}

// TestRateLimitStoreOutageLoggedOnce: store state changes are "logged
// once, not per request", so a Redis outage under load
// cannot flood the log; the access log has each refused request.
func TestRateLimitStoreOutageLoggedOnce(t *testing.T) {
	rs, _, gw := rlStartOnChildRedis(t, "fail_closed", 100)
	rlWantOK(t, rlGQL(t, gw, "10.11.0.1", rlQ1))
	rs.Kill()
	const n = 20
	for range n {
		rlWantGQLError(t, rlGQL(t, gw, "10.11.0.1", rlQ1), http.StatusServiceUnavailable, "RATE_LIMIT_UNAVAILABLE")
	}
	// Stop the gateway so its log is complete.
	if err := gw.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-gw.done:
		gw.done <- err // for startGateway's cleanup
	case <-time.After(30 * time.Second):
		t.Fatal("gateway did not stop")
	}
	warnings := 0
	for _, line := range strings.Split(gw.logs(), "\n") {
		if strings.Contains(line, `"level":"WARN"`) && strings.Contains(line, "unavailable") {
			warnings++
		}
	}
	if warnings != 1 {
		t.Fatalf("%d WARN lines about the store for %d refused requests, want 1 (the state change):\n%s", warnings, n, gw.logs())
	}
	gw.mu.Lock()
	access := gw.stdout.String()
	gw.mu.Unlock()
	if got := strings.Count(access, `"status":503,`); got != n || strings.Count(access, `"code":"RATE_LIMIT_UNAVAILABLE"`) != n {
		t.Fatalf("access log has %d 503 lines, want one for each of the %d refused requests:\n%s", got, n, access)
	}
}
