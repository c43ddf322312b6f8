package upstream

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
)

func TestForwardURL(t *testing.T) {
	srv, rec := newRecordingUpstream(t)
	tests := []struct {
		name     string
		basePath string
		out      Outbound
		wantURI  string
	}{
		{"no base path, no path", "", Outbound{}, "/"},
		{"base path used exactly when no path", "/query", Outbound{RawQuery: "a=1"}, "/query?a=1"},
		{"trailing slash kept on base", "/query/", Outbound{}, "/query/"},
		{"joined with one slash", "/api/", Outbound{Path: "/v1/orders"}, "/api/v1/orders"},
		{"joined without leading slash", "/api", Outbound{Path: "v1/orders"}, "/api/v1/orders"},
		{"root base", "/", Outbound{Path: "/v1"}, "/v1"},
		{"escapes kept as sent", "/api", Outbound{Path: "/items/a%20b/%2F"}, "/api/items/a%20b/%2F"},
		{"dot segments not cleaned", "", Outbound{Path: "/a/../b"}, "/a/../b"},
		{"query passes through", "", Outbound{Path: "/s", RawQuery: "q=x%20y&n=2"}, "/s?q=x%20y&n=2"},
		{"unparsable pairs dropped", "", Outbound{Path: "/s", RawQuery: "a=1;admin=1&b=2&c=%zz"}, "/s?b=2"},
		{"inbound query ignored", "", Outbound{Path: "/s"}, "/s"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := mustNew(t, Config{URL: srv.URL + tt.basePath})
			in := httptest.NewRequest(http.MethodGet, "http://gw.example/front/path?inbound=1", nil)
			w := httptest.NewRecorder()
			p.Forward(w, in, tt.out)
			if w.Code != http.StatusOK {
				t.Fatalf("status = %d, want 200", w.Code)
			}
			got := rec.get(t)
			if got.RequestURI != tt.wantURI {
				t.Errorf("upstream request URI = %q, want %q", got.RequestURI, tt.wantURI)
			}
			if want := strings.TrimPrefix(srv.URL, "http://"); got.Host != want {
				t.Errorf("upstream Host = %q, want %q", got.Host, want)
			}
		})
	}
}

func TestForwardInvalidPathEscape(t *testing.T) {
	srv, rec := newRecordingUpstream(t)
	p := mustNew(t, Config{URL: srv.URL})
	fails := recordFailures(p)
	w := httptest.NewRecorder()
	p.Forward(w, httptest.NewRequest(http.MethodGet, "/", nil), Outbound{Path: "/a%zz"})
	if w.Code != http.StatusBadGateway || len(*fails) != 1 || (*fails)[0].kind != KindError {
		t.Fatalf("status %d, failures %v; want 502 KindError", w.Code, *fails)
	}
	if rec.count() != 0 {
		t.Fatal("upstream was reached with an invalid path")
	}
}

// trackingBody records whether the inbound body was read.
type trackingBody struct {
	r    io.Reader
	read bool
}

func (b *trackingBody) Read(p []byte) (int, error) { b.read = true; return b.r.Read(p) }
func (b *trackingBody) Close() error               { return nil }

func TestForwardBody(t *testing.T) {
	srv, rec := newRecordingUpstream(t)
	p := mustNew(t, Config{URL: srv.URL})
	tests := []struct {
		name       string
		inbound    string
		inLength   int64
		body       []byte
		wantBody   string
		wantLength int64
		wantRead   bool
	}{
		{"inbound streamed", "streamed", 8, nil, "streamed", 8, true},
		{"inbound chunked streamed", "chunked body", -1, nil, "chunked body", -1, true},
		{"replaced", "original", 8, []byte(`{"query":"{a}"}`), `{"query":"{a}"}`, 15, false},
		{"replaced by empty", "original", 8, []byte{}, "", 0, false},
		{"replaced on unknown length", "original", -1, []byte("new"), "new", 3, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := &trackingBody{r: strings.NewReader(tt.inbound)}
			in := httptest.NewRequest(http.MethodPost, "/", nil)
			in.Body, in.ContentLength = body, tt.inLength
			in.Header.Set("Content-Length", "8")
			w := httptest.NewRecorder()
			p.Forward(w, in, Outbound{Body: tt.body})
			if w.Code != http.StatusOK {
				t.Fatalf("status = %d, want 200", w.Code)
			}
			got := rec.get(t)
			if got.Body != tt.wantBody || got.ContentLength != tt.wantLength {
				t.Errorf("upstream body %q (length %d), want %q (length %d)", got.Body, got.ContentLength, tt.wantBody, tt.wantLength)
			}
			if body.read != tt.wantRead {
				t.Errorf("inbound body read = %v, want %v", body.read, tt.wantRead)
			}
		})
	}
}

