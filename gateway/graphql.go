package gateway

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"
	"github.com/vektah/gqlparser/v2/parser"

	"github.com/portcullis-gw/portcullis/gateway/config"
	"github.com/portcullis-gw/portcullis/upstream"
)

// graphqlRoute is one GraphQL endpoint, compiled at load.
type graphqlRoute struct {
	cfg      *config.GraphQLRoute
	path     string
	proxy    *upstream.Proxy
	csrf     bool
	maxBody  int64
	maxBatch int
}

func (g *Gateway) newGraphQLRoute(c *config.GraphQLRoute) (*graphqlRoute, error) {
	p, err := g.newProxy(c.Name, c.Upstream, protoGraphQL)
	if err != nil {
		return nil, err
	}
	return &graphqlRoute{
		cfg:      c,
		path:     c.Path,
		proxy:    p,
		csrf:     c.CSRFPrevention == nil || *c.CSRFPrevention,
		maxBody:  g.cfg.Server.MaxBodyBytes,
		maxBatch: c.Limits.MaxBatch,
	}, nil
}

// gqlParams is one GraphQL-over-HTTP request.
type gqlParams struct {
	Query         string         `json:"query"`
	OperationName string         `json:"operationName"`
	Variables     map[string]any `json:"variables"`
	Extensions    map[string]any `json:"extensions"`
}

// gqlRefusal is a front-door refusal: the status and the errors to answer.
type gqlRefusal struct {
	status int
	allow  string
	errs   []GraphQLError
}

func refuse(status int, code, msg string) *gqlRefusal {
	return &gqlRefusal{status: status, errs: []GraphQLError{gqlErr(code, msg)}}
}

func (rt *graphqlRoute) serve(g *Gateway, c echo.Context, st *reqState) {
	r := c.Request()
	w := c.Response()
	params, body, ref := rt.decode(r)
	if ref == nil {
		ref = rt.check(r, params)
	}
	if ref != nil {
		st.deny(ref.errs[0].Extensions["code"].(string))
		if ref.allow != "" {
			w.Header().Set("Allow", ref.allow)
		}
		writeGraphQLErrors(w, r, ref.status, ref.errs...)
		return
	}
	out := upstream.Outbound{ClientIP: st.clientIP, Header: http.Header{echo.HeaderXRequestID: {st.id}}}
	if r.Method == http.MethodGet {
		out.RawQuery = r.URL.RawQuery
	} else {
		out.Body = body
	}
	st.decision = "allow"
	rt.proxy.Forward(w, r, out)
}

// decode reads a GraphQL-over-HTTP request: POST with a JSON body (an object,
// or an array when batching), or GET with query parameters.
func (rt *graphqlRoute) decode(r *http.Request) ([]gqlParams, []byte, *gqlRefusal) {
	switch r.Method {
	case http.MethodGet:
		q := r.URL.Query()
		p := gqlParams{Query: q.Get("query"), OperationName: q.Get("operationName")}
		if v := q.Get("variables"); v != "" {
			if err := json.Unmarshal([]byte(v), &p.Variables); err != nil {
				return nil, nil, refuse(http.StatusBadRequest, CodeBadRequest, "variables must be a JSON object")
			}
		}
		if v := q.Get("extensions"); v != "" {
			if err := json.Unmarshal([]byte(v), &p.Extensions); err != nil {
				return nil, nil, refuse(http.StatusBadRequest, CodeBadRequest, "extensions must be a JSON object")
			}
		}
		return []gqlParams{p}, nil, nil
	case http.MethodPost:
	default:
		ref := refuse(http.StatusMethodNotAllowed, CodeMethodNotAllowed, "GraphQL requests use GET or POST")
		ref.allow = "GET, POST"
		return nil, nil, ref
	}

	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	switch {
	case ct == mediaJSON || ct == mediaGraphQLResponse:
	case isSimpleContentType(ct):
		// A browser can send these cross-site without a preflight, so a
		// request carrying one must prove it is not a forged form post
		// (Apollo's CSRF prevention).
		if rt.csrf && r.Header.Get("X-Portcullis-CSRF") == "" && r.Header.Get("Apollo-Require-Preflight") == "" {
			return nil, nil, refuse(http.StatusBadRequest, CodeCSRF,
				"this request has a content type a browser form can send; use Content-Type: application/json or set the X-Portcullis-CSRF header")
		}
		if ct != "text/plain" && ct != "" {
			return nil, nil, refuse(http.StatusUnsupportedMediaType, CodeUnsupportedMedia, "GraphQL POST bodies are application/json")
		}
	default:
		return nil, nil, refuse(http.StatusUnsupportedMediaType, CodeUnsupportedMedia, "GraphQL POST bodies are application/json")
	}

	body, err := readBody(r, rt.maxBody)
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return nil, nil, refuse(http.StatusRequestEntityTooLarge, CodeTooLarge, "request body too large")
		}
		return nil, nil, refuse(http.StatusBadRequest, CodeBadRequest, "reading request body failed")
	}
	trimmed := bytes.TrimLeft(body, " \t\r\n")
	if len(trimmed) > 0 && trimmed[0] == '[' {
		var batch []gqlParams
		if err := json.Unmarshal(body, &batch); err != nil {
			return nil, nil, refuse(http.StatusBadRequest, CodeBadRequest, "body is not a JSON array of GraphQL requests")
		}
		if len(batch) == 0 {
			return nil, nil, refuse(http.StatusBadRequest, CodeBadRequest, "empty batch")
		}
		if len(batch) > rt.maxBatch {
			return nil, nil, refuse(http.StatusBadRequest, CodeMaxBatch, "batch too large")
		}
		return batch, body, nil
	}
	var p gqlParams
	if err := json.Unmarshal(body, &p); err != nil {
		return nil, nil, refuse(http.StatusBadRequest, CodeBadRequest, "body is not a JSON GraphQL request")
	}
	return []gqlParams{p}, body, nil
}

