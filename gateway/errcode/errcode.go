// Package errcode is the one registry of the error codes clients receive:
// each code with its HTTP status, the protocols that answer with it and
// what it means. docs/errors.md is checked against it by a test, so the
// page and the code cannot drift apart.
//
// A code made by a lower floor (analysis, analysis/rest, policy/authz,
// upstream) is registered under that package's own constant, so every code
// string is spelled exactly once in the repository.
package errcode

import (
	"net/http"
	"strings"

	"github.com/portcullis-gw/portcullis/analysis"
	"github.com/portcullis-gw/portcullis/analysis/rest"
	"github.com/portcullis-gw/portcullis/policy/authz"
	"github.com/portcullis-gw/portcullis/upstream"
)

// Codes the gateway itself produces, and the shared ones it produces as
// well as a lower floor does (one constant each).
const (
	BadRequest         = "BAD_REQUEST"
	CSRF               = "CSRF_PREVENTED"
	TooLarge           = "REQUEST_TOO_LARGE"
	Internal           = "INTERNAL_SERVER_ERROR"
	NotReady           = "GATEWAY_NOT_READY"
	RateLimited        = "RATE_LIMITED"
	RateLimitDown      = "RATE_LIMIT_UNAVAILABLE"
	TooManyConcurrent  = "TOO_MANY_CONCURRENT_REQUESTS"
	PersistedNotFound  = "PERSISTED_QUERY_NOT_FOUND"
	PersistedNotInList = "PERSISTED_QUERY_NOT_IN_LIST"
	// Governance (docs/governance.md).
	CoordinateRateLimited = "COORDINATE_RATE_LIMITED"
	ExternalDenied        = "EXTERNAL_AUTHORIZATION_DENIED"
	ExternalUnavailable   = "EXTERNAL_AUTHORIZATION_UNAVAILABLE"

	NotFound         = rest.CodeNotFound
	MethodNotAllowed = rest.CodeMethodNotAllowed
	UnsafePath       = rest.CodeUnsafePath
	UnsupportedMedia = rest.CodeUnsupportedMedia
	Unauthenticated  = rest.CodeUnauthenticated
	Forbidden        = rest.CodeForbidden
)

// Protocols says which front doors answer with a code.
type Protocols uint8

const (
	GraphQL Protocols = 1 << iota
	REST
	Both = GraphQL | REST
)

// Entry is one registered code.
type Entry struct {
	Code        string
	Status      int
	Protocols   Protocols
	Description string
}

