package gateway

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
)

// Error codes the gateway itself produces. analysis, the policy packages and
// upstream (ErrorKind.Code) own the codes of their own refusals.
const (
	CodeBadRequest       = "BAD_REQUEST"
	CodeCSRF             = "CSRF_PREVENTED"
	CodeMethodNotAllowed = "METHOD_NOT_ALLOWED"
	CodeUnsupportedMedia = "UNSUPPORTED_MEDIA_TYPE"
	CodeTooLarge         = "REQUEST_TOO_LARGE"
	CodeInternal         = "INTERNAL_SERVER_ERROR"
	CodeNotFound         = "NOT_FOUND"
	CodeUnsafePath       = "UNSAFE_PATH"
	CodeNotReady         = "GATEWAY_NOT_READY"
)

// GraphQLError is one entry of a GraphQL response's "errors" list. Message is
// the public message: it never carries internals (addresses, stacks).
type GraphQLError struct {
	Message    string         `json:"message"`
	Path       []any          `json:"path,omitempty"`
	Locations  []Location     `json:"locations,omitempty"`
	Extensions map[string]any `json:"extensions,omitempty"`
}

// Location is a position in the GraphQL document.
type Location struct {
	Line   int `json:"line"`
	Column int `json:"column"`
}

// gqlErr builds a GraphQLError with its code.
func gqlErr(code, msg string) GraphQLError {
	return GraphQLError{Message: msg, Extensions: map[string]any{"code": code}}
}

const (
	mediaJSON            = "application/json"
	mediaGraphQLResponse = "application/graphql-response+json"
	mediaProblem         = "application/problem+json"
)

// graphqlMediaType answers application/graphql-response+json to clients that
// accept it (GraphQL-over-HTTP), and application/json to everyone else.
func graphqlMediaType(r *http.Request) string {
	if strings.Contains(r.Header.Get("Accept"), mediaGraphQLResponse) {
		return mediaGraphQLResponse
	}
	return mediaJSON
}

// writeGraphQLErrors is the one error writer of the GraphQL front door.
func writeGraphQLErrors(w http.ResponseWriter, r *http.Request, status int, errs ...GraphQLError) {
	body, _ := json.Marshal(struct {
		Errors []GraphQLError `json:"errors"`
	}{errs})
	h := w.Header()
	h.Set("Content-Type", graphqlMediaType(r)+"; charset=utf-8")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// Problem is an RFC 9457 problem document.
type Problem struct {
	Type   string         `json:"type"`
	Title  string         `json:"title"`
	Status int            `json:"status"`
	Detail string         `json:"detail,omitempty"`
	Code   string         `json:"code,omitempty"`
	Errors []ProblemError `json:"errors,omitempty"`
	// Extensions are further members (RFC 9457 section 3.2), e.g. cost.
	Extensions map[string]any `json:"-"`
}

// MarshalJSON writes the extension members beside the standard ones.
func (p Problem) MarshalJSON() ([]byte, error) {
	type plain Problem
	b, err := json.Marshal(plain(p))
	if err != nil || len(p.Extensions) == 0 {
		return b, err
	}
	ext, err := json.Marshal(p.Extensions)
	if err != nil {
		return nil, err
	}
	// Both are JSON objects: splice the members in.
	return append(append(b[:len(b)-1:len(b)-1], ','), ext[1:]...), nil
}

// ProblemError is one validation failure, located by a JSON pointer.
type ProblemError struct {
	Pointer string `json:"pointer"`
	Detail  string `json:"detail"`
}

// problemTypeBase prefixes problem type URIs; each code gets its own page.
const problemTypeBase = "https://portcullis.dev/problems/"

func newProblem(status int, code, detail string) Problem {
	return Problem{
		Type:   problemTypeBase + strings.ToLower(strings.ReplaceAll(code, "_", "-")),
		Title:  http.StatusText(status),
		Status: status,
		Detail: detail,
		Code:   code,
	}
}

// writeProblem is the one error writer of the REST front door (and of paths
// that match no route).
func writeProblem(w http.ResponseWriter, p Problem) {
	body, _ := json.Marshal(p)
	h := w.Header()
	h.Set("Content-Type", mediaProblem)
	h.Set("Content-Length", strconv.Itoa(len(body)))
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(p.Status)
	_, _ = w.Write(body)
}
