package rest

import (
	"net/http/httptest"
	"strings"
	"testing"
)

// benchOrder is a createOrder body of about 1 KB (the docs/ pages goal: under 20 µs).
var benchOrder = func() string {
	var items []string
	for i := 0; i < 18; i++ {
		items = append(items, `{"sku":"SKU-000`+string(rune('a'+i))+`","quantity":3,"unitPrice":1299}`)
	}
	return `{"userId":"user_12345","items":[` + strings.Join(items, ",") + `],"note":"please leave the parcel with the neighbour at number 12 if nobody is home, thanks"}`
}()

func BenchmarkValidate(b *testing.B) {
	for _, doc := range orderDocs {
		b.Run(doc, func(b *testing.B) {
			r := route(b, doc, Options{})
			body := []byte(benchOrder)
			req := httptest.NewRequest("POST", "http://gw/v1/orders", nil)
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Idempotency-Key", "abc-123")
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			for b.Loop() {
				op, f := r.Match("POST", "/v1/orders")
				if f != nil {
					b.Fatal(f)
				}
				if f := r.Validate(op, req, body); f != nil {
					b.Fatal(f)
				}
				if f := r.Security(op, Caller{Authenticated: true, Kind: KindToken, Scopes: []string{"orders:write"}}); f != nil {
					b.Fatal(f)
				}
			}
		})
	}
}
