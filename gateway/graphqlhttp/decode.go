package graphqlhttp

import (
	"mime"
	"net/http"
	"net/url"
	"strings"

	"github.com/portcullis-gw/portcullis/analysis"
	"github.com/portcullis-gw/portcullis/analysis/gqlrequest"
	"github.com/portcullis-gw/portcullis/gateway/errcode"
	"github.com/portcullis-gw/portcullis/gateway/pipeline"
	"github.com/portcullis-gw/portcullis/policy/trusted"
)

// The GraphQL request is read by one strict reader (analysis/gqlrequest)
// and what goes upstream is written by the gateway from the values it
// checked, never copied from the client's bytes: a back end then cannot
// read another request than the one analysed (docs/security.md, "GraphQL
// request reading" and "What the upstream receives").

// readOptions are the route's reading rules, fixed at load.
func readOptions(c string, persistedOn bool) gqlrequest.Options {
	return gqlrequest.Options{DropUnknown: c == "drop", DocumentID: persistedOn}
}

// fromChecked is the analysis view of one decoded request.
func fromChecked(r *gqlrequest.Request) analysis.Request {
	return analysis.Request{Query: r.Query, OperationName: r.OperationName, Variables: r.Variables.Map(), Extensions: r.Extensions.Map()}
}

// decode reads a GraphQL-over-HTTP request: POST with a JSON body (an object,
// or an array when batching), or GET with query parameters.
func (rt *Route) decode(r *http.Request, maxBatch int) (params []analysis.Request, reqs []gqlrequest.Request, batch bool, ref *pipeline.Refusal) {
	switch r.Method {
	case http.MethodGet:
		params, reqs, ref := rt.parseGET(r)
		return params, reqs, false, ref
	case http.MethodPost:
	default:
		ref := pipeline.Refuse(errcode.MethodNotAllowed, "GraphQL requests use GET or POST").WithHeader("Allow", "GET, POST")
		return nil, nil, false, ref
	}
	if ref := rt.checkContentType(r); ref != nil {
		return nil, nil, false, ref
	}
	body, ref := pipeline.ReadBody(r, rt.maxBody)
	if ref != nil {
		return nil, nil, false, ref
	}
	return rt.parseBody(body, maxBatch)
}

// checkContentType admits JSON bodies, and the content types a browser
// form can send only with proof that the request is no forged form post.
func (rt *Route) checkContentType(r *http.Request) *pipeline.Refusal {
	ct := r.Header.Get("Content-Type")
	if ct != MediaJSON {
		// The exact, parameterless JSON type needs no parsing (nor the
		// parameter map ParseMediaType allocates).
		ct, _, _ = mime.ParseMediaType(ct)
	}
	switch {
	case ct == MediaJSON || ct == MediaGraphQLResponse:
	case isSimpleContentType(ct):
		// A browser can send these cross-site without a preflight, so a
		// request carrying one must prove it is not a forged form post
		// (Apollo's CSRF prevention).
		if rt.csrf && r.Header.Get("X-Portcullis-CSRF") == "" && r.Header.Get("Apollo-Require-Preflight") == "" {
			return pipeline.Refuse(errcode.CSRF,
				"this request has a content type a browser form can send; use Content-Type: application/json or set the X-Portcullis-CSRF header")
		}
		if ct != "text/plain" && ct != "" {
			return pipeline.Refuse(errcode.UnsupportedMedia, "GraphQL POST bodies are application/json")
		}
	default:
		return pipeline.Refuse(errcode.UnsupportedMedia, "GraphQL POST bodies are application/json")
	}
	return nil
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

// parseBody reads a POST body with the strict reader.
func (rt *Route) parseBody(body []byte, maxBatch int) ([]analysis.Request, []gqlrequest.Request, bool, *pipeline.Refusal) {
	reqs, batch, err := gqlrequest.Parse(body, rt.readOpts)
	if err != nil {
		return nil, nil, false, pipeline.Refuse(errcode.BadRequest, "body is not a valid GraphQL request: "+err.Error())
	}
	if batch {
		if len(reqs) == 0 {
			return nil, nil, false, pipeline.Refuse(errcode.BadRequest, "empty batch")
		}
		if e := analysis.CheckBatch(len(reqs), analysis.Limits{MaxBatch: maxBatch}); e != nil {
			return nil, nil, false, &pipeline.Refusal{Status: http.StatusBadRequest, Code: e.Code, Message: e.Message, Issues: []pipeline.Issue{issueOf(*e)}}
		}
	}
	params := make([]analysis.Request, len(reqs))
	for i := range reqs {
		params[i] = fromChecked(&reqs[i])
	}
	return params, reqs, batch, nil
}

// getParams are the query parameters a GraphQL GET is read from; each may
// appear once, since readers disagree on which of two copies counts (Go's
// url.Values.Get takes the first, others the last).
var getParams = []string{gqlrequest.MemberQuery, gqlrequest.MemberOperationName, gqlrequest.MemberVariables, gqlrequest.MemberExtensions, gqlrequest.MemberDocumentID}

// parseGET reads a GET request's query parameters; variables and extensions
// are JSON read by the same strict reader as a POST body.
func (rt *Route) parseGET(r *http.Request) ([]analysis.Request, []gqlrequest.Request, *pipeline.Refusal) {
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		// A pair Go drops (e.g. one with ';') is one another reader keeps.
		return nil, nil, pipeline.Refuse(errcode.BadRequest, "malformed query string")
	}
	for _, k := range getParams {
		if len(q[k]) > 1 {
			return nil, nil, pipeline.Refuse(errcode.BadRequest, "query parameter "+k+" appears more than once")
		}
	}
	var req gqlrequest.Request
	if vs, ok := q[gqlrequest.MemberQuery]; ok {
		req.Query, req.HasQuery = vs[0], true
	}
	req.OperationName = q.Get(gqlrequest.MemberOperationName)
	if vs, ok := q[gqlrequest.MemberDocumentID]; ok && rt.readOpts.DocumentID {
		req.DocumentID, req.HasDocumentID = vs[0], true
	}
	for _, m := range []struct {
		name string
		dst  *gqlrequest.Value
	}{{gqlrequest.MemberVariables, &req.Variables}, {gqlrequest.MemberExtensions, &req.Extensions}} {
		raw := q.Get(m.name)
		if raw == "" {
			continue
		}
		v, err := gqlrequest.ParseValue(raw, rt.readOpts)
		if err != nil {
			return nil, nil, pipeline.Refuse(errcode.BadRequest, m.name+" is not valid JSON: "+err.Error())
		}
		switch v.Kind() {
		case gqlrequest.Object:
			*m.dst = v
		case gqlrequest.Null:
		default:
			return nil, nil, pipeline.Refuse(errcode.BadRequest, m.name+" must be a JSON object")
		}
	}
	return []analysis.Request{fromChecked(&req)}, []gqlrequest.Request{req}, nil
}

