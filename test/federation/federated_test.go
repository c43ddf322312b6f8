package federation

import (
	"bytes"
	"encoding/json"
	"fmt"
	"github.com/portcullis-gw/portcullis/internal/testkit/gatewaytest"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/portcullis-gw/portcullis/test/upstreams"
)

// fedKey is an API key of the federated config with the scopes to
// introspect and read e-mail addresses.
const fedKey = "fed-admin-key"

// fedConfig fronts the three demo subgraphs in federated mode: one route
// refusing unauthorized fields, one filtering them.
func fedConfig(set *upstreams.Set, extra string) string {
	subgraphs := fmt.Sprintf(`
      subgraphs:
        - {name: accounts, file: schemas/accounts.graphql, url: %q}
        - {name: products, file: schemas/products.graphql, url: %q}
        - {name: reviews, file: schemas/reviews.graphql, url: %q}`,
		set.Accounts.Endpoint, set.Products.Endpoint, set.Reviews.Endpoint)
	return fmt.Sprintf(`
identity:
  anonymous: true
  api_keys:
    - {name: admin, sha256: %s, scopes: [schema:read, users:email]}
  forward:
    subject_header: X-Portcullis-Subject
    scopes_header: X-Portcullis-Scopes
server:
  listen: 127.0.0.1:0
  admin_listen: 127.0.0.1:0
  shutdown_grace: 5s
graphql:
  - name: shop
    path: /graphql
    execution: federated
    timeout: 5s
    cost_extensions: true
    introspection: {allow_scopes: [schema:read]}
    limits: {max_depth: 6}
    schema:%s
  - name: filtered
    path: /filtered
    execution: federated
    authorization: {mode: filter}
    schema:%s
%s`, gatewaytest.KeyHash(fedKey), subgraphs, subgraphs, extra)
}

func postJSON(t *testing.T, url, body string, hdr map[string]string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var buf bytes.Buffer
	_, _ = buf.ReadFrom(resp.Body)
	return resp, buf.Bytes()
}

// gqlQuery is a GraphQL-over-HTTP body for query.
func gqlQuery(query string) string {
	b, _ := json.Marshal(map[string]string{"query": query})
	return string(b)
}

// bodies returns the GraphQL bodies a subgraph received, in order.
func bodies(s *upstreams.Service) []string {
	var out []string
	for _, r := range s.Recorder.Requests() {
		out = append(out, string(r.Body))
	}
	return out
}

