// Package schema loads GraphQL subgraph and supergraph SDL and OpenAPI
// documents and turns them into immutable, query-ready models.
package schema

import (
	"errors"
	"fmt"
	"maps"
	"net/url"
	"slices"
	"strings"
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
	// SubgraphURLs override a supergraph's routing URLs
	// (join__graph(url:)), keyed by join__graph(name:); federated
	// execution only.
	SubgraphURLs map[string]string `yaml:"subgraph_urls"`
	// Federated is set by the route's execution mode (not a key of its
	// own): a subgraph's url is then its routing URL, and may come with a
	// file holding its SDL.
	Federated bool `yaml:"-"`
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
		case sg.File != "" && sg.URL != "" && !c.Federated:
			ps.Addf(p.Key("url"), "set either file or url, not both (both only with execution: federated, where url is the routing URL)")
		case sg.URL == "" && c.Federated:
			ps.Addf(p.Key("url"), "federated execution needs the subgraph's routing URL")
		case sg.File == "" && sg.URL == "":
			ps.Addf(p.Key("file"), "one of file or url is required")
		case sg.URL != "" && !strings.Contains(sg.URL, "://") && !strings.HasPrefix(sg.URL, "/"):
			ps.Addf(p.Key("url"), "must be an absolute http or https URL, got %q: the scheme is missing (did you mean \"http://%s\"?)", sg.URL, sg.URL)
		case sg.URL != "":
			if err := checkRoutingURL(sg.URL); err != nil {
				ps.Addf(p.Key("url"), "%s", err)
			}
		}
		if sg.Timeout < 0 {
			ps.Addf(p.Key("timeout"), "must be >= 0")
		}
		if sg.Timeout > 0 && (sg.URL == "" || sg.File != "") {
			ps.Addf(p.Key("timeout"), "only applies to a subgraph whose SDL is fetched by url")
		}
	}
	switch {
	case len(c.SubgraphURLs) > 0 && !c.Federated:
		ps.Addf(keypath.Key("subgraph_urls"), "only applies with execution: federated")
	case len(c.SubgraphURLs) > 0 && c.Supergraph == "":
		ps.Addf(keypath.Key("subgraph_urls"), "only applies with a supergraph (each subgraph's url is its routing URL)")
	}
	for _, name := range slices.Sorted(maps.Keys(c.SubgraphURLs)) {
		if err := checkRoutingURL(c.SubgraphURLs[name]); err != nil {
			ps.Addf(keypath.Key("subgraph_urls").Key(name), "%s", err)
		}
	}
	return ps
}

func checkRoutingURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("must be an absolute http or https URL, got %q", raw)
	}
	if u.User != nil {
		// Credentials in a URL end up in logs and error messages.
		return errors.New("must not contain credentials")
	}
	return nil
}

// RoutingURLs returns each subgraph's routing URL in g: its join__graph
// URL, overridden by SubgraphURLs. An override naming no subgraph of g is
// an error with its key path.
func (c Config) RoutingURLs(g *Graph) (map[string]string, error) {
	out := map[string]string{}
	known := map[string]bool{}
	for _, s := range g.Subgraphs() {
		out[s.Name] = s.URL
		known[s.Name] = true
	}
	for _, name := range slices.Sorted(maps.Keys(c.SubgraphURLs)) {
		if !known[name] {
			return nil, fmt.Errorf("subgraph_urls.%s: no subgraph %q in the supergraph (join__graph names: %s)",
				name, name, strings.Join(slices.Sorted(maps.Keys(known)), ", "))
		}
		out[name] = c.SubgraphURLs[name]
	}
	for _, name := range slices.Sorted(maps.Keys(out)) {
		if out[name] == "" {
			return nil, fmt.Errorf("subgraph_urls.%s: subgraph %q has no routing URL (empty join__graph url); set one here", name, name)
		}
	}
	return out, nil
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
