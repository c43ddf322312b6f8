package gateway

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/portcullis-gw/portcullis/analysis"
	"github.com/portcullis-gw/portcullis/analysis/gqlrequest"
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
func fromChecked(r *gqlrequest.Request) gqlParams {
	return gqlParams{Query: r.Query, OperationName: r.OperationName, Variables: r.Variables.Map(), Extensions: r.Extensions.Map()}
}

// parseBody reads a POST body with the strict reader.
func (rt *graphqlRoute) parseBody(body []byte, maxBatch int) ([]gqlParams, []gqlrequest.Request, bool, *gqlRefusal) {
	reqs, batch, err := gqlrequest.Parse(body, rt.readOpts)
	if err != nil {
		return nil, nil, false, refuse(http.StatusBadRequest, CodeBadRequest, "body is not a valid GraphQL request: "+err.Error())
	}
	if batch {
		if len(reqs) == 0 {
			return nil, nil, false, refuse(http.StatusBadRequest, CodeBadRequest, "empty batch")
		}
		if e := analysis.CheckBatch(len(reqs), analysis.Limits{MaxBatch: maxBatch}); e != nil {
			return nil, nil, false, &gqlRefusal{status: http.StatusBadRequest, errs: []GraphQLError{fromAnalysis(*e)}}
		}
	}
	params := make([]gqlParams, len(reqs))
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
func (rt *graphqlRoute) parseGET(r *http.Request) ([]gqlParams, []gqlrequest.Request, *gqlRefusal) {
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		// A pair Go drops (e.g. one with ';') is one another reader keeps.
		return nil, nil, refuse(http.StatusBadRequest, CodeBadRequest, "malformed query string")
	}
	for _, k := range getParams {
		if len(q[k]) > 1 {
			return nil, nil, refuse(http.StatusBadRequest, CodeBadRequest, "query parameter "+k+" appears more than once")
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
			return nil, nil, refuse(http.StatusBadRequest, CodeBadRequest, m.name+" is not valid JSON: "+err.Error())
		}
		switch v.Kind() {
		case gqlrequest.Object:
			*m.dst = v
		case gqlrequest.Null:
		default:
			return nil, nil, refuse(http.StatusBadRequest, CodeBadRequest, m.name+" must be a JSON object")
		}
	}
	return []gqlParams{fromChecked(&req)}, []gqlrequest.Request{req}, nil
}

// resolveEntry resolves a persisted operation sent by documentId (the
// GraphQL-over-HTTP persisted documents proposal) or by
// extensions.persistedQuery (Apollo's APQ).
func (ps *persisted) resolveEntry(p *gqlParams, req *gqlrequest.Request) *gqlRefusal {
	if ps == nil || !req.HasDocumentID {
		return ps.resolve(p)
	}
	if _, ok := p.Extensions["persistedQuery"]; ok {
		return refuse(http.StatusBadRequest, CodeBadRequest, "send documentId or extensions.persistedQuery, not both")
	}
	id := req.DocumentID
	if id == "" {
		return refuse(http.StatusBadRequest, CodeBadRequest, "documentId must not be empty")
	}
	if ps.apq != nil {
		// APQ documents are named by their hash.
		return ps.resolveAPQ(p, strings.TrimPrefix(id, "sha256:"), true)
	}
	if _, ok := ps.byID[id]; !ok {
		id = strings.TrimPrefix(id, "sha256:")
	}
	return ps.resolveSafelist(p, id, true)
}

// outboundBody is what goes upstream: the canonical form of the checked
// requests. Persisted-operation references are replaced by the full query
// (the upstream need not know the hash, and an Apollo Server without APQ
// refuses extensions.persistedQuery); filter mode's rewritten entries
// carry the filtered document and only the variables it still uses, as
// the client sent them (number literals intact); emptied batch entries are
// left out.
func (rt *graphqlRoute) outboundBody(params []gqlParams, reqs []gqlrequest.Request, plan *gqlPlan, batch bool) []byte {
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
		if plan != nil {
			if d := plan.decisions[i]; d != nil {
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

// answerMediaType gives an upstream answer the GraphQL-over-HTTP media type
// when the client asked for it (GraphQL over HTTP, "application/graphql-
// response+json"): the client then reads the status code as the spec
// defines, whatever the upstream labelled its answer. r is the outbound
// request, which carries the client's Accept.
func answerMediaType(resp *http.Response) {
	if resp.Request != nil && graphqlMediaType(resp.Request) == mediaGraphQLResponse {
		resp.Header.Set("Content-Type", mediaGraphQLResponse+"; charset=utf-8")
	}
}
