package upstreamtest

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

func TestRecorderRecordsAndForwardsTheBody(t *testing.T) {
	var seen string
	rec := NewRecorder(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		seen = string(b)
		w.WriteHeader(http.StatusTeapot)
	}))
	srv := httptest.NewServer(rec)
	defer srv.Close()

	req, err := http.NewRequest(http.MethodPut, srv.URL+"/a/b?x=1&y=%20", strings.NewReader("payload"))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("X-Test", "yes")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()

	if resp.StatusCode != http.StatusTeapot {
		t.Errorf("status %d, want the wrapped handler's 418", resp.StatusCode)
	}
	if seen != "payload" {
		t.Errorf("wrapped handler read %q, want the full body", seen)
	}
	if rec.Count() != 1 {
		t.Fatalf("Count() = %d, want 1", rec.Count())
	}
	got := rec.Requests()[0]
	if got.Method != http.MethodPut || got.Path != "/a/b" || got.RawQuery != "x=1&y=%20" || got.Line() != "PUT /a/b?x=1&y=%20" ||
		got.Header.Get("X-Test") != "yes" || string(got.Body) != "payload" {
		t.Errorf("recorded %+v", got)
	}

	// Requests hands out copies: changing one must not change the record.
	got.Header.Set("X-Test", "changed")
	got.Body[0] = 'P'
	again := rec.Requests()[0]
	if again.Header.Get("X-Test") != "yes" || string(again.Body) != "payload" {
		t.Errorf("record was changed through a returned copy: %+v", again)
	}

	rec.Reset()
	if rec.Count() != 0 || len(rec.Requests()) != 0 {
		t.Errorf("after Reset: Count() = %d, Requests() = %v", rec.Count(), rec.Requests())
	}
}

func TestRecorderIsSafeForConcurrentUse(t *testing.T) {
	rec := NewRecorder(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	const n = 50
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rec.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodPost, fmt.Sprintf("/r/%d", i), strings.NewReader("b")))
			_ = rec.Requests()
			_ = rec.Count()
		}()
	}
	wg.Wait()
	if rec.Count() != n {
		t.Fatalf("Count() = %d, want %d", rec.Count(), n)
	}
	paths := map[string]bool{}
	for _, r := range rec.Requests() {
		paths[r.Path] = true
	}
	if len(paths) != n {
		t.Errorf("%d distinct paths recorded, want %d", len(paths), n)
	}
}

// TestServerKeepsTheRequestLine: the request-target is kept as sent, which
// the decoded Path cannot show (an encoded slash, a dot segment).
func TestServerKeepsTheRequestLine(t *testing.T) {
	up := Start(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	conn, err := net.Dial("tcp", strings.TrimPrefix(up.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := io.WriteString(conn, "GET /a%2Fb/./c?q=%41 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadAll(conn); err != nil {
		t.Fatal(err)
	}
	if got := up.Lines(); len(got) != 1 || got[0] != "GET /a%2Fb/./c?q=%41" {
		t.Errorf("Lines() = %q", got)
	}
	if r := up.Requests()[0]; r.Path != "/a/b/./c" || r.RawQuery != "q=%41" {
		t.Errorf("decoded %q %q", r.Path, r.RawQuery)
	}
}
