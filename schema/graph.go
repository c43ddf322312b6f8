package schema

import "github.com/vektah/gqlparser/v2/ast"

// Requirements are access requirements in Apollo's shape: the outer lists are
// OR, the inner lists AND. The zero value requires nothing.
type Requirements struct {
	Authenticated bool       `json:"authenticated"`
	Scopes        [][]string `json:"scopes,omitempty"`
	Policies      [][]string `json:"policies,omitempty"`
}

// ListSize is a resolved @listSize.
type ListSize struct {
	AssumedSize               *int     `json:"assumedSize,omitempty"`
	SlicingArguments          []string `json:"slicingArguments,omitempty"`
	SizedFields               []string `json:"sizedFields,omitempty"`
	RequireOneSlicingArgument bool     `json:"requireOneSlicingArgument"`
}

// Key is one @key of an entity in one subgraph.
type Key struct {
	Subgraph   string `json:"subgraph"`
	Fields     string `json:"fields"`
	Resolvable bool   `json:"resolvable"`
}

// ArgMeta is what is known of a field argument or an input-object field.
type ArgMeta struct {
	Name string `json:"name"`
	// Cost is the @cost weight, nil when not annotated.
	Cost         *int `json:"cost,omitempty"`
	Inaccessible bool `json:"inaccessible,omitempty"`
}

// FieldMeta is everything known of one output field coordinate (Type.field).
type FieldMeta struct {
	Coordinate string `json:"coordinate"`
	// Subgraphs that can resolve the field.
	Subgraphs []string `json:"subgraphs,omitempty"`
	// Requirements are the field's own (its return type's are on TypeMeta).
	Requirements Requirements `json:"requirements"`
	// Cost is the @cost weight, nil when not annotated.
	Cost         *int                `json:"cost,omitempty"`
	ListSize     *ListSize           `json:"listSize,omitempty"`
	Arguments    map[string]*ArgMeta `json:"arguments,omitempty"`
	Shareable    bool                `json:"shareable,omitempty"`
	External     []string            `json:"external,omitempty"` // subgraphs where @external
	Requires     map[string]string   `json:"requires,omitempty"` // subgraph -> field set
	Provides     map[string]string   `json:"provides,omitempty"` // subgraph -> field set
	OverrideFrom string              `json:"overrideFrom,omitempty"`
	Inaccessible bool                `json:"inaccessible,omitempty"`
	Tags         []string            `json:"tags,omitempty"`
}

// TypeMeta is everything known of one named type.
type TypeMeta struct {
	Name         string              `json:"name"`
	Kind         ast.DefinitionKind  `json:"kind"`
	Subgraphs    []string            `json:"subgraphs,omitempty"`
	Keys         []Key               `json:"keys,omitempty"`
	Requirements Requirements        `json:"requirements"`
	Cost         *int                `json:"cost,omitempty"`
	Inaccessible bool                `json:"inaccessible,omitempty"`
	Tags         []string            `json:"tags,omitempty"`
	InputFields  map[string]*ArgMeta `json:"inputFields,omitempty"`
}
