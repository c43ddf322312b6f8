// Package schema loads GraphQL subgraph and supergraph SDL and OpenAPI
// documents and turns them into immutable, query-ready models.
package schema

import "time"

// Subgraph names one subgraph's SDL source: a file or a running service
// asked for `{ _service { sdl } }`.
type Subgraph struct {
	Name    string        `yaml:"name"`
	File    string        `yaml:"file"`
	URL     string        `yaml:"url"`
	Timeout time.Duration `yaml:"timeout"`
}

// Config is where a GraphQL route's schema comes from: subgraphs to compose,
// or a supergraph (or plain) SDL file. Exactly one of the two is set.
type Config struct {
	Subgraphs  []Subgraph `yaml:"subgraphs"`
	Supergraph string     `yaml:"supergraph"`
}
