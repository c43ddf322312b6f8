package upstreams_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/portcullis-gw/portcullis/test/upstreams"
)

func TestRecorderRecordsAndForwardsTheBody(t *testing.T) {
	var seen string
	rec := upstreams.NewRecorder(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
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
	if got.Method != http.MethodPut || got.Path != "/a/b" || got.RawQuery != "x=1&y=%20" ||
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
	rec := upstreams.NewRecorder(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
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

func TestStartAllRecordsPerService(t *testing.T) {
	set := upstreams.StartAll(t)
	for _, svc := range set.All() {
		if !strings.HasPrefix(svc.URL, "http://127.0.0.1:") {
			t.Errorf("%s URL %q is not on 127.0.0.1", svc.Name, svc.URL)
		}
	}
	postGraphQL(t, set.Products.Endpoint, `{ topProducts(first: 1) { upc } }`, nil, http.Header{"X-Trace": {"t1"}})
	resp, err := http.Get(set.Orders.Endpoint + "/orders?limit=1")
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()

	counts := map[string]int{}
	for _, svc := range set.All() {
		counts[svc.Name] = svc.Recorder.Count()
	}
	want := map[string]int{"accounts": 0, "products": 1, "reviews": 0, "orders": 1}
	if fmt.Sprint(counts) != fmt.Sprint(want) {
		t.Errorf("counts %v, want %v", counts, want)
	}
	p := set.Products.Recorder.Requests()[0]
	if p.Method != http.MethodPost || p.Path != "/query" || p.Header.Get("X-Trace") != "t1" || !strings.Contains(string(p.Body), "topProducts") {
		t.Errorf("products recorded %+v", p)
	}
	o := set.Orders.Recorder.Requests()[0]
	if o.Method != http.MethodGet || o.Path != "/v1/orders" || o.RawQuery != "limit=1" {
		t.Errorf("orders recorded %+v", o)
	}

	set.ResetAll()
	for _, svc := range set.All() {
		if svc.Recorder.Count() != 0 {
			t.Errorf("%s still has %d records after ResetAll", svc.Name, svc.Recorder.Count())
		}
	}
}