func TestFederatedExecution(t *testing.T) {
	set := upstreams.StartAll(t)
	gw := gatewaytest.StartFresh(t, gatewaytest.WriteConfig(t, fedConfig(set, "")), set.ResetAll)

	t.Run("the demo query is merged across three subgraphs", func(t *testing.T) {
		set.ResetAll()
		resp, body := postJSON(t, gw.URL("/graphql"), gqlQuery(`{ users(first: 2) { username reviews { body product { name } } } }`),
			map[string]string{"X-API-Key": fedKey, "Cookie": "session=client-secret"})
		want := `{"data":{"users":[` +
			`{"username":"alice","reviews":[{"body":"Love it!","product":{"name":"Table"}},{"body":"Prefer something else.","product":{"name":"Chair"}}]},` +
			`{"username":"bob","reviews":[{"body":"Too expensive.","product":{"name":"Table"}},{"body":"Bright enough.","product":{"name":"Lamp"}}]}]}`
		if resp.StatusCode != 200 || !strings.HasPrefix(string(body), want) {
			t.Fatalf("%d %s\nwant prefix %s", resp.StatusCode, body, want)
		}
		wantBodies := map[*upstreams.Service][]string{
			set.Accounts: {`{"query":"query($a: Int){users(first: $a){username __typename id}}","variables":{"a":2}}`},
			set.Reviews: {`{"query":"query($representations: [_Any!]!){_entities(representations: $representations){... on User {__typename reviews {body product {__typename upc}}}}}",` +
				`"variables":{"representations":[{"__typename":"User","id":"1"},{"__typename":"User","id":"2"}]}}`},
			set.Products: {`{"query":"query($representations: [_Any!]!){_entities(representations: $representations){... on Product {__typename name}}}",` +
				`"variables":{"representations":[{"__typename":"Product","upc":"1"},{"__typename":"Product","upc":"3"},{"__typename":"Product","upc":"4"}]}}`},
		}
		reqID := resp.Header.Get("X-Request-Id")
		for svc, want := range wantBodies {
			if got := bodies(svc); strings.Join(got, "\n") != strings.Join(want, "\n") {
				t.Errorf("%s received\n%s\nwant\n%s", svc.Name, strings.Join(got, "\n"), strings.Join(want, "\n"))
			}
			for _, r := range svc.Recorder.Requests() {
				if r.Header.Get("X-Request-Id") != reqID || reqID == "" {
					t.Errorf("%s got X-Request-Id %q, the client's answer has %q", svc.Name, r.Header.Get("X-Request-Id"), reqID)
				}
				if r.Header.Get("X-Portcullis-Subject") != "apikey:admin" || r.Header.Get("X-Portcullis-Scopes") != "schema:read users:email" {
					t.Errorf("%s identity headers: %v", svc.Name, r.Header)
				}
				if r.Header.Get("Cookie") != "" || r.Header.Get("X-Api-Key") != "" {
					t.Errorf("%s received the client's credentials: %v", svc.Name, r.Header)
				}
			}
		}
	})

	t.Run("federation internals are not in the API schema", func(t *testing.T) {
		for _, q := range []string{
			`{ _service { sdl } }`,
			`{ _entities(representations: [{__typename: "User", id: "1"}]) { ... on User { username } } }`,
			`query($r: [_Any!]!) { users { id } }`,
		} {
			set.ResetAll()
			resp, body := postJSON(t, gw.URL("/graphql"), gqlQuery(q), nil)
			if resp.StatusCode != 400 || gatewaytest.FirstCode(t, body) != "GRAPHQL_VALIDATION_FAILED" {
				t.Errorf("%s: %d %s", q, resp.StatusCode, body)
			}
			for _, s := range set.Subgraphs() {
				if n := s.Recorder.Count(); n != 0 {
					t.Errorf("%s: %s received %d requests", q, s.Name, n)
				}
			}
		}
	})

	t.Run("introspection is answered by the gateway from the API schema", func(t *testing.T) {
		set.ResetAll()
		q := gqlQuery(`{ __schema { queryType { name } mutationType { name } types { name } } }`)
		resp, body := postJSON(t, gw.URL("/graphql"), q, nil)
		if resp.StatusCode != 403 && resp.StatusCode != 400 {
			t.Fatalf("anonymous introspection: %d %s", resp.StatusCode, body)
		}
		resp, body = postJSON(t, gw.URL("/graphql"), q, map[string]string{"X-API-Key": fedKey})
		if resp.StatusCode != 200 {
			t.Fatalf("%d %s", resp.StatusCode, body)
		}
		var out struct {
			Data struct {
				Schema struct {
					QueryType, MutationType struct{ Name string }
					Types                   []struct{ Name string }
				} `json:"__schema"`
			}
		}
		if err := json.Unmarshal(body, &out); err != nil {
			t.Fatal(err)
		}
		names := map[string]bool{}
		for _, ty := range out.Data.Schema.Types {
			names[ty.Name] = true
		}
		for _, want := range []string{"User", "Product", "Review", "UpdateUserInput", "Query", "Mutation"} {
			if !names[want] {
				t.Errorf("type %s missing from %s", want, body)
			}
		}
		for _, internal := range []string{"_Entity", "_Service", "_Any", "join__Graph", "link__Import", "FieldSet"} {
			if names[internal] {
				t.Errorf("federation internal %s in the API schema", internal)
			}
		}
		for _, s := range set.Subgraphs() {
			if n := s.Recorder.Count(); n != 0 {
				t.Errorf("%s received %d requests for introspection", s.Name, n)
			}
		}
	})

	t.Run("limits apply before planning", func(t *testing.T) {
		set.ResetAll()
		resp, body := postJSON(t, gw.URL("/graphql"), gqlQuery(`{ users(first: 1) { reviews { product { reviews { author { reviews { body } } } } } } }`), nil)
		if resp.StatusCode != 400 || gatewaytest.FirstCode(t, body) != "MAX_DEPTH_LIMIT" {
			t.Fatalf("%d %s", resp.StatusCode, body)
		}
		for _, s := range set.Subgraphs() {
			if n := s.Recorder.Count(); n != 0 {
				t.Errorf("%s received %d requests", s.Name, n)
			}
		}
	})

	t.Run("reject mode refuses an unauthorized field before any subgraph call", func(t *testing.T) {
		set.ResetAll()
		resp, body := postJSON(t, gw.URL("/graphql"), gqlQuery(`{ users(first: 1) { username email } }`), nil)
		if resp.StatusCode != 403 {
			t.Fatalf("%d %s", resp.StatusCode, body)
		}
		if n := set.Accounts.Recorder.Count(); n != 0 {
			t.Errorf("accounts received %d requests", n)
		}
	})

	t.Run("filter mode plans the filtered document and merges the removed field", func(t *testing.T) {
		set.ResetAll()
		resp, body := postJSON(t, gw.URL("/filtered"), gqlQuery(`{ topProducts(first: 1) { name secretNotes reviews { body } } }`), nil)
		// The removed field comes back as null after the fields the subgraphs
		// answered, with the error at its static path, as in forward mode.
		want := `{"data":{"topProducts":[{"name":"Table","reviews":[{"body":"Love it!"},{"body":"Too expensive."},{"body":"Sturdy."}],"secretNotes":null}]},` +
			`"errors":[{"message":"Unauthorized field or type","path":["topProducts","secretNotes"],"extensions":{"code":"UNAUTHORIZED_FIELD_OR_TYPE"}}]}`
		if resp.StatusCode != 200 || string(body) != want {
			t.Fatalf("%d %s\nwant %s", resp.StatusCode, body, want)
		}
		for _, b := range bodies(set.Reviews) {
			if strings.Contains(b, "secretNotes") {
				t.Errorf("reviews was asked for the removed field: %s", b)
			}
		}
		if n := set.Reviews.Recorder.Count(); n != 1 {
			t.Errorf("reviews received %d requests, want 1", n)
		}
	})

	t.Run("the cost extension reports the charge", func(t *testing.T) {
		_, body := postJSON(t, gw.URL("/graphql"), gqlQuery(`{ topProducts(first: 1) { name } }`), nil)
		var out struct {
			Data       map[string]any
			Extensions struct {
				Cost struct{ Requested, Remaining, Limit int }
			}
		}
		if err := json.Unmarshal(body, &out); err != nil || out.Extensions.Cost.Requested < 1 || out.Data["topProducts"] == nil {
			t.Fatalf("%s", body)
		}
	})

	t.Run("metrics count plans and subgraph fetches", func(t *testing.T) {
		metrics := gatewaytest.Send(t, http.MethodGet, gw.AdminURL("/metrics"), nil, "").Body
		for _, want := range []string{
			`portcullis_plan_cache_lookups_total{result="miss",route="shop"}`,
			`portcullis_plan_cache_lookups_total{result="hit",route="shop"}`,
			`portcullis_subgraph_fetches_total{route="shop",subgraph="reviews"}`,
			`portcullis_subgraph_fetch_duration_seconds_bucket{route="shop",subgraph="products",le="+Inf"}`,
		} {
			if !bytes.Contains(metrics, []byte(want)) {
				t.Errorf("metrics lack %s", want)
			}
		}
	})
}

