package rest

import (
	"net/http"
	"strconv"

	"github.com/portcullis-gw/portcullis/schema/openapi"
)

// ValidateResponse checks an upstream response against op: an undocumented
// status, an undocumented content type, a body or a required header that
// breaks the document are each a violation (the docs/ pages: undocumented
// fields must not leak). The Failure is a 502 the gateway may send instead
// (enforce) or only record (report).
func (r *Route) ValidateResponse(op *Operation, status int, header http.Header, body []byte) *Failure {
	if op == nil || op.Spec == nil {
		return notFound()
	}
	var errs []FieldError
	add := func(ptr, detail string) { errs = append(errs, FieldError{Pointer: ptr, Detail: detail}) }
	resp := lookupResponse(op.Spec.Responses, status)
	if resp == nil {
		add("/status", "status "+strconv.Itoa(status)+" is not documented")
		return responseFailure(errs)
	}
	for name, h := range resp.Headers {
		vs := header.Values(name)
		if len(vs) == 0 {
			if h.Required {
				add(pointer("/header", name), "required header is missing")
			}
			continue
		}
		if h.Schema != nil {
			p := &openapi.Parameter{Name: name, In: "header", Style: "simple", Schema: h.Schema}
			r.checkText(p, []string{vs[0]}, false, pointer("/header", name), add)
		}
	}
	switch {
	case len(body) == 0:
	case len(resp.Content) == 0:
		add("/body", "this response documents no body")
	default:
		media, mt, ok := pickMedia(resp.Content, header.Get("Content-Type"))
		if !ok {
			add("/header/Content-Type", "content type "+strconv.Quote(mt)+" is not documented for this response")
			break
		}
		if media.Schema == nil {
			break
		}
		if isJSON(mt) {
			v, err := decodeJSON(body, r.maxDepth, true)
			if err != nil {
				add("/body", err.Error())
				break
			}
			validateValue(media.Schema, v, "/body", add)
		}
	}
	if len(errs) > 0 {
		return responseFailure(errs)
	}
	return nil
}

func lookupResponse(rs map[string]*openapi.Response, status int) *openapi.Response {
	code := strconv.Itoa(status)
	if r, ok := rs[code]; ok {
		return r
	}
	if len(code) == 3 {
		if r, ok := rs[code[:1]+"XX"]; ok {
			return r
		}
	}
	return rs["DEFAULT"]
}

func responseFailure(errs []FieldError) *Failure {
	return &Failure{Status: http.StatusBadGateway, Code: CodeInvalidResponse, Title: problemTitleBadGatewy,
		Detail: "the upstream response does not match the API description", Errors: errs}
}