func TestForwardResponsePassesThrough(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Encoding", "gzip")
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusTeapot)
		_, _ = io.WriteString(w, "not really gzip")
	}))
	t.Cleanup(srv.Close)
	p := mustNew(t, Config{URL: srv.URL})
	in := httptest.NewRequest(http.MethodGet, "/", nil)
	in.Header.Set("Accept-Encoding", "gzip")
	w := httptest.NewRecorder()
	p.Forward(w, in, Outbound{})
	if w.Code != http.StatusTeapot || w.Header().Get("Content-Encoding") != "gzip" || w.Body.String() != "not really gzip" {
		t.Fatalf("got %d %v %q; want the upstream's status, encoding and bytes untouched", w.Code, w.Header(), w.Body.String())
	}
}

func TestForwardDoesNotMutateInbound(t *testing.T) {
	srv, _ := newRecordingUpstream(t)
	p := mustNew(t, Config{URL: srv.URL + "/base"})
	in := httptest.NewRequest(http.MethodPost, "http://gw.example/front?x=1", strings.NewReader("body"))
	in.Header.Set("X-Forwarded-For", "6.6.6.6")
	in.Header.Set("Forwarded", "for=6.6.6.6")
	in.Header.Set("Connection", "X-Hop")
	in.Header.Set("X-Hop", "1")
	in.Header.Set("X-User-Id", "forged")
	in.Header.Set("Upgrade", "websocket")
	want := in.Clone(in.Context())
	wantBody, wantCtx := in.Body, in.Context()
	outHeader := http.Header{"X-User-Id": {"alice"}}

	p.Forward(httptest.NewRecorder(), in, Outbound{
		Path: "/other", RawQuery: "y=2", Body: []byte("replaced"), ClientIP: "203.0.113.9",
		Header: outHeader, StripHeaders: []string{"X-User-Id"},
	})

	if !reflect.DeepEqual(in.Header, want.Header) {
		t.Errorf("inbound header changed:\n got %v\nwant %v", in.Header, want.Header)
	}
	if in.URL.String() != want.URL.String() || in.Host != want.Host || in.RequestURI != want.RequestURI {
		t.Errorf("inbound URL/Host changed: %s %s %s", in.URL, in.Host, in.RequestURI)
	}
	if in.ContentLength != want.ContentLength || in.Body != wantBody || in.Context() != wantCtx {
		t.Error("inbound body, length or context changed")
	}
	if !reflect.DeepEqual(outHeader, http.Header{"X-User-Id": {"alice"}}) {
		t.Errorf("Outbound.Header changed: %v", outHeader)
	}
}

func TestForwardHeaders(t *testing.T) {
	srv, rec := newRecordingUpstream(t)
	p := mustNew(t, Config{URL: srv.URL})
	tests := []struct {
		name   string
		in     http.Header
		tls    bool
		out    Outbound
		want   map[string]string // header -> exact single value
		absent []string          // compared with '_' folded to '-'
	}{
		{
			name: "client forwarding headers replaced",
			in: http.Header{
				"X-Forwarded-For":    {"6.6.6.6"},
				"X-Forwarded-Host":   {"evil.example"},
				"X-Forwarded-Proto":  {"https"},
				"X-Forwarded-Prefix": {"/admin"},
				"X-Forwarded_for":    {"7.7.7.7"},
				"Forwarded":          {"for=6.6.6.6;proto=https"},
				"X-Real-Ip":          {"6.6.6.6"},
				"X-Real_ip":          {"6.6.6.6"},
			},
			out: Outbound{ClientIP: "203.0.113.9"},
			want: map[string]string{
				"X-Forwarded-For":   "203.0.113.9",
				"X-Forwarded-Host":  "gw.example",
				"X-Forwarded-Proto": "http",
			},
			absent: []string{"Forwarded", "X-Real-Ip", "X-Forwarded-Prefix"},
		},
		{
			name: "https inbound",
			tls:  true,
			out:  Outbound{ClientIP: "203.0.113.9"},
			want: map[string]string{"X-Forwarded-Proto": "https"},
		},
		{
			name:   "no client IP sends no X-Forwarded-For",
			in:     http.Header{"X-Forwarded-For": {"6.6.6.6"}},
			absent: []string{"X-Forwarded-For"},
		},
		{
			name: "configured identity headers stripped and set by us",
			in: http.Header{
				"X-User-Id":    {"admin"},
				"X-User_id":    {"admin"},
				"X-Scopes":     {"admin"},
				"X-Unrelated":  {"kept"},
				"Content-Type": {"application/json"},
			},
			out: Outbound{
				StripHeaders: []string{"x-user-id", "X-Scopes"},
				Header:       http.Header{"x-user-id": {"alice"}, "X-Request-Id": {"req-1"}},
			},
			want: map[string]string{
				"X-User-Id":    "alice",
				"X-Request-Id": "req-1",
				"X-Unrelated":  "kept",
				"Content-Type": "application/json",
			},
			absent: []string{"X-Scopes"},
		},
		{
			name: "our header wins over the client's",
			in:   http.Header{"X-Request-Id": {"forged"}},
			out:  Outbound{Header: http.Header{"X-Request-Id": {"req-2"}}},
			want: map[string]string{"X-Request-Id": "req-2"},
		},
		{
			name: "hop-by-hop removed",
			in: http.Header{
				"Connection":          {"X-Hop, keep-alive"},
				"X-Hop":               {"1"},
				"Keep-Alive":          {"timeout=5"},
				"Proxy-Authorization": {"Basic eDp5"},
				"Proxy-Connection":    {"keep-alive"},
				"Te":                  {"gzip"},
				"Trailer":             {"X-T"},
				"X-Not-Hop":           {"kept"},
			},
			want:   map[string]string{"X-Not-Hop": "kept"},
			absent: []string{"Connection", "X-Hop", "Keep-Alive", "Proxy-Authorization", "Proxy-Connection", "Te", "Trailer"},
		},
		{
			name:   "expect dropped with a replaced body",
			in:     http.Header{"Expect": {"100-continue"}},
			out:    Outbound{Body: []byte("{}")},
			absent: []string{"Expect"},
		},
		{
			name:   "upgrade not forwarded",
			in:     http.Header{"Connection": {"Upgrade"}, "Upgrade": {"websocket"}, "Sec-Websocket-Key": {"x"}},
			absent: []string{"Connection", "Upgrade"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := httptest.NewRequest(http.MethodGet, "http://gw.example/", nil)
			for k, vs := range tt.in {
				in.Header[k] = vs
			}
			if tt.tls {
				in.TLS = &tls.ConnectionState{}
			}
			w := httptest.NewRecorder()
			p.Forward(w, in, tt.out)
			if w.Code != http.StatusOK {
				t.Fatalf("status = %d, want 200", w.Code)
			}
			got := rec.get(t).Header
			for k, v := range tt.want {
				if vs := headerFolded(got, k); len(vs) != 1 || vs[0] != v {
					t.Errorf("upstream %s = %q, want exactly [%q]", k, vs, v)
				}
			}
			for _, k := range tt.absent {
				if vs := headerFolded(got, k); len(vs) != 0 {
					t.Errorf("upstream received %s = %q, want none", k, vs)
				}
			}
		})
	}
}