// TestFederatedSubgraphFailure: a failing subgraph gives partial data with
// null propagation and a masked error; the cause is only in the log.
func TestFederatedSubgraphFailure(t *testing.T) {
	set := upstreams.StartAll(t)
	var mu sync.Mutex
	failing := false
	flaky := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		f := failing
		mu.Unlock()
		if f {
			http.Error(w, "reviews database at 10.9.8.7:5432 is down", http.StatusInternalServerError)
			return
		}
		set.Reviews.Server.Config.Handler.ServeHTTP(w, r)
	}))
	t.Cleanup(flaky.Close)
	cfg := strings.Replace(fedConfig(set, ""), set.Reviews.Endpoint, flaky.URL+"/query", -1)
	gw := gatewaytest.StartFresh(t, gatewaytest.WriteConfig(t, cfg), set.ResetAll)
	mu.Lock()
	failing = true
	mu.Unlock()

	resp, body := postJSON(t, gw.URL("/graphql"), gqlQuery(`{ a: user(id: "1") { username } b: user(id: "2") { username reviews { body } } }`), nil)
	if resp.StatusCode != 200 {
		t.Fatalf("%d %s", resp.StatusCode, body)
	}
	var out struct {
		Data   map[string]any
		Errors []struct{ Message string }
	}
	if err := json.Unmarshal(body, &out); err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(out.Data["a"]) != "map[username:alice]" || out.Data["b"] != nil || len(out.Errors) == 0 {
		t.Fatalf("want a's data, b null and an error: %s", body)
	}
	u, _ := url.Parse(flaky.URL)
	for _, leak := range []string{u.Host, u.Port(), "10.9.8.7", "database", "goroutine"} {
		if strings.Contains(string(body), leak) {
			t.Errorf("answer leaks %q: %s", leak, body)
		}
	}
	gw.WaitLog(t, "subgraph fetch failed")
	if !strings.Contains(gw.Logs(), `"subgraph":"reviews"`) {
		t.Errorf("log does not name the failing subgraph:\n%s", gw.Logs())
	}
}

