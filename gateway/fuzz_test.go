package gateway

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/portcullis-gw/portcullis/analysis/gqlrequest"
)

// FuzzGraphQLFrontDoor sends arbitrary bodies, content types and query
// strings through the whole chain. Whatever arrives, the gateway answers
// without panicking (a recovered panic would be a 500), in the GraphQL
// shape when it refuses, and never with a 5xx of its own making. Whatever
// reaches the upstream is the gateway's canonical form: it reads back
// strictly and writes back to the same bytes.
func FuzzGraphQLFrontDoor(f *testing.F) {
	seeds := []struct {
		ct, query string
		body      []byte
	}{
		{"application/json", "", []byte(`{"query":"{ hello }"}`)},
		{"application/json", "", []byte(`[{"query":"{ hello }"},{"query":"query Q { products(first: 2) { upc } }","operationName":"Q"}]`)},
		{"application/json", "", []byte(`{"query":"query($n: Int) { products(first: $n) { upc name } }","variables":{"n":3}}`)},
		{"application/json", "", []byte(`{"query":"fragment A on Product { upc ...A } { products { ...A } }"}`)},
		{"text/plain", "", []byte(`{"query":"{ hello }"}`)},
		{"", "query=%7Bhello%7D", nil},
		{"", "query=mutation%7BsetHello(value:%22x%22)%7D", nil},
		{"application/json", "", []byte(`{"query":"{ __schema { types { name } } }"}`)},
		{"application/json", "", []byte(`{"query":"{ hello @include(if: true) @skip(if: false) }"}`)},
		{"application/json", "", []byte(`{"query": 5, "variables": []}`)},
		{"application/json", "", []byte("\xff\xfe{")},
	}
	for _, s := range seeds {
		f.Add(s.ct, s.query, s.body)
	}
	h := newHarness(f, baseConfig, WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))), WithAccessLog(io.Discard))
	handler := h.gw.Handler()
	f.Fuzz(func(t *testing.T, ct, query string, body []byte) {
		method := http.MethodPost
		if body == nil {
			method = http.MethodGet
		}
		req := httptest.NewRequest(method, "/graphql", bytes.NewReader(body))
		req.URL.RawQuery = query
		if ct != "" {
			req.Header.Set("Content-Type", ct)
		}
		before := len(h.gql.got())
		rec := httptest.NewRecorder()
		handler.ServeHTTP(rec, req)
		for _, up := range h.gql.got()[before:] {
			reqs, batch, err := gqlrequest.Parse([]byte(up.Body), gqlrequest.Options{})
			if err != nil {
				t.Fatalf("the upstream received %q, which does not read back: %v", up.Body, err)
			}
			var again []byte
			if batch {
				again = gqlrequest.AppendBatch(nil, reqs)
			} else {
				again = gqlrequest.AppendRequest(nil, &reqs[0])
			}
			if string(again) != up.Body {
				t.Fatalf("the upstream received %q, not canonical (%q)", up.Body, again)
			}
		}
		if rec.Code >= 500 && rec.Code != http.StatusBadGateway {
			t.Fatalf("status %d for ct=%q query=%q body=%q: %s", rec.Code, ct, query, body, rec.Body.Bytes())
		}
		if rec.Code >= 400 {
			var r struct {
				Errors []struct {
					Message    string         `json:"message"`
					Extensions map[string]any `json:"extensions"`
				} `json:"errors"`
			}
			if err := json.Unmarshal(rec.Body.Bytes(), &r); err != nil || len(r.Errors) == 0 || r.Errors[0].Extensions["code"] == nil {
				t.Fatalf("refusal %d not in the GraphQL shape: %s", rec.Code, rec.Body.Bytes())
			}
		}
	})
}
