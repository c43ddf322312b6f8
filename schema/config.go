// Package schema loads GraphQL subgraph and supergraph SDL and OpenAPI
// documents and turns them into immutable, query-ready models.
package schema

import (
	"net/url"
	"time"

	"github.com/portcullis-gw/portcullis/keypath"
)

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

// Validate reports every problem in c without I/O, each at its key path
// relative to c. The config loader checks that files exist.
func (c Config) Validate() keypath.Problems {
	var ps keypath.Problems
	switch {
	case len(c.Subgraphs) > 0 && c.Supergraph != "":
		ps.Addf(keypath.Key("supergraph"), "set either subgraphs or supergraph, not both")
	case len(c.Subgraphs) == 0 && c.Supergraph == "":
		ps.Addf(keypath.Key("subgraphs"), "one of subgraphs or supergraph is required")
	}
	seen := map[string]int{}
	for i, sg := range c.Subgraphs {
		p := keypath.Key("subgraphs").Index(i)
		switch {
		case sg.Name == "":
			ps.Addf(p.Key("name"), "is required")
		case !validName(sg.Name):
			ps.Addf(p.Key("name"), "%q must match [A-Za-z][A-Za-z0-9_-]*", sg.Name)
		default:
			if j, dup := seen[sg.Name]; dup {
				ps.Addf(p.Key("name"), "duplicate subgraph name %q (also subgraphs[%d])", sg.Name, j)
			} else {
				seen[sg.Name] = i
			}
		}
		switch {
		case sg.File != "" && sg.URL != "":
			ps.Addf(p.Key("url"), "set either file or url, not both")
		case sg.File == "" && sg.URL == "":
			ps.Addf(p.Key("file"), "one of file or url is required")
		case sg.URL != "":
			if u, err := url.Parse(sg.URL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
				ps.Addf(p.Key("url"), "must be an absolute http or https URL, got %q", sg.URL)
			}
		}
		if sg.Timeout < 0 {
			ps.Addf(p.Key("timeout"), "must be >= 0")
		}
		if sg.Timeout > 0 && sg.URL == "" {
			ps.Addf(p.Key("timeout"), "only applies to a subgraph fetched by url")
		}
	}
	return ps
}

// validName keeps subgraph names usable as identifiers in the composed
// supergraph (join__Graph values) and in metrics labels.
func validName(s string) bool {
	for i, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z':
		case i > 0 && (r >= '0' && r <= '9' || r == '_' || r == '-'):
		default:
			return false
		}
	}
	return s != ""
}
