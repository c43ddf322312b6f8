package upstream

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestSendAnswer: Outbound.Answer sees this request's answer (and only
// this request's), after OnResponse; its error drops the answer.
func TestSendAnswer(t *testing.T) {
	srv, _ := newRecordingUpstream(t)
	p := mustNew(t, Config{URL: srv.URL})
	p.OnResponse = func(r *http.Response) error { r.Header.Set("X-Order", "hook"); return nil }
	fails := recordFailures(p)

	w := httptest.NewRecorder()
	f := p.Send(w, httptest.NewRequest(http.MethodGet, "/", nil), Outbound{Answer: func(r *http.Response) error {
		r.Header.Set("X-Order", r.Header.Get("X-Order")+",answer")
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(strings.NewReader(strings.ToUpper(string(body))))
		r.ContentLength = -1
		r.Header.Del("Content-Length")
		return nil
	}})
	if f != nil || w.Code != http.StatusOK || w.Header().Get("X-Order") != "hook,answer" || w.Body.String() != `{"OK":TRUE}` {
		t.Fatalf("failure %v, status %d, X-Order %q, body %s", f, w.Code, w.Header().Get("X-Order"), w.Body)
	}

	w = httptest.NewRecorder()
	if f := p.Send(w, httptest.NewRequest(http.MethodGet, "/", nil), Outbound{}); f != nil || w.Body.String() != `{"ok":true}` {
		t.Fatalf("a request without a plan: failure %v, body %s", f, w.Body)
	}

	w = httptest.NewRecorder()
	bad := errors.New("answer too large to merge")
	f = p.Send(w, httptest.NewRequest(http.MethodGet, "/", nil), Outbound{Answer: func(*http.Response) error { return bad }})
	if f == nil || f.Kind != KindError || !errors.Is(f.Err, bad) {
		t.Fatalf("failure = %v, want KindError wrapping the plan's error", f)
	}
	if w.Body.Len() != 0 || len(*fails) != 0 {
		t.Fatalf("Send wrote %q / called OnError %d times: the caller renders failures", w.Body, len(*fails))
	}
}

// TestSendFailure: Send returns a failure, classified, instead of writing
// it; a client that went away is no failure.
func TestSendFailure(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now
	p := mustNew(t, Config{URL: "http://" + addr})
	fails := recordFailures(p)
	w := httptest.NewRecorder()
	f := p.Send(w, httptest.NewRequest(http.MethodGet, "/", nil), Outbound{})
	if f == nil || f.Kind != KindUnavailable || w.Body.Len() != 0 || len(*fails) != 0 {
		t.Fatalf("failure %v, body %q, OnError calls %d; want KindUnavailable, nothing written", f, w.Body, len(*fails))
	}
	if f := p.Send(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/", nil), Outbound{Path: "/a%zz"}); f == nil || f.Kind != KindError {
		t.Fatalf("bad outbound path: failure %v, want KindError", f)
	}

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	w = httptest.NewRecorder()
	if f := p.Send(w, httptest.NewRequest(http.MethodGet, "/", nil).WithContext(ctx), Outbound{}); f != nil || w.Code != StatusClientClosedRequest {
		t.Fatalf("cancelled client: failure %v, status %d; want none and %d", f, w.Code, StatusClientClosedRequest)
	}
}
