package upstream

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"
)

type timeoutErr struct{}

func (timeoutErr) Error() string   { return "timeout awaiting response headers" }
func (timeoutErr) Timeout() bool   { return true }
func (timeoutErr) Temporary() bool { return true }

func TestClassify(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want ErrorKind
	}{
		{"nil", nil, KindError},
		{"connection refused", &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}, KindUnavailable},
		{"dial timeout", &net.OpError{Op: "dial", Net: "tcp", Err: timeoutErr{}}, KindUnavailable},
		{"no route", fmt.Errorf("wrapped: %w", syscall.EHOSTUNREACH), KindUnavailable},
		{"network unreachable", syscall.ENETUNREACH, KindUnavailable},
		{"dns", &net.DNSError{Err: "no such host", Name: "backend", IsNotFound: true}, KindUnavailable},
		{"deadline", fmt.Errorf("round trip: %w", context.DeadlineExceeded), KindTimeout},
		{"response header timeout", timeoutErr{}, KindTimeout},
		{"read timeout", &net.OpError{Op: "read", Err: timeoutErr{}}, KindTimeout},
		{"eof", io.EOF, KindError},
		{"unexpected eof", io.ErrUnexpectedEOF, KindError},
		{"reset by peer", &net.OpError{Op: "read", Err: os.NewSyscallError("read", syscall.ECONNRESET)}, KindError},
		{"unknown authority", x509.UnknownAuthorityError{}, KindError},
		{"canceled", context.Canceled, KindError},
		{"anything else", errors.New("boom"), KindError},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Classify(tt.err); got != tt.want {
				t.Fatalf("Classify(%v) = %v, want %v", tt.err, got, tt.want)
			}
		})
	}
}

func TestErrorKind(t *testing.T) {
	tests := []struct {
		kind   ErrorKind
		status int
		code   string
	}{
		{KindError, http.StatusBadGateway, "UPSTREAM_ERROR"},
		{KindUnavailable, http.StatusServiceUnavailable, "UPSTREAM_UNAVAILABLE"},
		{KindTimeout, http.StatusGatewayTimeout, "UPSTREAM_TIMEOUT"},
		{ErrorKind(42), http.StatusBadGateway, "UPSTREAM_ERROR"},
	}
	for _, tt := range tests {
		t.Run(tt.code, func(t *testing.T) {
			if tt.kind.Status() != tt.status || tt.kind.Code() != tt.code {
				t.Fatalf("%d: got %d %s, want %d %s", int(tt.kind), tt.kind.Status(), tt.kind.Code(), tt.status, tt.code)
			}
		})
	}
}

// slowUpstream answers nothing until the proxy gives up on it.
func slowUpstream(t *testing.T) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-r.Context().Done()
	}))
	t.Cleanup(srv.Close)
	return srv
}

