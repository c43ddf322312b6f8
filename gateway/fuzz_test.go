package gateway

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
)

// FuzzGraphQLFrontDoor sends arbitrary bodies, content types and query
// strings through the whole chain. Whatever arrives, the gateway answers
// without panicking (a recovered panic would be a 500), in the GraphQL
// shape when it refuses, and never with a 5xx of its own making.
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
		rec := httptest.NewRecorder()
		handler.ServeHTTP(rec, req)
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
