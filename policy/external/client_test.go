package external

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/portcullis-gw/portcullis/policy/external/opatest"
)

// front is a real HTTP hop in front of OPA that counts the calls reaching
// it and can hold each one (a slow decision point).
type front struct {
	srv   *httptest.Server
	calls atomic.Int64
	hold  chan struct{} // when set, each call waits for it to close
}

func newFront(t *testing.T, opa *opatest.Server) *front {
	t.Helper()
	target, _ := url.Parse(opa.URL)
	rp := httputil.NewSingleHostReverseProxy(target)
	f := &front{}
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.calls.Add(1)
		if f.hold != nil {
			select {
			case <-f.hold:
			case <-r.Context().Done():
				return
			}
		}
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(f.srv.Close)
	return f
}

func startOPA(t *testing.T) *opatest.Server {
	t.Helper()
	return opatest.Start(t, "testdata/authz.rego")
}

func graphqlInput(coords ...string) *Input {
	in := &Input{
		Identity: Identity{Kind: "jwt", Issuer: "https://idp.example", Subject: "alice", Scopes: []string{"orders:read"}, Roles: []string{}},
		Route:    "shop", Protocol: "graphql", Operation: &Operation{Type: "query", Name: "Q"}, ClientIP: "192.0.2.1",
	}
	for _, c := range coords {
		in.Coordinates = append(in.Coordinates, Coordinate{Coordinate: c, Path: []any{"x"}})
	}
	return in
}

func TestDecisionsFromOPA(t *testing.T) {
	opa := startOPA(t)
	f := newFront(t, opa)
	c, err := New(Config{URL: f.srv.URL + "/v1/data/portcullis/authz/decision"}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	admin := graphqlInput("Mutation.deleteUser")
	admin.Identity.Roles = []string{"admin"}
	pii := graphqlInput("Query.me", "User.email")
	pii.Identity.Scopes = append(pii.Identity.Scopes, "pii:read")
	cases := []struct {
		name   string
		in     *Input
		allow  bool
		reason string
		remove []string
	}{
		{"query allowed", graphqlInput("Query.me", "User.name"), true, "", nil},
		{"mutation denied with reason", graphqlInput("Mutation.deleteUser"), false, "only admins may delete users", nil},
		{"admin may", admin, true, "", nil},
		{"filter removes", graphqlInput("Query.me", "User.email"), true, "", []string{"User.email"}},
		{"scope keeps", pii, true, "", nil},
		{"rest read", &Input{Protocol: "rest", REST: &RESTOperation{OperationID: "listOrders", Method: "GET", Path: "/orders"}}, true, "", nil},
		{"rest write denied", &Input{Protocol: "rest", REST: &RESTOperation{OperationID: "createOrder", Method: "POST", Path: "/orders"}}, false, "orders:write scope required", nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := c.Decide(context.Background(), tc.in)
			if r.Err != nil {
				t.Fatalf("Decide error: %v", r.Err)
			}
			if r.Allow != tc.allow || r.Reason != tc.reason || !slices.Equal(r.Remove, tc.remove) && len(r.Remove)+len(tc.remove) > 0 {
				t.Fatalf("Decide = %+v, want allow=%v reason=%q remove=%v", r.Decision, tc.allow, tc.reason, tc.remove)
			}
		})
	}
	if got := f.calls.Load(); got != int64(len(cases)) {
		t.Errorf("OPA saw %d calls, want %d (no cache configured)", got, len(cases))
	}
}

