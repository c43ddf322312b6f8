package rest

import (
	"net/http/httptest"
	"strings"
	"testing"
)

// FuzzMatch proves matching and parameter parsing never panic, and that an
// accepted path is canonical: no dot, empty or disguised segments.
func FuzzMatch(f *testing.F) {
	for _, s := range []string{"/v1/orders", "/v1/orders/1", "/v1/users/a%20b/orders", "/v1/orders/%2e%2e", "/v1//orders", "/V1/Orders", "/v1/orders;x", "/v1/users/%c0%af/orders"} {
		f.Add("GET", s, "limit=5")
	}
	r := route(f, "orders31.yaml", Options{})
	f.Fuzz(func(t *testing.T, method, path, query string) {
		op, fail := r.Match(method, path)
		if fail != nil {
			if fail.Status != 400 && fail.Status != 404 && fail.Status != 405 {
				t.Fatalf("unexpected status %d", fail.Status)
			}
			return
		}
		if strings.Contains(path, "//") || strings.Contains(path, "/.") || strings.ContainsAny(path, ";\\") {
			t.Fatalf("unsafe path %q matched %s", path, op.ID())
		}
		req := httptest.NewRequest("GET", "http://gw/", nil)
		req.URL.RawQuery = query
		_ = r.Validate(op, req, nil)
	})
}