// Registry lists every code a client can receive, in the order of
// docs/errors.md. Add a code here, then a row to that page: the test in
// this package fails until both agree.
var Registry = []Entry{
	{NotFound, http.StatusNotFound, Both, "path matches no route, or no documented operation"},
	{UnsafePath, http.StatusBadRequest, Both, "path whose cleaning would change it"},
	{MethodNotAllowed, http.StatusMethodNotAllowed, Both, "method the route or operation does not serve"},
	{CSRF, http.StatusBadRequest, GraphQL, "form-like POST without a CSRF-prevention header"},
	{UnsupportedMedia, http.StatusUnsupportedMediaType, Both, "body media type or charset not served"},
	{BadRequest, http.StatusBadRequest, GraphQL, "body or query string is not one strict GraphQL request"},
	{analysis.CodeParseFailed, http.StatusBadRequest, GraphQL, "unparsable document"},
	{analysis.CodeValidationFailed, http.StatusBadRequest, GraphQL, "document invalid against the schema"},
	{analysis.CodeMaxDepth, http.StatusBadRequest, GraphQL, "depth over max_depth"},
	{analysis.CodeMaxHeight, http.StatusBadRequest, GraphQL, "height over max_height"},
	{analysis.CodeMaxAliases, http.StatusBadRequest, GraphQL, "aliases over max_aliases"},
	{analysis.CodeMaxRootFields, http.StatusBadRequest, GraphQL, "root fields over max_root_fields"},
	{analysis.CodeMaxTokens, http.StatusBadRequest, GraphQL, "tokens over max_tokens"},
	{analysis.CodeMaxDirectives, http.StatusBadRequest, GraphQL, "directives over max_directives"},
	{analysis.CodeMaxBatch, http.StatusBadRequest, GraphQL, "batch over max_batch"},
	{analysis.CodeMaxSelections, http.StatusBadRequest, GraphQL, "selections over max_selections"},
	{analysis.CodeCostTooExpensive, http.StatusBadRequest, Both, "estimated cost over max_cost or the tier's burst"},
	{analysis.CodeIntrospectionDisabled, http.StatusForbidden, GraphQL, "introspection not allowed for this caller"},
	{PersistedNotFound, http.StatusBadRequest, GraphQL, "APQ hash not registered yet"},
	{PersistedNotInList, http.StatusForbidden, GraphQL, "operation not in the route's safelist"},
	{Unauthenticated, http.StatusUnauthorized, Both, "missing or invalid credentials"},
	{authz.CodeUnauthorized, http.StatusForbidden, GraphQL, "field or type not authorized"},
	{Forbidden, http.StatusForbidden, REST, "operation refused by its security requirement or policy"},
	{ExternalDenied, http.StatusForbidden, Both, "refused by the external decision point (authorization.external), with its reason"},
	{ExternalUnavailable, http.StatusForbidden, Both, "external decision point failed, timed out or gave no decision, with on_error: deny"},
	{RateLimited, http.StatusTooManyRequests, Both, "rate limit or failed-credential budget spent"},
	{CoordinateRateLimited, http.StatusTooManyRequests, Both, "a rate_limit.coordinates budget of one field coordinate or REST operation spent"},
	{TooManyConcurrent, http.StatusTooManyRequests, Both, "more requests in flight than max_in_flight"},
	{RateLimitDown, http.StatusServiceUnavailable, Both, "rate-limit store down with on_store_error: fail_closed"},
	{rest.CodeValidation, http.StatusBadRequest, REST, "parameters or body break the OpenAPI document"},
	{NotReady, http.StatusServiceUnavailable, GraphQL, "route's schema not loaded yet"},
	{TooLarge, http.StatusRequestEntityTooLarge, Both, "body over server.max_body_bytes"},
	{Internal, http.StatusInternalServerError, Both, "a panic while serving"},
	{rest.CodeInvalidResponse, http.StatusBadGateway, REST, "upstream answer breaks the OpenAPI document (validate_responses: enforce)"},
	{upstream.KindError.Code(), upstream.KindError.Status(), Both, "upstream failed"},
	{upstream.KindUnavailable.Code(), upstream.KindUnavailable.Status(), Both, "upstream unreachable"},
	{upstream.KindTimeout.Code(), upstream.KindTimeout.Status(), Both, "upstream too slow"},
}

var byCode = func() map[string]*Entry {
	m := make(map[string]*Entry, len(Registry))
	for i := range Registry {
		m[Registry[i].Code] = &Registry[i]
	}
	return m
}()

// Lookup returns the code's entry.
func Lookup(code string) (Entry, bool) {
	e, ok := byCode[code]
	if !ok {
		return Entry{}, false
	}
	return *e, true
}

// Status is the code's HTTP status; an unregistered code is a 500, which
// the registry test keeps from ever happening.
func Status(code string) int {
	if e, ok := byCode[code]; ok {
		return e.Status
	}
	return http.StatusInternalServerError
}

// TypeBase prefixes problem type URIs (RFC 9457 section 3.1.1); each code
// has its own.
const TypeBase = "https://portcullis.dev/problems/"

// ProblemType is the problem type URI of a code.
func ProblemType(code string) string {
	return TypeBase + strings.ToLower(strings.ReplaceAll(code, "_", "-"))
}
