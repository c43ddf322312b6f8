package upstream

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"testing"
)

// discard is a ResponseWriter that keeps nothing, so the benchmark measures
// the proxy and not a recorder.
type discard struct {
	h    http.Header
	code int
}

func (d *discard) Header() http.Header         { return d.h }
func (d *discard) Write(b []byte) (int, error) { return len(b), nil }
func (d *discard) WriteHeader(code int)        { d.code = code }

// BenchmarkForward compares Forward with a bare httputil.ReverseProxy to the
// same upstream, so the cost of our rewriting shows as the difference.
func BenchmarkForward(b *testing.B) {
	reply := bytes.Repeat([]byte(`{"data":{"me":{"id":"1"}}}`), 8)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(reply)
	}))
	b.Cleanup(srv.Close)
	body := []byte(`{"query":"{ me { id } }"}`)

	newIn := func() *http.Request {
		in := httptest.NewRequest(http.MethodPost, "http://gw.example/graphql", bytes.NewReader(body))
		in.Header.Set("Content-Type", "application/json")
		in.Header.Set("X-Forwarded-For", "6.6.6.6")
		return in
	}
	run := func(b *testing.B, serve func(w http.ResponseWriter, in *http.Request)) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			in := newIn()
			w := &discard{h: http.Header{}}
			for pb.Next() {
				clear(w.h)
				serve(w, in)
				if w.code != http.StatusOK {
					b.Errorf("status %d", w.code)
					return
				}
			}
		})
	}

	b.Run("portcullis", func(b *testing.B) {
		p := mustNew(b, Config{URL: srv.URL + "/graphql"})
		out := Outbound{Body: body, ClientIP: "203.0.113.9", Header: http.Header{"X-Request-Id": {"r1"}}, StripHeaders: []string{"X-User-Id"}}
		run(b, func(w http.ResponseWriter, in *http.Request) { p.Forward(w, in, out) })
	})
	b.Run("bare", func(b *testing.B) {
		target, _ := url.Parse(srv.URL)
		rp := &httputil.ReverseProxy{
			Rewrite:   func(pr *httputil.ProxyRequest) { pr.SetURL(target); pr.SetXForwarded() },
			Transport: &http.Transport{MaxIdleConnsPerHost: DefaultMaxIdleConns},
		}
		run(b, func(w http.ResponseWriter, in *http.Request) {
			// The bare proxy streams the inbound body, so it needs a fresh one.
			in.Body, in.ContentLength = io.NopCloser(bytes.NewReader(body)), int64(len(body))
			rp.ServeHTTP(w, in)
		})
	})
}
