package gatewaytest

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// Reply is one answer, read whole.
type Reply struct {
	Status int
	Header http.Header
	Body   []byte
}

func (r Reply) String() string { return fmt.Sprintf("%d %v %s", r.Status, r.Header, r.Body) }

// Client bounds every request: a gateway that should answer must not hang
// a test (a hang guard, not a timing assertion).
var Client = &http.Client{Timeout: guard}

// Do sends req and reads the answer whole. It needs no *testing.T, so
// concurrent callers use it from their goroutines.
func Do(c *http.Client, req *http.Request) (Reply, error) {
	resp, err := c.Do(req)
	if err != nil {
		return Reply{}, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return Reply{}, fmt.Errorf("reading the answer: %w", err)
	}
	return Reply{Status: resp.StatusCode, Header: resp.Header, Body: b}, nil
}

// Send sends one request with the headers in hdr (canonical names); a
// request with a body is JSON unless hdr sets Content-Type.
func Send(t testing.TB, method, url string, hdr map[string]string, body string) Reply {
	t.Helper()
	return send(t, Client, newRequest(t, method, url, body, hdr))
}

// newRequest is a request with a JSON body (when not empty) and the
// headers in hdr, which may replace the content type.
func newRequest(t testing.TB, method, url, body string, hdr map[string]string) *http.Request {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	return req
}

func send(t testing.TB, c *http.Client, req *http.Request) Reply {
	t.Helper()
	r, err := Do(c, req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	return r
}

// Raw sends one request over TCP with its request-target and header names
// exactly as given: Go's client would clean or re-encode what bypass
// corpora are made of.
func Raw(t testing.TB, addr, method, target string, hdr map[string]string, ctype, body string) Reply {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(guard))
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s HTTP/1.1\r\nHost: gateway.test\r\nConnection: close\r\n", method, target)
	for k, v := range hdr {
		fmt.Fprintf(&b, "%s: %s\r\n", k, v)
	}
	if ctype != "" {
		fmt.Fprintf(&b, "Content-Type: %s\r\n", ctype)
	}
	if body != "" || method == http.MethodPost {
		fmt.Fprintf(&b, "Content-Length: %d\r\n", len(body))
	}
	b.WriteString("\r\n")
	b.WriteString(body)
	if _, err := io.WriteString(conn, b.String()); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("%s %q: reading the answer: %v", method, target, err)
	}
	defer resp.Body.Close()
	rb, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %q: reading the body: %v", method, target, err)
	}
	return Reply{Status: resp.StatusCode, Header: resp.Header, Body: rb}
}

// FirstCode is the error code of a refusal: a problem document's code, or
// the first GraphQL error's extensions.code.
func FirstCode(t testing.TB, body []byte) string {
	t.Helper()
	var r struct {
		Errors []struct{ Extensions map[string]any }
		Code   string
	}
	if err := json.Unmarshal(body, &r); err != nil {
		t.Fatalf("not JSON: %s", body)
	}
	if r.Code != "" {
		return r.Code
	}
	if len(r.Errors) == 0 {
		t.Fatalf("no errors in %s", body)
	}
	c, _ := r.Errors[0].Extensions["code"].(string)
	return c
}

// StoreClient is the client of the tests that stage store outages: a
// gateway waiting on a dead store must answer within its store timeout, not
// hang (a hang guard, not a timing assertion).
var StoreClient = &http.Client{Timeout: 5 * time.Second}

// SendFrom makes a request as the client at ip (X-Forwarded-For, which the
// tests' configs trust from 127.0.0.1), with extra headers; a body is JSON.
func SendFrom(t testing.TB, method, url, ip, body string, hdr map[string]string) Reply {
	t.Helper()
	req := newRequest(t, method, url, body, nil)
	req.Header.Set("X-Forwarded-For", ip)
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	return send(t, StoreClient, req)
}

// GraphQLFrom posts query to the GraphQL endpoint at url as the client at ip.
func GraphQLFrom(t testing.TB, url, ip, query string) Reply {
	t.Helper()
	b, _ := json.Marshal(map[string]string{"query": query})
	return SendFrom(t, http.MethodPost, url, ip, string(b), nil)
}

// GraphQLBody is a GraphQL-over-HTTP request body: the query, and the
// variables when vars is not nil.
func GraphQLBody(query string, vars map[string]any) string {
	m := map[string]any{"query": query}
	if vars != nil {
		m["variables"] = vars
	}
	b, _ := json.Marshal(m)
	return string(b)
}