// TestDemoConfigFederated runs configs/demo.yaml, pointed at test servers,
// with the cross-subgraph query the demo prints.
func TestDemoConfigFederated(t *testing.T) {
	set := upstreams.StartAll(t)
	raw, err := os.ReadFile(filepath.Join(gatewaytest.Root(t), "configs", "demo.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	cfg := strings.NewReplacer(
		"http://127.0.0.1:4001/query", set.Accounts.Endpoint,
		"http://127.0.0.1:4002/query", set.Products.Endpoint,
		"http://127.0.0.1:4003/query", set.Reviews.Endpoint,
		"http://127.0.0.1:5000", set.Orders.URL,
		"listen: 127.0.0.1:8080", "listen: 127.0.0.1:0",
		"admin_listen: 127.0.0.1:9090", "admin_listen: 127.0.0.1:0",
	).Replace(string(raw))
	gw := gatewaytest.StartFresh(t, gatewaytest.WriteConfig(t, cfg), set.ResetAll)
	resp, body := postJSON(t, gw.URL("/graphql"), gqlQuery(`{ users(first: 2) { username reviews { body product { name } } } }`), nil)
	want := `{"data":{"users":[` +
		`{"username":"alice","reviews":[{"body":"Love it!","product":{"name":"Table"}},{"body":"Prefer something else.","product":{"name":"Chair"}}]},` +
		`{"username":"bob","reviews":[{"body":"Too expensive.","product":{"name":"Table"}},{"body":"Bright enough.","product":{"name":"Lamp"}}]}]}}`
	if resp.StatusCode != 200 || string(body) != want {
		t.Fatalf("%d %s\nwant %s", resp.StatusCode, body, want)
	}
}
