// Package upstreamtest is the recording upstream of the tests: a real HTTP
// server (or a handler wrapper) that keeps every request exactly as it
// arrived, so a test can assert what the gateway forwarded, byte for byte,
// or that it forwarded nothing.
package upstreamtest

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
)

// Recorded is one request as the upstream received it.
type Recorded struct {
	Method string
	// RequestURI is the request-target as it was on the wire; Path and
	// RawQuery are what Go's server decoded from it.
	RequestURI string
	Path       string
	RawQuery   string
	Header     http.Header
	Body       []byte
}

// Line is the request line as sent: method and request-target.
func (r Recorded) Line() string { return r.Method + " " + r.RequestURI }

// Recorder wraps a handler and keeps every request it receives.
type Recorder struct {
	next http.Handler

	mu       sync.Mutex
	requests []Recorded
}

// NewRecorder returns a Recorder in front of next.
func NewRecorder(next http.Handler) *Recorder {
	return &Recorder{next: next}
}

// ServeHTTP records the request, then hands it, body intact, to the wrapped handler.
func (rec *Recorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	// The whole body is read so the record is exact; these upstreams only
	// serve tests, where the gateway has already capped the body size.
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, "reading request body", http.StatusBadRequest)
		return
	}
	_ = r.Body.Close()
	r.Body = io.NopCloser(bytes.NewReader(body))

	rec.mu.Lock()
	rec.requests = append(rec.requests, Recorded{
		Method:     r.Method,
		RequestURI: r.RequestURI,
		Path:       r.URL.Path,
		RawQuery:   r.URL.RawQuery,
		Header:     r.Header.Clone(),
		Body:       body,
	})
	rec.mu.Unlock()

	rec.next.ServeHTTP(w, r)
}

// Requests returns a copy of the requests received so far, oldest first.
func (rec *Recorder) Requests() []Recorded {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	out := make([]Recorded, len(rec.requests))
	for i, r := range rec.requests {
		r.Header = r.Header.Clone()
		r.Body = bytes.Clone(r.Body)
		out[i] = r
	}
	return out
}

// Lines returns the request lines received so far, oldest first.
func (rec *Recorder) Lines() []string {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	out := make([]string, len(rec.requests))
	for i, r := range rec.requests {
		out[i] = r.Line()
	}
	return out
}

// Count returns how many requests were received.
func (rec *Recorder) Count() int {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	return len(rec.requests)
}

// Reset forgets every recorded request.
func (rec *Recorder) Reset() {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	rec.requests = nil
}

// Server is a running recording upstream on 127.0.0.1.
type Server struct {
	*Recorder
	// URL is the server's root, e.g. http://127.0.0.1:43121.
	URL string
	// Server is exposed so a test can Close it early to stage an outage.
	Server *httptest.Server
}

// Start runs h behind a Recorder until the test ends.
func Start(t testing.TB, h http.Handler) *Server {
	t.Helper()
	rec := NewRecorder(h)
	srv := httptest.NewServer(rec)
	t.Cleanup(srv.Close)
	return &Server{Recorder: rec, URL: srv.URL, Server: srv}
}

// Held is an upstream that holds every request until Release, so a test
// can act while a request is in flight (a drain, a concurrency cap). The
// gateway's HEAD readiness probes are answered at once and not held.
type Held struct {
	// URL is the server's root.
	URL string
	// Arrived receives once per held request, when it reaches the upstream.
	Arrived chan struct{}

	release chan struct{}
	once    sync.Once
}

// StartHeld runs a Held upstream that answers each released request with
// the JSON body. Its requests are released when the test ends at the
// latest, so a failed test never leaves the gateway draining forever.
func StartHeld(t testing.TB, body string) *Held {
	t.Helper()
	h := &Held{Arrived: make(chan struct{}, 1), release: make(chan struct{})}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodHead {
			return
		}
		h.Arrived <- struct{}{}
		<-h.release
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, body)
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(h.Release) // runs first: the server's Close waits for held requests
	h.URL = srv.URL
	return h
}

// Release lets every held request, and every later one, through.
func (h *Held) Release() { h.once.Do(func() { close(h.release) }) }