func TestForwardRefusesSwitchingProtocols(t *testing.T) {
	srv := rawUpstream(t, "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n")
	p := mustNew(t, Config{URL: srv.URL})
	fails := recordFailures(p)
	in := httptest.NewRequest(http.MethodGet, "/", nil)
	in.Header.Set("Connection", "Upgrade")
	in.Header.Set("Upgrade", "websocket")
	w := httptest.NewRecorder()
	p.Forward(w, in, Outbound{})
	if w.Code != http.StatusBadGateway || len(*fails) != 1 || !errors.Is((*fails)[0].err, errUpgradeRefused) {
		t.Fatalf("status %d, failures %v; want 502 with the upgrade refused", w.Code, *fails)
	}
}

func TestOnResponse(t *testing.T) {
	srv, _ := newRecordingUpstream(t)
	tests := []struct {
		name       string
		hook       func(*http.Response) error
		wantStatus int
		wantHeader string
	}{
		{"may edit the response", func(r *http.Response) error { r.Header.Set("X-Checked", "yes"); return nil }, http.StatusOK, "yes"},
		{"error drops the response", func(*http.Response) error { return errors.New("response failed validation") }, http.StatusBadGateway, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := mustNew(t, Config{URL: srv.URL})
			p.OnResponse = tt.hook
			w := httptest.NewRecorder()
			p.Forward(w, httptest.NewRequest(http.MethodGet, "/", nil), Outbound{})
			if w.Code != tt.wantStatus || w.Header().Get("X-Checked") != tt.wantHeader {
				t.Fatalf("got %d X-Checked=%q, want %d %q", w.Code, w.Header().Get("X-Checked"), tt.wantStatus, tt.wantHeader)
			}
			if tt.wantStatus != http.StatusOK && strings.Contains(w.Body.String(), `"ok"`) {
				t.Fatal("the refused upstream body reached the client")
			}
		})
	}
}

func TestForwardClientCancelled(t *testing.T) {
	arrived := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(arrived)
		<-r.Context().Done()
	}))
	t.Cleanup(srv.Close)
	p := mustNew(t, Config{URL: srv.URL})
	fails := recordFailures(p)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	in := httptest.NewRequest(http.MethodGet, "/", nil).WithContext(ctx)
	w := httptest.NewRecorder()
	done := make(chan struct{})
	go func() {
		defer close(done)
		p.Forward(w, in, Outbound{})
	}()
	<-arrived
	cancel()
	<-done
	if len(*fails) != 0 {
		t.Fatalf("OnError called for a client cancellation: %v", *fails)
	}
	if w.Code != StatusClientClosedRequest {
		t.Fatalf("status = %d, want %d", w.Code, StatusClientClosedRequest)
	}
}
