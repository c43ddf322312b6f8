// Package upstreams starts the demo's real upstreams (the accounts, products
// and reviews subgraphs and the orders REST service) for end-to-end tests and
// benchmarks, and records what each of them received.
package upstreams

import (
	"bytes"
	"io"
	"net/http"
	"sync"
)

// Recorded is one request as the upstream received it.
type Recorded struct {
	Method   string
	Path     string
	RawQuery string
	Header   http.Header
	Body     []byte
}

// Recorder wraps a handler and keeps every request it receives, so a test can
// assert what the gateway forwarded (or that it forwarded nothing).
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
		Method:   r.Method,
		Path:     r.URL.Path,
		RawQuery: r.URL.RawQuery,
		Header:   r.Header.Clone(),
		Body:     body,
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
