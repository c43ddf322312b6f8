package external

// Input is what the decision point sees of one request, sent as OPA's
// {"input": ...}. Member names are snake_case, as Rego policies spell them.
type Input struct {
	Identity Identity `json:"identity"`
	Route    string   `json:"route"`
	// Protocol is "graphql" or "rest".
	Protocol string `json:"protocol"`
	// GraphQL: the selected operation and every field it touches.
	Operation   *Operation   `json:"operation,omitempty"`
	Coordinates []Coordinate `json:"coordinates,omitempty"`
	// REST: the matched OpenAPI operation.
	REST     *RESTOperation    `json:"rest,omitempty"`
	ClientIP string            `json:"client_ip"`
	Headers  map[string]string `json:"headers,omitempty"`
}

// Identity is the caller as the gateway established it.
type Identity struct {
	Anonymous bool   `json:"anonymous"`
	Kind      string `json:"kind"`
	Issuer    string `json:"issuer,omitempty"`
	Subject   string `json:"subject,omitempty"`
	// Principal is the subject qualified by kind and issuer: the one
	// identifier two credential kinds can never share.
	Principal string         `json:"principal,omitempty"`
	Scopes    []string       `json:"scopes"`
	Roles     []string       `json:"roles"`
	Tier      string         `json:"tier,omitempty"`
	Claims    map[string]any `json:"claims,omitempty"`
}

// Operation is a GraphQL operation's type and name.
type Operation struct {
	Type string `json:"type"`
	Name string `json:"name,omitempty"`
}

// Coordinate is one field use: its schema coordinate, response path and
// argument values (variables applied).
type Coordinate struct {
	Coordinate string         `json:"coordinate"`
	Path       []any          `json:"path"`
	Arguments  map[string]any `json:"arguments,omitempty"`
}

// RESTOperation is a REST request as matched against its OpenAPI document.
type RESTOperation struct {
	OperationID string              `json:"operation_id"`
	Method      string              `json:"method"`
	Path        string              `json:"path"`
	PathParams  map[string]string   `json:"path_params,omitempty"`
	Query       map[string][]string `json:"query,omitempty"`
	Body        any                 `json:"body,omitempty"`
}
