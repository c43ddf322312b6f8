package upstream

import (
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

// seen is what the upstream received.
type seen struct {
	Method, Host, RequestURI string
	Header                   http.Header
	Body                     string
	ContentLength            int64
	ProtoMajor               int
	PeerCN                   string
}

// recorder is a back end that keeps the last request it received.
type recorder struct {
	mu   sync.Mutex
	last *seen
	hits int
}

func (rec *recorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	s := &seen{
		Method: r.Method, Host: r.Host, RequestURI: r.RequestURI,
		Header: r.Header.Clone(), Body: string(body), ContentLength: r.ContentLength,
		ProtoMajor: r.ProtoMajor,
	}
	if r.TLS != nil && len(r.TLS.PeerCertificates) > 0 {
		s.PeerCN = r.TLS.PeerCertificates[0].Subject.CommonName
	}
	rec.mu.Lock()
	rec.last, rec.hits = s, rec.hits+1
	rec.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	_, _ = io.WriteString(w, `{"ok":true}`)
}

func (rec *recorder) get(t *testing.T) *seen {
	t.Helper()
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if rec.last == nil {
		t.Fatal("upstream received no request")
	}
	return rec.last
}

func (rec *recorder) count() int {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	return rec.hits
}

func newRecordingUpstream(t *testing.T) (*httptest.Server, *recorder) {
	t.Helper()
	rec := &recorder{}
	srv := httptest.NewServer(rec)
	t.Cleanup(srv.Close)
	return srv, rec
}

func mustNew(t testing.TB, cfg Config) *Proxy {
	t.Helper()
	p, err := New(cfg)
	if err != nil {
		t.Fatalf("New(%+v): %v", cfg, err)
	}
	t.Cleanup(p.CloseIdleConnections)
	return p
}

// failure is one OnError call.
type failure struct {
	kind ErrorKind
	err  error
	req  *http.Request
}

// recordFailures installs an OnError that records its calls and writes the
// status only.
func recordFailures(p *Proxy) *[]failure {
	var mu sync.Mutex
	got := &[]failure{}
	p.OnError = func(w http.ResponseWriter, r *http.Request, kind ErrorKind, err error) {
		mu.Lock()
		*got = append(*got, failure{kind, err, r})
		mu.Unlock()
		w.WriteHeader(kind.Status())
	}
	return got
}

// rawUpstream is a back end that takes over the connection and writes raw
// bytes (possibly nothing) before closing it.
func rawUpstream(t *testing.T, raw string) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		conn, buf, err := http.NewResponseController(w).Hijack()
		if err != nil {
			t.Errorf("hijacking: %v", err)
			return
		}
		defer conn.Close()
		_, _ = buf.WriteString(raw)
		_ = buf.Flush()
	}))
	srv.Config.ErrorLog = quietLog()
	t.Cleanup(srv.Close)
	return srv
}

func quietLog() *log.Logger { return log.New(io.Discard, "", 0) }

// closedAddr is an address nothing listens on any more.
func closedAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	if err := ln.Close(); err != nil {
		t.Fatal(err)
	}
	return addr
}

// headerFolded reports the values of every header whose name matches name
// case-insensitively with '_' equal to '-'.
func headerFolded(h http.Header, name string) []string {
	var out []string
	for k, vs := range h {
		if strings.EqualFold(strings.ReplaceAll(k, "_", "-"), name) {
			out = append(out, vs...)
		}
	}
	return out
}
