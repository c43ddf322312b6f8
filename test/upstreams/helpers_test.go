package upstreams_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
)

type gqlResponse struct {
	Data   json.RawMessage `json:"data"`
	Errors []struct {
		Message string `json:"message"`
	} `json:"errors"`
}

// postGraphQL sends one GraphQL-over-HTTP POST and decodes the answer.
func postGraphQL(t *testing.T, endpoint, query string, variables map[string]any, header http.Header) gqlResponse {
	t.Helper()
	body, err := json.Marshal(map[string]any{"query": query, "variables": variables})
	if err != nil {
		t.Fatal(err)
	}
	req, err := http.NewRequest(http.MethodPost, endpoint, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	for k, vs := range header {
		req.Header[k] = vs
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d, body %s", resp.StatusCode, raw)
	}
	var out gqlResponse
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatalf("decoding %s: %v", raw, err)
	}
	return out
}

// assertJSONEqual compares JSON documents by value, not by bytes.
func assertJSONEqual(t *testing.T, got []byte, want string) {
	t.Helper()
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatalf("decoding got %s: %v", got, err)
	}
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatalf("decoding want %s: %v", want, err)
	}
	gb, _ := json.Marshal(g)
	wb, _ := json.Marshal(w)
	if !bytes.Equal(gb, wb) {
		t.Errorf("got  %s\nwant %s", gb, wb)
	}
}

// assertAnswer checks an answer's data, and that it has errors exactly when
// wantError is set, the first one containing it.
func assertAnswer(t *testing.T, resp gqlResponse, want, wantError string) {
	t.Helper()
	switch {
	case wantError == "" && len(resp.Errors) > 0:
		t.Fatalf("unexpected errors: %+v", resp.Errors)
	case wantError != "" && (len(resp.Errors) == 0 || !strings.Contains(resp.Errors[0].Message, wantError)):
		t.Fatalf("errors %+v, want one containing %q", resp.Errors, wantError)
	}
	assertJSONEqual(t, resp.Data, want)
}