// resolveEntry resolves a persisted operation sent by documentId (the
// GraphQL-over-HTTP persisted documents proposal) or by
// extensions.persistedQuery (Apollo's APQ).
// l is the list of the request's client (trusted.Lists.For).
func (ps *persisted) resolveEntry(l *trusted.List, p *analysis.Request, req *gqlrequest.Request) (*pipeline.Refusal, entryCheck) {
	if ps == nil || !req.HasDocumentID {
		return ps.resolveIn(l, p)
	}
	if _, ok := p.Extensions["persistedQuery"]; ok {
		return pipeline.Refuse(errcode.BadRequest, "send documentId or extensions.persistedQuery, not both"), entryKnown
	}
	id := req.DocumentID
	if id == "" {
		return pipeline.Refuse(errcode.BadRequest, "documentId must not be empty"), entryKnown
	}
	if ps.apq != nil {
		// APQ documents are named by their hash.
		return ps.resolveAPQ(p, strings.TrimPrefix(id, "sha256:"), true), entryKnown
	}
	// A documentId is the manifest entry's id, or "sha256:" and the hex
	// digest of its body (List.ByID reads both).
	return ps.resolveListed(l, p, id, true)
}

// outboundBody is what goes upstream: the canonical form of the checked
// requests. Persisted-operation references are replaced by the full query
// (the upstream need not know the hash, and an Apollo Server without APQ
// refuses extensions.persistedQuery); filter mode's rewritten entries
// carry the filtered document and only the variables it still uses, as
// the client sent them (number literals intact); emptied batch entries are
// left out.
func (rt *Route) outboundBody(params []analysis.Request, reqs []gqlrequest.Request, filter *filterPlan, batch bool) []byte {
	out := make([]gqlrequest.Request, 0, len(reqs))
	for i := range reqs {
		o := gqlrequest.Request{
			Query: params[i].Query, HasQuery: true, OperationName: reqs[i].OperationName,
			Variables: reqs[i].Variables, Extensions: reqs[i].Extensions,
		}
		if rt.persisted != nil {
			o.Extensions = o.Extensions.Without("persistedQuery")
			if len(o.Extensions.Members()) == 0 {
				o.Extensions = gqlrequest.Value{}
			}
		}
		if filter != nil {
			if d := filter.decisions[i]; d != nil {
				if d.Empty {
					continue
				}
				o.Query = d.Document
				o.Variables = o.Variables.Only(func(name string) bool { _, kept := d.Variables[name]; return kept })
			}
		}
		out = append(out, o)
	}
	if batch || len(out) != 1 {
		// (A single request is never emptied here: serve answers those
		// without an upstream call.)
		return gqlrequest.AppendBatch(make([]byte, 0, 256*len(out)), out)
	}
	return gqlrequest.AppendRequest(make([]byte, 0, len(out[0].Query)+256), &out[0])
}
