package graphqlhttp

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"

	"github.com/portcullis-gw/portcullis/analysis"
	"github.com/portcullis-gw/portcullis/gateway/pipeline"
)

// GraphQLError is one entry of a GraphQL response's "errors" list. Message
// is the public message: it never carries internals (addresses, stacks).
type GraphQLError struct {
	Message    string              `json:"message"`
	Path       []any               `json:"path,omitempty"`
	Locations  []pipeline.Location `json:"locations,omitempty"`
	Extensions map[string]any      `json:"extensions,omitempty"`
}

const (
	// MediaJSON is what every GraphQL request goes upstream as, and what
	// clients that do not ask for more receive.
	MediaJSON = "application/json"
	// MediaGraphQLResponse is GraphQL over HTTP's own response type.
	MediaGraphQLResponse = "application/graphql-response+json"
)

// mediaType answers application/graphql-response+json to clients that
// accept it (GraphQL over HTTP), and application/json to everyone else.
func mediaType(r *http.Request) string {
	if strings.Contains(r.Header.Get("Accept"), MediaGraphQLResponse) {
		return MediaGraphQLResponse
	}
	return MediaJSON
}

// errorsOf is a refusal in the GraphQL error shape: each issue with its
// own code, or one error made of the refusal's code and message.
func errorsOf(ref *pipeline.Refusal) []GraphQLError {
	if len(ref.Issues) == 0 {
		ext := make(map[string]any, len(ref.Extensions)+1)
		for k, v := range ref.Extensions {
			ext[k] = v
		}
		ext["code"] = ref.Code
		return []GraphQLError{{Message: ref.Message, Extensions: ext}}
	}
	out := make([]GraphQLError, len(ref.Issues))
	for i, is := range ref.Issues {
		ext := make(map[string]any, len(is.Extensions)+1)
		for k, v := range is.Extensions {
			ext[k] = v
		}
		ext["code"] = is.Code
		out[i] = GraphQLError{Message: is.Message, Path: is.Path, Locations: is.Locations, Extensions: ext}
	}
	return out
}

// Render is the one writer of the GraphQL front door's refusals.
func Render(w http.ResponseWriter, r *http.Request, ref *pipeline.Refusal) {
	ref.ApplyHeader(w.Header())
	body, _ := json.Marshal(struct {
		Errors []GraphQLError `json:"errors"`
	}{errorsOf(ref)})
	h := w.Header()
	h.Set("Content-Type", mediaType(r)+"; charset=utf-8")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(ref.Status)
	_, _ = w.Write(body)
}

// writeAnswer writes an answer the gateway made itself (filter mode
// removed everything, so no upstream was called).
func writeAnswer(w http.ResponseWriter, r *http.Request, body []byte) {
	h := w.Header()
	h.Set("Content-Type", mediaType(r)+"; charset=utf-8")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(body)
}

// fromReport is an analysis refusal: every error the report found, with
// the status analysis gives its first.
func fromReport(rep *analysis.Report) *pipeline.Refusal {
	ref := &pipeline.Refusal{Status: rep.Status(), Code: rep.Errors[0].Code, Message: rep.Errors[0].Message}
	for _, e := range rep.Errors {
		ref.Issues = append(ref.Issues, issueOf(e))
	}
	return ref
}

func issueOf(e analysis.Error) pipeline.Issue {
	is := pipeline.Issue{Message: e.Message, Code: e.Code, Path: e.Path, Extensions: e.Extensions}
	for _, l := range e.Locations {
		is.Locations = append(is.Locations, pipeline.Location{Line: l.Line, Column: l.Column})
	}
	return is
}