// isSimpleContentType reports content types a browser sends without a CORS
// preflight (the Fetch standard's CORS-safelisted request types).
func isSimpleContentType(ct string) bool {
	switch ct {
	case "", "text/plain", "application/x-www-form-urlencoded", "multipart/form-data":
		return true
	}
	return false
}

// check parses each operation enough to apply the front door's own rules.
// Schema validation and analysis replace the bare parse with a full report.
func (rt *graphqlRoute) check(r *http.Request, params []gqlParams) *gqlRefusal {
	for _, p := range params {
		if strings.TrimSpace(p.Query) == "" {
			return refuse(http.StatusBadRequest, CodeBadRequest, "missing query")
		}
		doc, err := parser.ParseQuery(&ast.Source{Input: p.Query})
		if err != nil {
			ref := refuse(http.StatusBadRequest, CodeParseFailed, "syntax error")
			var ge *gqlerror.Error
			if errors.As(err, &ge) {
				ref.errs[0].Message = ge.Message
				for _, l := range ge.Locations {
					ref.errs[0].Locations = append(ref.errs[0].Locations, Location{Line: l.Line, Column: l.Column})
				}
			}
			return ref
		}
		op, ref := selectOperation(doc, p.OperationName)
		if ref != nil {
			return ref
		}
		if r.Method == http.MethodGet && op.Operation != ast.Query {
			// GET must be safe (GraphQL-over-HTTP): mutations only over POST.
			ref := refuse(http.StatusMethodNotAllowed, CodeMethodNotAllowed, string(op.Operation)+" operations must use POST")
			ref.allow = "POST"
			return ref
		}
	}
	return nil
}

// selectOperation picks the operation to run: the named one, or the only one.
func selectOperation(doc *ast.QueryDocument, name string) (*ast.OperationDefinition, *gqlRefusal) {
	if name != "" {
		if op := doc.Operations.ForName(name); op != nil {
			return op, nil
		}
		return nil, refuse(http.StatusBadRequest, CodeBadRequest, "unknown operation name")
	}
	switch len(doc.Operations) {
	case 0:
		return nil, refuse(http.StatusBadRequest, CodeBadRequest, "no operation in document")
	case 1:
		return doc.Operations[0], nil
	}
	return nil, refuse(http.StatusBadRequest, CodeBadRequest, "several operations and no operationName")
}

// readBody reads at most limit bytes; a longer body is an *http.MaxBytesError.
func readBody(r *http.Request, limit int64) ([]byte, error) {
	if r.ContentLength > limit {
		return nil, &http.MaxBytesError{Limit: limit}
	}
	n := r.ContentLength
	if n < 0 || n > 64<<10 {
		n = 4 << 10
	}
	buf := bytes.NewBuffer(make([]byte, 0, n+1))
	_, err := buf.ReadFrom(io.LimitReader(r.Body, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(buf.Len()) > limit {
		return nil, &http.MaxBytesError{Limit: limit}
	}
	return buf.Bytes(), nil
}
