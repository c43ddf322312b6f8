package authz

import (
	"encoding/json"

	"github.com/vektah/gqlparser/v2/ast"

	"github.com/portcullis-gw/portcullis/analysis"
	"github.com/portcullis-gw/portcullis/policy/authn"
)

// CodeUnauthorized is the GraphQL error code of a removed or refused field
// (the docs/ pages 6).
const CodeUnauthorized = "UNAUTHORIZED_FIELD_OR_TYPE"

// unauthorizedMessage is Apollo Router's message, kept for clients that
// already match on it.
const unauthorizedMessage = "Unauthorized field or type"

// Error is one public authorization error. Path is the response path of
// the removed field (response keys, no list indices, as analysis reports
// them); for a fragment removed because of its type condition it is the
// path of the enclosing field.
type Error struct {
	Message string
	Path    []any
	Code    string
}

// MarshalJSON writes the GraphQL error shape.
func (e Error) MarshalJSON() ([]byte, error) {
	type ext struct {
		Code string `json:"code"`
	}
	return json.Marshal(struct {
		Message    string `json:"message"`
		Path       []any  `json:"path,omitempty"`
		Extensions ext    `json:"extensions"`
	}{e.Message, e.Path, ext{e.Code}})
}

// Decision is the outcome of authorizing one GraphQL operation.
type Decision struct {
	// Allowed: forward the original request. False in filter mode when
	// something was removed (forward Document), and in reject mode when
	// anything is unauthorized (answer 403 with Errors, no data). Always
	// true in dry-run mode.
	Allowed bool
	// Errors: one per removed (or, in reject and dry-run modes, refused)
	// response path.
	Errors []Error
	// Document is the rewritten operation for filter mode, printed by
	// gqlparser's formatter; "" when unchanged.
	Document string
	// Variables are the request's (coerced) variables without those only
	// the removed fields used; set with Document.
	Variables map[string]any
	// Empty: filter mode removed everything. Make no upstream call and
	// answer data: null with Errors (MergeFiltered with a nil body does).
	Empty  bool
	Mode   string
	DryRun bool
	// Cause is the first policy evaluation error, for the log (never sent
	// to the client); evaluation errors deny.
	Cause error

	// nulls are the response positions MergeFiltered sets to null.
	nulls []nullTarget
	// typenames are the paths where the rewrite added typenameAlias.
	typenames [][]any
}

// Authorize decides which fields of rep's operation identity id may see.
// rep must come from a successful analysis (rep.OK()); a failed or empty
// report is refused. rep and its document are never modified.
func (a *GraphQLAuthorizer) Authorize(rep *analysis.Report, id authn.Identity, req Request) *Decision {
	return a.AuthorizeRemoving(rep, id, req, nil)
}

// AuthorizeRemoving is Authorize with the coordinates an external decision
// point asked to remove (docs/governance.md): their fields are denied
// exactly as unauthorized ones are, so filter mode removes them and reject
// mode refuses the operation.
func (a *GraphQLAuthorizer) AuthorizeRemoving(rep *analysis.Report, id authn.Identity, req Request, remove map[string]bool) *Decision {
	d := &Decision{Mode: a.mode, DryRun: a.dryRun, Allowed: true}
	if rep == nil || rep.Document == nil || rep.Operation == nil || !rep.OK() {
		d.Allowed = false
		d.Errors = []Error{{Message: unauthorizedMessage, Code: CodeUnauthorized}}
		return d
	}
	ev := evaluator{id: id, req: req}
	var denied map[*ast.Field]bool
	for i := range rep.Fields {
		u := &rep.Fields[i]
		if remove[u.Coordinate] {
			if denied == nil {
				denied = make(map[*ast.Field]bool, 4)
			}
			denied[u.Field] = true
			continue
		}
		var r *requirement
		known := false
		if u.Field != nil && u.Field.Definition != nil {
			r, known = a.byDef[u.Field.Definition]
		}
		if !known {
			r, known = a.fields[u.Coordinate]
		}
		if known && r == nil {
			continue
		}
		if known && ev.satisfies(r, u.Field, rep.Arguments(i)) {
			continue
		}
		if denied == nil {
			denied = make(map[*ast.Field]bool, 4)
		}
		denied[u.Field] = true
	}
	var deniedTypes map[string]bool
	if len(a.types) > 0 {
		deniedTypes = a.deniedConditions(rep, &ev)
	}
	d.Cause = ev.err
	if len(denied) == 0 && len(deniedTypes) == 0 {
		return d
	}
	a.filter(rep, d, denied, deniedTypes)
	switch {
	case a.dryRun:
		d.Allowed = true
		d.Document, d.Variables, d.Empty, d.nulls, d.typenames = "", nil, false, nil, nil
	case a.mode == ModeReject:
		d.Allowed = false
		d.Document, d.Variables, d.Empty, d.nulls, d.typenames = "", nil, false, nil, nil
	default:
		d.Allowed = false
	}
	return d
}

// deniedConditions evaluates the type conditions of the document's
// fragments: a fragment on a type the identity may not see is removed.
// Every inline fragment and fragment definition counts, with no expansion;
// the analysis lists their distinct conditions once per document, and a
// report without that list (not from an Analyzer) is walked here.
func (a *GraphQLAuthorizer) deniedConditions(rep *analysis.Report, ev *evaluator) map[string]bool {
	var out map[string]bool
	check := func(cond string) {
		if cond == "" || out[cond] {
			return
		}
		r := a.types[cond]
		if r == nil || ev.satisfies(r, nil, nil) {
			return
		}
		if out == nil {
			out = map[string]bool{}
		}
		out[cond] = true
	}
	if rep.TypeConditions != nil {
		for _, c := range rep.TypeConditions {
			check(c)
		}
		return out
	}
	var walk func(set ast.SelectionSet)
	walk = func(set ast.SelectionSet) {
		for _, sel := range set {
			switch s := sel.(type) {
			case *ast.Field:
				walk(s.SelectionSet)
			case *ast.InlineFragment:
				check(s.TypeCondition)
				walk(s.SelectionSet)
			}
		}
	}
	for _, op := range rep.Document.Operations {
		walk(op.SelectionSet)
	}
	for _, f := range rep.Document.Fragments {
		check(f.TypeCondition)
		walk(f.SelectionSet)
	}
	return out
}
