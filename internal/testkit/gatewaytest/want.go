package gatewaytest

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
)

// WantOK asserts a forwarded, answered request.
func WantOK(t testing.TB, rp Reply) {
	t.Helper()
	if rp.Status != http.StatusOK {
		t.Fatalf("want 200, got %v", rp)
	}
	if strings.Contains(string(rp.Body), `"errors"`) {
		t.Fatalf("answer has errors: %v", rp)
	}
}

// WantGQLError asserts the GraphQL error shape with code and no data, and
// returns the first error's extensions.
func WantGQLError(t testing.TB, rp Reply, status int, code string) map[string]any {
	t.Helper()
	var body struct {
		Errors []struct {
			Message    string
			Extensions map[string]any
		}
		Data json.RawMessage
	}
	if err := json.Unmarshal(rp.Body, &body); err != nil || len(body.Errors) == 0 {
		t.Fatalf("want GraphQL errors, got %v", rp)
	}
	if rp.Status != status || body.Errors[0].Extensions["code"] != code {
		t.Fatalf("want %d %s, got %v", status, code, rp)
	}
	if ct := rp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("Content-Type = %q", ct)
	}
	if len(body.Data) != 0 {
		t.Errorf("refusal carries data: %v", rp)
	}
	if body.Errors[0].Message == "" {
		t.Errorf("error without message: %v", rp)
	}
	return body.Errors[0].Extensions
}

// Problem is the RFC 9457 document of a REST refusal; Doc is all of it,
// for members of its own (a cost extension).
type Problem struct {
	Type   string `json:"type"`
	Title  string `json:"title"`
	Status int    `json:"status"`
	Detail string `json:"detail"`
	Code   string `json:"code"`
	Errors []struct {
		Pointer string `json:"pointer"`
		Detail  string `json:"detail"`
	} `json:"errors"`
	Doc map[string]any `json:"-"`
}

// HTTPLayer, as WantProblem's code, marks a request Go's HTTP server
// refuses before the gateway sees it (a malformed request-target): plain
// 400, no problem document.
const HTTPLayer = "-"

// WantProblem checks a refusal: status, application/problem+json with the
// code's type URI and the status's title, and exactly the given JSON
// pointers (in any order; none for nil).
func WantProblem(t testing.TB, rp Reply, status int, code string, pointers []string) Problem {
	t.Helper()
	if rp.Status != status {
		t.Fatalf("status %d, want %d: %v", rp.Status, status, rp)
	}
	if code == HTTPLayer {
		if ct := rp.Header.Get("Content-Type"); strings.Contains(ct, "problem") {
			t.Fatalf("expected Go's own refusal, got a problem: %v", rp)
		}
		return Problem{}
	}
	if ct := rp.Header.Get("Content-Type"); ct != "application/problem+json" {
		t.Fatalf("Content-Type %q, want application/problem+json: %v", ct, rp)
	}
	var p Problem
	if err := json.Unmarshal(rp.Body, &p); err != nil {
		t.Fatalf("problem is not JSON: %v", rp)
	}
	if err := json.Unmarshal(rp.Body, &p.Doc); err != nil {
		t.Fatalf("problem is not a JSON object: %v", rp)
	}
	wantType := "https://portcullis.dev/problems/" + strings.ToLower(strings.ReplaceAll(code, "_", "-"))
	if p.Code != code || p.Type != wantType || p.Status != status || p.Title != http.StatusText(status) {
		t.Fatalf("problem code %q type %q status %d title %q, want %q %q %d %q: %s",
			p.Code, p.Type, p.Status, p.Title, code, wantType, status, http.StatusText(status), rp.Body)
	}
	var got []string
	for _, e := range p.Errors {
		if e.Detail == "" {
			t.Errorf("error at %q has no detail: %s", e.Pointer, rp.Body)
		}
		got = append(got, e.Pointer)
	}
	slices.Sort(got)
	want := slices.Sorted(slices.Values(pointers))
	if !slices.Equal(got, want) {
		t.Fatalf("pointers %q, want %q: %s", got, want, rp.Body)
	}
	return p
}
