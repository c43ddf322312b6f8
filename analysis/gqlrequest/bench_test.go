package gqlrequest

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
)

// mediumBody is about the medium workload of the gateway's load benchmark:
// a 1 KB document with fragments, an operation name and variables.
const mediumBody = `{"query":"query ProductPage($upc: String!, $first: Int = 5, $withReviews: Boolean! = true) {\n  product(upc: $upc) {\n    ...ProductFields\n    reviews(first: $first) @include(if: $withReviews) {\n      ...ReviewFields\n      author { id username email }\n    }\n  }\n  topProducts(first: $first) { ...ProductFields }\n}\n\nfragment ProductFields on Product {\n  upc\n  name\n  price\n  weight\n  inStock\n  shippingEstimate\n}\n\nfragment ReviewFields on Review {\n  id\n  body\n  product { upc name }\n}\n","operationName":"ProductPage","variables":{"upc":"1","first":3,"withReviews":true,"filter":{"minPrice":10.5,"tags":["a","b","c"],"note":"caf\u00e9 \"quoted\""}},"extensions":{"clientLibrary":{"name":"apollo-client","version":"3.9.0"}}}`

// BenchmarkParse is the reader alone.
func BenchmarkParse(b *testing.B) {
	body := []byte(mediumBody)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := Parse(body, Options{}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkParseWriteMap is what the gateway does per request: read, build
// the analysis's variables map, and write the canonical body.
func BenchmarkParseWriteMap(b *testing.B) {
	body := []byte(mediumBody)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	buf := make([]byte, 0, 2048)
	for b.Loop() {
		reqs, _, err := Parse(body, Options{})
		if err != nil {
			b.Fatal(err)
		}
		_ = reqs[0].Variables.Map()
		buf = AppendRequest(buf[:0], &reqs[0])
	}
}

// BenchmarkEncodingJSON is the decode it replaces (case-insensitive,
// reflective), for comparison.
func BenchmarkEncodingJSON(b *testing.B) {
	body := []byte(mediumBody)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		var r struct {
			Query         string         `json:"query"`
			OperationName string         `json:"operationName,omitempty"`
			Variables     map[string]any `json:"variables,omitempty"`
			Extensions    map[string]any `json:"extensions,omitempty"`
		}
		if err := json.Unmarshal(body, &r); err != nil {
			b.Fatal(err)
		}
	}
}

// largeBody is about the large workload of the per-core benchmark: a 7 KB
// document of 24 lines (each newline an escape), string literals in
// escaped quotes, and a variable.
var largeBody = func() []byte {
	var lines []string
	for i := range 24 {
		lines = append(lines, fmt.Sprintf(`  r%02d: search(input: {term: \"t%d\"}) { id title author { id name email books { id title publisher { name } } } publisher { name address { zipCode } } related(first: 4) { id title author { id name email } publisher { name address { zipCode } } related(first: 2) { id title author { name } } } }`, i, i))
	}
	return []byte(`{"query":"query Large($n: Int!) {\n` + strings.Join(lines, `\n`) + `\n}\n","variables":{"n":4}}`)
}()

// BenchmarkParseLarge is the reader on a long document.
func BenchmarkParseLarge(b *testing.B) {
	b.SetBytes(int64(len(largeBody)))
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := Parse(largeBody, Options{}); err != nil {
			b.Fatal(err)
		}
	}
}
