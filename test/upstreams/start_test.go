package upstreams_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/portcullis-gw/portcullis/test/upstreams"
)

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
