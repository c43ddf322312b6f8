package analysis

import (
	"cmp"
	"encoding/json"
	"net/http"
	"slices"

	"github.com/vektah/gqlparser/v2/ast"
)

// Error codes of the docs/ pages that analysis produces (MAX_BATCH_LIMIT
// is raised by CheckBatch, for the front door that splits batches).
const (
	CodeParseFailed           = "GRAPHQL_PARSE_FAILED"
	CodeValidationFailed      = "GRAPHQL_VALIDATION_FAILED"
	CodeMaxDepth              = "MAX_DEPTH_LIMIT"
	CodeMaxHeight             = "MAX_HEIGHT_LIMIT"
	CodeMaxAliases            = "MAX_ALIASES_LIMIT"
	CodeMaxRootFields         = "MAX_ROOT_FIELDS_LIMIT"
	CodeMaxTokens             = "MAX_TOKENS_LIMIT"
	CodeMaxDirectives         = "MAX_DIRECTIVES_LIMIT"
	CodeMaxBatch              = "MAX_BATCH_LIMIT"
	CodeMaxSelections         = "MAX_SELECTIONS_LIMIT"
	CodeCostTooExpensive      = "COST_ESTIMATED_TOO_EXPENSIVE"
	CodeIntrospectionDisabled = "INTROSPECTION_DISABLED"
)

// Request is one GraphQL-over-HTTP request body, already decoded.
type Request struct {
	Query         string         `json:"query"`
	OperationName string         `json:"operationName,omitempty"`
	Variables     map[string]any `json:"variables,omitempty"`
	Extensions    map[string]any `json:"extensions,omitempty"`
}

// Access is what the caller's identity may see of the schema.
type Access struct {
	// Introspection: the identity may introspect, and so gets full
	// validation messages.
	Introspection bool
}

// Location is a line and column in the query document, 1-based.
type Location struct {
	Line   int `json:"line"`
	Column int `json:"column"`
}

// Error is one public GraphQL error: safe to send to the client as is.
type Error struct {
	Message    string         `json:"message"`
	Code       string         `json:"code"`
	Path       []any          `json:"path,omitempty"`
	Locations  []Location     `json:"locations,omitempty"`
	Extensions map[string]any `json:"extensions,omitempty"`
}

func (e Error) Error() string { return e.Code + ": " + e.Message }

// FieldUse is one field of the selected operation, at one response path,
// with its argument values (variables and defaults applied). A fragment
// spread several times yields one FieldUse per spread.
type FieldUse struct {
	// Coordinate is Type.field, Type being the type the field was selected on.
	Coordinate string `json:"coordinate"`
	// ParentType and ReturnType (the named type) name the field's types.
	ParentType string `json:"parentType"`
	ReturnType string `json:"returnType"`
	// Path is the response path (response keys; lists add no index).
	Path []any `json:"path"`
	// Arguments are the field's argument values, defaults applied, when
	// none of them names a variable. For a field whose arguments name
	// variables it is nil here: Fields is shared by every request for the
	// operation, and Report.Arguments gives this request's values of every
	// field.
	Arguments map[string]any `json:"arguments,omitempty"`
	// Field is the node in Report.Document; it is shared, never mutate it.
	Field *ast.Field `json:"-"`
}

// Report is the immutable result of analysing one operation. Reports, and
// the documents and slices they point to, may be shared between requests
// through the cache: never modify them.
type Report struct {
	OperationName string  `json:"operationName"`
	OperationType string  `json:"operationType"`
	Depth         int     `json:"depth"`
	Height        int     `json:"height"`
	Aliases       int     `json:"aliases"`
	RootFields    int     `json:"rootFields"`
	Directives    int     `json:"directives"`
	Tokens        int     `json:"tokens"`
	Cost          float64 `json:"cost"`
	// Fields are the fields touched, in document order, introspection and
	// __typename excluded.
	Fields []FieldUse `json:"fields"`
	// Introspection: the operation selects __schema or __type.
	Introspection bool    `json:"introspection"`
	Errors        []Error `json:"errors"`
	// Document and Operation are for later stages (authz filtering). Shared
	// through the cache: copy before rewriting.
	Document  *ast.QueryDocument       `json:"-"`
	Operation *ast.OperationDefinition `json:"-"`
	// TypeConditions are the distinct type conditions of Document's inline
	// fragments and fragment definitions (all operations), found once per
	// document; nil when there is no Document. Shared: never modify.
	TypeConditions []string `json:"-"`
	// Variables are the coerced variable values.
	Variables map[string]any `json:"-"`

	// args are this request's values of the fields whose arguments name
	// variables, by ascending field index. Keeping them beside the shared
	// Fields, instead of in a per-request copy of it, makes a cache hit
	// cost what the variables touch, not the size of the operation.
	args []fieldArgs
}

// fieldArgs is one field's argument values for one request.
type fieldArgs struct {
	index  int
	values map[string]any
}

// Arguments is Fields[i]'s argument values for this request: variables and
// defaults applied, nil when the field has no arguments.
func (r *Report) Arguments(i int) map[string]any {
	if k, ok := slices.BinarySearchFunc(r.args, i, func(a fieldArgs, i int) int { return cmp.Compare(a.index, i) }); ok {
		return r.args[k].values
	}
	return r.Fields[i].Arguments
}

// MarshalJSON writes the report with every field's arguments as this
// request gives them.
func (r *Report) MarshalJSON() ([]byte, error) {
	type plain Report
	c := plain(*r)
	if len(r.args) > 0 {
		c.Fields = slices.Clone(r.Fields)
		for _, a := range r.args {
			c.Fields[a.index].Arguments = a.values
		}
	}
	return json.Marshal(c)
}

// OK reports whether the operation passed every check.
func (r *Report) OK() bool { return r != nil && len(r.Errors) == 0 }

// Status is the HTTP status of the docs/ pages for the report's first
// error, 200 when there is none.
func (r *Report) Status() int {
	if r.OK() {
		return http.StatusOK
	}
	return StatusOf(r.Errors[0].Code)
}

// StatusOf maps an analysis error code to its HTTP status.
func StatusOf(code string) int {
	switch code {
	case CodeIntrospectionDisabled:
		return http.StatusForbidden
	default:
		return http.StatusBadRequest
	}
}
