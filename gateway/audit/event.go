package audit

import "time"

// Decision is what the gateway did with a request.
type Decision uint8

const (
	// Allowed: forwarded upstream.
	Allowed Decision = iota + 1
	// Denied: refused by a check (4xx).
	Denied
	// Failed: allowed by every check but not served (5xx: upstream down,
	// rate-limit store down, internal error).
	Failed
)

func (d Decision) String() string {
	switch d {
	case Allowed:
		return "allow"
	case Denied:
		return "deny"
	case Failed:
		return "error"
	}
	return "unknown"
}

// Event is one decision as the gateway saw it. Record takes it by value;
// its slices are shared with the sinks and must not change afterwards.
type Event struct {
	Time      time.Time
	RequestID string
	Route     string
	// Protocol is "graphql" or "rest" (empty before a route matched).
	Protocol  string
	Method    string
	Path      string
	UserAgent string
	ClientIP  string

	// Subject is the caller's principal; empty for an anonymous caller.
	Subject     string
	SubjectKind string
	Issuer      string
	Scopes      []string

	Decision Decision
	// Code is the error code the client got (docs/errors.md); empty when allowed.
	Code string
	// Reason names the check that refused; Detail says more (never a credential).
	Reason string
	Detail string
	Status int

	// OperationType and OperationName are GraphQL's; OperationID is the
	// REST operationId.
	OperationType string
	OperationName string
	OperationID   string

	Cost              int64
	Coordinates       []string
	UnauthorizedPaths []string

	// Count, StartTime and EndTime are set on an aggregated event.
	Count     int
	StartTime time.Time
	EndTime   time.Time
}

// aggKey identifies denials that aggregate into one event.
type aggKey struct {
	subject, route, code, reason string
}
