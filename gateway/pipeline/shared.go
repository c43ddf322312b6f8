package pipeline

import (
	"bytes"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"

	"github.com/portcullis-gw/portcullis/gateway/errcode"
	"github.com/portcullis-gw/portcullis/gateway/telemetry"
	"github.com/portcullis-gw/portcullis/policy/authn"
	"github.com/portcullis-gw/portcullis/policy/authz"
	"github.com/portcullis-gw/portcullis/policy/ratelimit"
)

// Shared is what every front door's stages use from one route table: the
// authenticator, the limiter, the identity headers for the upstream and
// the operational log. It is built with the table and swapped with it.
type Shared struct {
	Auth    *authn.Authenticator
	Limiter *ratelimit.Limiter
	Forward ForwardHeaders
	Log     *slog.Logger
	// Counters are the gateway's, shared by every route table.
	Counters Counters
	// Tracer starts the stage and upstream spans; nil is tracing off.
	Tracer *telemetry.Tracer
}

// Settle is what every front door does with a stage's refusal: record it,
// and unless the stage paid already, audit it and charge what it pays. It
// returns the answer to render: the refusal, or the 429/503 that replaced
// it when the budget is spent or cannot be kept.
func (s *Shared) Settle(r *http.Request, ex *Exchange, subj ratelimit.Subject, ref *Refusal, audit string) *Refusal {
	ref.ApplyHeader(ex.Header)
	ex.Refused(ref)
	if ref.Charge == PayNothing {
		return ref
	}
	s.Audit(ex, audit, "code", ref.Code)
	rep := s.Pay(r.Context(), ex, subj, ref.Charge)
	if rep == nil {
		return ref
	}
	if rep.Code == errcode.RateLimitDown {
		ex.Recode(rep.Code)
	}
	return rep
}

// Audit records why a request is refused; the audit event itself is
// built once the request is decided, with everything the stages learned,
// and goes to the configured sinks (docs/monitoring.md).
func (s *Shared) Audit(ex *Exchange, reason string, kv ...any) {
	ex.noteAudit(reason, kv)
}

// ReadBody reads at most limit bytes of the request body; a longer body is
// REQUEST_TOO_LARGE and an unreadable one BAD_REQUEST.
func ReadBody(r *http.Request, limit int64) ([]byte, *Refusal) {
	body, err := readBody(r, limit)
	if err == nil {
		return body, nil
	}
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		return nil, Refuse(errcode.TooLarge, "request body too large")
	}
	return nil, Refuse(errcode.BadRequest, "reading request body failed")
}

func readBody(r *http.Request, limit int64) ([]byte, error) {
	if r.Body == nil || r.Body == http.NoBody {
		return nil, nil
	}
	if r.ContentLength > limit {
		return nil, &http.MaxBytesError{Limit: limit}
	}
	if r.ContentLength >= 0 {
		// net/http holds the body to its Content-Length, so exactly that
		// many bytes arrive: read them into a buffer of that size.
		buf := make([]byte, r.ContentLength)
		if _, err := io.ReadFull(r.Body, buf); err != nil {
			return nil, err
		}
		return buf, nil
	}
	buf := bytes.NewBuffer(make([]byte, 0, 4<<10))
	if _, err := buf.ReadFrom(io.LimitReader(r.Body, limit+1)); err != nil {
		return nil, err
	}
	if int64(buf.Len()) > limit {
		return nil, &http.MaxBytesError{Limit: limit}
	}
	return buf.Bytes(), nil
}

// credentialHeaders never reach a policy: a policy that could read a token
// or key could leak or compare it in ways the identity layer does not.
var credentialHeaders = map[string]bool{"authorization": true, "cookie": true, "x-api-key": true, "proxy-authorization": true}

// PolicyRequest is what CEL policies see of the HTTP request (method,
// path, client IP and, when a policy reads them, the headers; see
// docs/authorization.md). Header names are lower case; a repeated header
// gives its first value.
func PolicyRequest(r *http.Request, clientIP string, withHeaders bool) authz.Request {
	req := authz.Request{Method: r.Method, Path: r.URL.Path, ClientIP: clientIP}
	if withHeaders {
		req.Headers = make(map[string]string, len(r.Header))
		for k, vs := range r.Header {
			lk := strings.ToLower(k)
			if len(vs) == 0 || credentialHeaders[lk] {
				continue
			}
			req.Headers[lk] = vs[0]
		}
	}
	return req
}

// PoliciesReadHeaders reports whether any CEL policy reads request.headers
// (from the checked expressions), so the header map is built only for
// configs that use it.
func PoliciesReadHeaders(p authz.Policies) bool {
	return p.Inputs().Has(authz.InputRequestHeaders)
}