func TestDecisionCache(t *testing.T) {
	opa := startOPA(t)
	f := newFront(t, opa)
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var mu sync.Mutex
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	c, err := New(Config{URL: f.srv.URL + "/v1/data/portcullis/authz/decision", CacheTTL: time.Minute}, Options{Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for i := 0; i < 20; i++ {
		r := c.Decide(context.Background(), graphqlInput("Mutation.deleteUser"))
		if r.Allow || r.Err != nil || r.Reason == "" {
			t.Fatalf("Decide = %+v", r)
		}
		if i > 0 && !r.Cached {
			t.Fatalf("call %d not answered from the cache", i)
		}
	}
	if got := f.calls.Load(); got != 1 {
		t.Fatalf("OPA saw %d calls for 20 identical inputs, want 1", got)
	}
	// Another input is another decision: the key is the whole input.
	other := graphqlInput("Mutation.deleteUser")
	other.Identity.Roles = []string{"admin"}
	if r := c.Decide(context.Background(), other); !r.Allow || r.Cached {
		t.Fatalf("Decide(admin) = %+v", r)
	}
	if got := f.calls.Load(); got != 2 {
		t.Fatalf("OPA saw %d calls, want 2", got)
	}
	// Past the TTL the decision is asked for again.
	mu.Lock()
	now = now.Add(time.Minute)
	mu.Unlock()
	if r := c.Decide(context.Background(), graphqlInput("Mutation.deleteUser")); r.Cached {
		t.Fatal("an expired decision was served from the cache")
	}
	if got := f.calls.Load(); got != 3 {
		t.Fatalf("OPA saw %d calls, want 3", got)
	}
}

func TestDecisionPointFailures(t *testing.T) {
	opa := startOPA(t)
	slow := newFront(t, opa)
	slow.hold = make(chan struct{})
	defer close(slow.hold)
	down := opatest.Start(t, "testdata/authz.rego")
	downURL := down.DataURL("portcullis/authz/decision")
	down.Stop()

	cases := []struct {
		name, url, onError string
		want               string
	}{
		{"OPA down", downURL, "", "asking the decision point"},
		{"OPA down, on_error allow", downURL, "allow", "asking the decision point"},
		{"slow OPA times out", slow.srv.URL + "/v1/data/portcullis/authz/decision", "", "deadline exceeded"},
		{"undefined decision", opa.DataURL("portcullis/authz/undefined_decision"), "", "undefined"},
		{"decision not an object", opa.DataURL("portcullis/authz/not_an_object"), "", "decoding the decision"},
		{"no such rule", opa.DataURL("portcullis/authz/nothing"), "", "undefined"},
		{"not the data API", opa.URL + "/v1/nothing", "", "answered 404"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, err := New(Config{URL: tc.url, OnError: tc.onError, Timeout: 300 * time.Millisecond, CacheTTL: time.Minute}, Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			r := c.Decide(context.Background(), graphqlInput("Query.me"))
			if r.Err == nil || !strings.Contains(r.Err.Error(), tc.want) {
				t.Fatalf("Decide error = %v, want it to contain %q", r.Err, tc.want)
			}
			if r.Allow != (tc.onError == "allow") {
				t.Fatalf("Decide allow = %v with on_error %q", r.Allow, tc.onError)
			}
			// A failure is never cached.
			if r2 := c.Decide(context.Background(), graphqlInput("Query.me")); r2.Cached {
				t.Fatal("a failed decision was cached")
			}
		})
	}
}

func TestParseAnswer(t *testing.T) {
	cases := []struct {
		name, body string
		ok         bool
		want       Decision
	}{
		{"allow", `{"result":{"allow":true}}`, true, Decision{Allow: true}},
		{"deny with reason", `{"result":{"allow":false,"reason":"no"}}`, true, Decision{Reason: "no"}},
		{"remove", `{"result":{"allow":true,"remove":["User.email"]}}`, true, Decision{Allow: true, Remove: []string{"User.email"}}},
		{"decision id beside the result", `{"decision_id":"x","result":{"allow":true}}`, true, Decision{Allow: true}},
		{"undefined", `{}`, false, Decision{}},
		{"allow missing", `{"result":{"reason":"x"}}`, false, Decision{}},
		{"allow a string", `{"result":{"allow":"true"}}`, false, Decision{}},
		{"result a boolean", `{"result":true}`, false, Decision{}},
		{"reason a number", `{"result":{"allow":false,"reason":1}}`, false, Decision{}},
		{"not JSON", `<html>`, false, Decision{}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d, err := parseAnswer([]byte(tc.body))
			if (err == nil) != tc.ok {
				t.Fatalf("parseAnswer error = %v, want ok=%v", err, tc.ok)
			}
			if tc.ok && (d.Allow != tc.want.Allow || d.Reason != tc.want.Reason || !slices.Equal(d.Remove, tc.want.Remove)) {
				t.Fatalf("parseAnswer = %+v, want %+v", d, tc.want)
			}
		})
	}
}

func TestValidate(t *testing.T) {
	cases := []struct {
		name string
		c    Config
		want string
	}{
		{"ok", Config{URL: "http://opa:8181/v1/data/x"}, ""},
		{"no url", Config{}, "url: is required"},
		{"relative", Config{URL: "/v1/data/x"}, "url: must be an absolute"},
		{"credentials", Config{URL: "http://u:p@opa/v1/data/x"}, "must not contain credentials"},
		{"on_error", Config{URL: "http://opa/x", OnError: "open"}, "on_error: must be deny or allow"},
		{"credential header", Config{URL: "http://opa/x", Headers: []string{"Authorization"}}, "carries credentials"},
		{"negative ttl", Config{URL: "http://opa/x", CacheTTL: -1}, "cache_ttl"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			errs := tc.c.WithDefaults().Validate()
			if tc.want == "" {
				if len(errs) > 0 {
					t.Fatalf("Validate = %v", errs)
				}
				return
			}
			if len(errs) != 1 || !strings.Contains(errs[0].Error(), tc.want) {
				t.Fatalf("Validate = %v, want %q", errs, tc.want)
			}
		})
	}
}