// stallingUpstream sends its headers, then stalls before the body.
func stallingUpstream(t *testing.T) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "100")
		w.WriteHeader(http.StatusOK)
		_, _ = io.WriteString(w, "partial")
		http.NewResponseController(w).Flush()
		<-r.Context().Done()
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestForwardFailures(t *testing.T) {
	tests := []struct {
		name     string
		upstream func(t *testing.T) string // returns the upstream URL
		timeout  time.Duration
		want     ErrorKind
	}{
		{"killed upstream", func(t *testing.T) string { return "http://" + closedAddr(t) }, 0, KindUnavailable},
		{"unresolvable host", func(*testing.T) string { return "http://backend.invalid" }, 0, KindUnavailable},
		{"slow upstream", func(t *testing.T) string { return slowUpstream(t).URL }, 50 * time.Millisecond, KindTimeout},
		{"closes without answering", func(t *testing.T) string { return rawUpstream(t, "").URL }, 0, KindError},
		{"closes mid-header", func(t *testing.T) string { return rawUpstream(t, "HTTP/1.1 200 OK\r\nContent-Le").URL }, 0, KindError},
		{"garbage answer", func(t *testing.T) string { return rawUpstream(t, "SSH-2.0-OpenSSH_9.6\r\n").URL }, 0, KindError},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			target := tt.upstream(t)
			host := strings.TrimPrefix(target, "http://")

			t.Run("OnError", func(t *testing.T) {
				p := mustNew(t, Config{URL: target, Timeout: tt.timeout})
				fails := recordFailures(p)
				w := httptest.NewRecorder()
				in := httptest.NewRequest(http.MethodGet, "/", nil)
				p.Forward(w, in, Outbound{})
				if len(*fails) != 1 {
					t.Fatalf("OnError called %d times, want once", len(*fails))
				}
				if (*fails)[0].req != in {
					t.Fatal("OnError did not receive the inbound request")
				}
				if got := (*fails)[0]; got.kind != tt.want {
					t.Fatalf("kind = %v (cause %v), want %v", got.kind, got.err, tt.want)
				}
				if w.Code != tt.want.Status() {
					t.Fatalf("status = %d, want %d", w.Code, tt.want.Status())
				}
			})

			t.Run("default writer", func(t *testing.T) {
				p := mustNew(t, Config{URL: target, Timeout: tt.timeout})
				w := httptest.NewRecorder()
				p.Forward(w, httptest.NewRequest(http.MethodGet, "/", nil), Outbound{})
				body := w.Body.String()
				if w.Code != tt.want.Status() || !strings.Contains(body, tt.want.Code()) {
					t.Fatalf("got %d %q, want %d with %s", w.Code, body, tt.want.Status(), tt.want.Code())
				}
				if strings.Contains(body, host) || strings.Contains(body, "127.0.0.1") {
					t.Fatalf("body %q leaks the upstream address", body)
				}
			})
		})
	}
}

// A failure after the status was sent cannot become a 502: the response is
// aborted so the client sees a broken body rather than a complete one.
func TestForwardFailureMidBody(t *testing.T) {
	tests := []struct {
		name     string
		upstream func(t *testing.T) string
		timeout  time.Duration
	}{
		{"upstream closes mid-body", func(t *testing.T) string {
			return rawUpstream(t, "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\npartial").URL
		}, 0},
		{"upstream stalls past the timeout", func(t *testing.T) string { return stallingUpstream(t).URL }, 100 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := mustNew(t, Config{URL: tt.upstream(t), Timeout: tt.timeout})
			fails := recordFailures(p)
			front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				p.Forward(w, r, Outbound{})
			}))
			front.Config.ErrorLog = quietLog()
			t.Cleanup(front.Close)

			// The front server may not have flushed the status line yet, so
			// the abort shows either as a failed round trip or a failed read.
			res, err := http.Get(front.URL)
			if err == nil {
				defer res.Body.Close()
				var body []byte
				if body, err = io.ReadAll(res.Body); err == nil {
					t.Fatalf("got %d %q without error; want the response aborted", res.StatusCode, body)
				}
				if res.StatusCode != http.StatusOK {
					t.Fatalf("status %d; a failure after the upstream's status must not change it", res.StatusCode)
				}
			}
			if len(*fails) != 0 {
				t.Fatalf("OnError called after the response started: %v", *fails)
			}
		})
	}
}

func TestPing(t *testing.T) {
	srv, rec := newRecordingUpstream(t)
	tests := []struct {
		name string
		url  string
		want error
	}{
		{"reachable", srv.URL + "/query", nil},
		{"killed", "http://" + closedAddr(t), syscall.ECONNREFUSED},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			errs := mustNew(t, Config{URL: tt.url}).Ping(context.Background())
			if tt.want == nil {
				if len(errs) != 0 {
					t.Fatalf("Ping = %v, want none", errs)
				}
				return
			}
			if len(errs) != 1 || !errors.Is(errs[0], tt.want) {
				t.Fatalf("Ping = %v, want one %v", errs, tt.want)
			}
		})
	}
	if got := rec.get(t); got.Method != http.MethodHead || got.RequestURI != "/query" {
		t.Fatalf("ping sent %s %s, want HEAD /query", got.Method, got.RequestURI)
	}
}
