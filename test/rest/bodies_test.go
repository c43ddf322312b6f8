package rest

// REST bodies: one reading for every back end (docs/security.md). The back
// end here is a Go service that decodes bodies into structs, the way
// encoding/json matches member names: case-insensitively, the last match
// winning. Through a route with allow_case_colliding_keys it reads the member
// the gateway did not check, which proves the attack; through the default
// route the same bodies are refused and it receives nothing.

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/portcullis-gw/portcullis/internal/testkit/gatewaytest"
	"github.com/portcullis-gw/portcullis/internal/testkit/upstreamtest"
)

// goStructService answers with what a Go struct decoder read.
func goStructService() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var in struct {
			UserID string `json:"userId"`
			Meta   struct {
				Role string `json:"role"`
			} `json:"meta"`
			Lines []struct {
				Account string `json:"account"`
			} `json:"lines"`
		}
		if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		accounts := []string{}
		for _, l := range in.Lines {
			accounts = append(accounts, l.Account)
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{"userId": in.UserID, "role": in.Meta.Role, "accounts": accounts})
	})
}

func startREST(t *testing.T) (*gatewaytest.Gateway, *upstreamtest.Server) {
	t.Helper()
	up := upstreamtest.Start(t, goStructService())
	cfg := gatewaytest.WriteConfig(t, fmt.Sprintf(`
`+gatewaytest.Server("max_body_bytes: 65536")+`identity:
  anonymous: true
rate_limit:
  tiers:
    anonymous: {rate: 100000, per: 1s, burst: 100000}
rest:
  - name: strict
    prefix: /strict
    openapi: boundary/transfers.yaml
    upstream: {url: %[1]q, timeout: 5s}
    strip_prefix: true
  - name: lax
    prefix: /lax
    openapi: boundary/transfers.yaml
    upstream: {url: %[1]q, timeout: 5s}
    strip_prefix: true
    allow_case_colliding_keys: true
`, up.URL))
	if err := os.CopyFS(filepath.Join(filepath.Dir(cfg), "boundary"), os.DirFS(filepath.Join("..", "testdata", "boundary"))); err != nil {
		t.Fatal(err)
	}
	gw := gatewaytest.Start(t, cfg)
	up.Reset()
	return gw, up
}

func TestBoundaryRESTCaseCollidingKeys(t *testing.T) {
	gw, up := startREST(t)
	for _, c := range []struct {
		name, body string
		// read is what the Go service reads when the body reaches it: the
		// value the gateway never checked.
		read string
	}{
		{"top level", `{"userId":"alice","UserId":"bob"}`, `"userId":"bob"`},
		{"top level, upper case", `{"userId":"alice","USERID":"bob"}`, `"userId":"bob"`},
		{"top level, long s (U+017F) folding to s", "{\"userId\":\"alice\",\"u\u017ferId\":\"bob\"}", `"userId":"bob"`},
		{"nested object", `{"userId":"alice","meta":{"role":"user","Role":"admin"}}`, `"role":"admin"`},
		{"inside an array", `{"userId":"alice","lines":[{"account":"alice"},{"account":"alice","Account":"bob"}]}`, `"accounts":["alice","bob"]`},
	} {
		t.Run(c.name, func(t *testing.T) {
			// Without the check the Go service acts on the unchecked member.
			up.Reset()
			rp := gatewaytest.Raw(t, gw.Addr(), "POST", "/lax/v1/transfers", nil, "application/json", c.body)
			if rp.Status != http.StatusOK || !strings.Contains(string(rp.Body), c.read) {
				t.Fatalf("through the lax route the service should read %s: %v", c.read, rp)
			}
			if recs := up.Requests(); len(recs) != 1 || string(recs[0].Body) != c.body {
				t.Fatalf("lax route forwarded %+v, want the body as sent", recs)
			}
			// With it (the default) the body never reaches the service.
			up.Reset()
			rp = gatewaytest.Raw(t, gw.Addr(), "POST", "/strict/v1/transfers", nil, "application/json", c.body)
			p := gatewaytest.WantProblem(t, rp, http.StatusBadRequest, "VALIDATION_FAILED", []string{"/body"})
			if !strings.Contains(p.Errors[0].Detail, "differ only in case") {
				t.Errorf("detail %q does not name the collision", p.Errors[0].Detail)
			}
			if got := up.Lines(); len(got) != 0 || up.Count() != 0 {
				t.Fatalf("a refused body reached the upstream: %q", got)
			}
		})
	}
}

// TestBoundaryRESTReaderDisagreements: what JSON readers disagree on is
// refused (status, code, pointer) and reaches nothing; an accepted body
// reaches the back end byte for byte.
func TestBoundaryRESTReaderDisagreements(t *testing.T) {
	gw, up := startREST(t)
	const ok = `{"userId":"alice","amount":9007199254740991,"meta":{"role":"user"}}`
	body := func(name, b string, pointers ...string) reqCase {
		return reqCase{name: name, method: "POST", target: "/strict/v1/transfers", ctype: "application/json", body: b,
			status: http.StatusBadRequest, code: "VALIDATION_FAILED", pointers: pointers}
	}
	cases := []reqCase{
		{name: "accepted body forwarded as sent", method: "POST", target: "/strict/v1/transfers", ctype: "application/json", body: ok,
			status: http.StatusOK, forward: "POST /v1/transfers", contains: `"userId":"alice"`},
		body("duplicate key, last one unchecked", `{"userId":"bob","userId":"alice"}`, "/body"),
		body("duplicate key through an escape", `{"userId":"alice","\u0075serId":"bob"}`, "/body"),
		body("lone surrogate", `{"userId":"alice","note":"\udc00"}`, "/body"),
		body("byte order mark", "\xEF\xBB\xBF"+ok, "/body"),
		body("invalid UTF-8", "{\"userId\":\"alice\",\"note\":\"\xc0\xaf\"}", "/body"),
		body("number beyond a double", `{"userId":"alice","note":1e400}`, "/body"),
		body("integer beyond 2^53-1", `{"userId":"alice","amount":9007199254740993}`, "/body/amount"),
		body("integer with an exponent", `{"userId":"alice","amount":1e2}`, "/body/amount"),
		{name: "UTF-16 charset", method: "POST", target: "/strict/v1/transfers", ctype: "application/json; charset=utf-16", body: ok,
			status: http.StatusUnsupportedMediaType, code: "UNSUPPORTED_MEDIA_TYPE"},
		// Where the document says one value, a second one is refused: back
		// ends disagree on which of them counts.
		{name: "repeated query parameter", method: "POST", target: "/strict/v1/transfers?dryRun=true&dryRun=false", ctype: "application/json", body: ok,
			status: http.StatusBadRequest, code: "VALIDATION_FAILED", pointers: []string{"/query/dryRun"}},
	}
	runCases(t, &restEnv{gw: gw}, up, cases)

	t.Run("repeated single-value header", func(t *testing.T) {
		up.Reset()
		req, _ := http.NewRequest("POST", gw.URL("/strict/v1/transfers"), strings.NewReader(ok))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Add("X-Tenant", "acme")
		req.Header.Add("X-Tenant", "evil")
		rp, err := gatewaytest.Do(gatewaytest.StoreClient, req)
		if err != nil {
			t.Fatal(err)
		}
		gatewaytest.WantProblem(t, gatewaytest.Reply(rp), http.StatusBadRequest, "VALIDATION_FAILED", []string{"/header/X-Tenant"})
		if up.Count() != 0 {
			t.Fatal("a refused request reached the upstream")
		}
	})
}
