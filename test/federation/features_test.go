package federation

import (
	"fmt"
	"github.com/portcullis-gw/portcullis/internal/testkit/gatewaytest"
	"strings"
	"testing"

	"github.com/portcullis-gw/portcullis/test/upstreams"
	"github.com/portcullis-gw/portcullis/test/upstreams/library"
)

// libraryConfig fronts the library federation in federated mode; the
// gateway reads each subgraph's SDL from _service { sdl } at its URL.
func libraryConfig(f *library.Federation, extra string) string {
	return fmt.Sprintf(`
identity: {anonymous: true}
server: {listen: 127.0.0.1:0, admin_listen: 127.0.0.1:0, shutdown_grace: 5s}
graphql:
  - name: library
    path: /graphql
    execution: federated
    schema:
      subgraphs:
        - {name: catalog, url: %q}
        - {name: people, url: %q}
        - {name: ratings, url: %q}
        - {name: shipping, url: %q}
%s`, f.Catalog.Endpoint, f.People.Endpoint, f.Ratings.Endpoint, f.Shipping.Endpoint, extra)
}

// featureCase is one operation over the library federation: the exact
// answer, and what each subgraph must (and must not) have received.
type featureCase struct {
	name, body string
	// status is the answer's status; 0 means 200.
	status int
	want   string
	// calls is how many requests each subgraph gets; received and absent
	// are substrings of what a subgraph's requests must and must not hold.
	calls    map[string]int
	received map[string][]string
	absent   map[string][]string
}

func TestFederatedFeatures(t *testing.T) {
	f := library.Start(t)
	gw := gatewaytest.Start(t, gatewaytest.WriteConfig(t, libraryConfig(f, "")))
	byName := map[string]*upstreams.Service{}
	for _, s := range f.All() {
		byName[s.Name] = s
	}
	for _, c := range featureCases {
		t.Run(c.name, func(t *testing.T) {
			f.ResetAll()
			f.Seq.Store(0)
			resp, body := postJSON(t, gw.URL("/graphql"), c.body, nil)
			if status := max(c.status, 200); resp.StatusCode != status || string(body) != c.want {
				t.Errorf("%d %s\nwant %s", resp.StatusCode, body, c.want)
			}
			for name, s := range byName {
				got := bodies(s)
				if n := len(got); n != c.calls[name] {
					t.Errorf("%s received %d requests, want %d:\n%s", name, n, c.calls[name], strings.Join(got, "\n"))
				}
				all := strings.Join(got, "\n")
				for _, want := range c.received[name] {
					if !strings.Contains(all, want) {
						t.Errorf("%s did not receive %s:\n%s", name, want, all)
					}
				}
				for _, bad := range c.absent[name] {
					if strings.Contains(all, bad) {
						t.Errorf("%s received %s:\n%s", name, bad, all)
					}
				}
			}
		})
	}
}

func vars(query, variables string) string {
	return `{"query":` + strings.TrimSuffix(strings.TrimPrefix(gqlQuery(query), `{"query":`), "}") + `,"variables":` + variables + `}`
}

var featureCases = []featureCase{
	{name: "entity interface, interfaceObject, requires and override, batched per subgraph and level",
		body: gqlQuery(`{ media { id title rating ... on Book { pages weight } ... on Movie { minutes } } }`),
		want: `{"data":{"media":[{"id":"b1","title":"Dune","rating":5,"pages":412,"weight":1030},{"id":"b2","title":"Foundation","rating":4,"pages":255,"weight":637.5},` +
			`{"id":"m1","title":"Dune (film)","rating":3,"minutes":155}]}}`,
		calls: map[string]int{"catalog": 1, "ratings": 1, "shipping": 1},
		received: map[string][]string{
			// One _entities call per subgraph for the whole list: Media
			// keys to the @interfaceObject subgraph, Book and Movie together
			// to shipping, each Book with the pages its @requires needs.
			"ratings":  {`{"__typename":"Media","id":"b1"},{"__typename":"Media","id":"b2"},{"__typename":"Media","id":"m1"}`},
			"shipping": {`{"__typename":"Book","pages":412,"isbn":"978-0441172719"},{"__typename":"Book","pages":255,"isbn":"978-0553293357"},{"__typename":"Movie","id":"m1"}`},
		},
		// minutes moved to shipping (@override); rating lives in ratings.
		absent: map[string][]string{"catalog": {"minutes", "rating"}}},
	{name: "union",
		body:     gqlQuery(`{ search(term: "Dune") { __typename ... on Book { title } ... on Movie { title minutes } } }`),
		want:     `{"data":{"search":[{"__typename":"Book","title":"Dune"},{"__typename":"Movie","title":"Dune (film)","minutes":155}]}}`,
		calls:    map[string]int{"catalog": 1, "shipping": 1},
		received: map[string][]string{"shipping": {`"representations":[{"__typename":"Movie","id":"m1"}]`}},
		absent:   map[string][]string{"catalog": {"minutes"}}},
	{name: "nested chain across three subgraphs through the keys of a third",
		// people knows books by id, shipping by isbn: catalog, which has
		// both keys, is the step between them.
		body:  gqlQuery(`{ authors { name favorite { title weight } } }`),
		want:  `{"data":{"authors":[{"name":"Frank Herbert","favorite":{"title":"Foundation","weight":637.5}},{"name":"Isaac Asimov","favorite":{"title":"Dune","weight":1030}}]}}`,
		calls: map[string]int{"people": 1, "catalog": 1, "shipping": 1},
		received: map[string][]string{
			"catalog":  {`"representations":[{"__typename":"Book","id":"b2"},{"__typename":"Book","id":"b1"}]`},
			"shipping": {`{"__typename":"Book","isbn":"978-0553293357","pages":255},{"__typename":"Book","isbn":"978-0441172719","pages":412}`},
		},
		// people's Book key is not resolvable: it is never asked for one.
		absent: map[string][]string{"people": {"_entities"}}},
	{name: "provides",
		body:     gqlQuery(`{ featured { title } }`),
		want:     `{"data":{"featured":{"title":"Dune"}}}`,
		calls:    map[string]int{"people": 1},
		received: map[string][]string{"people": {`{featured {title}}`}}},
	{name: "provides and a field it does not provide",
		body:     gqlQuery(`{ featured { title pages } }`),
		want:     `{"data":{"featured":{"title":"Dune","pages":412}}}`,
		calls:    map[string]int{"people": 1, "catalog": 1},
		received: map[string][]string{"catalog": {`... on Book {__typename pages}`, `"representations":[{"__typename":"Book","id":"b1"}]`}},
		absent:   map[string][]string{"people": {"_entities", "pages"}, "catalog": {"title"}}},
	{name: "several keys",
		body:     gqlQuery(`{ book(id: "b2") { weight } }`),
		want:     `{"data":{"book":{"weight":637.5}}}`,
		calls:    map[string]int{"catalog": 1, "shipping": 1},
		received: map[string][]string{"catalog": {"isbn", "pages"}, "shipping": {`{"__typename":"Book","pages":255,"isbn":"978-0553293357"}`}}},
	{name: "shareable",
		body:  gqlQuery(`{ book(id: "b1") { title } }`),
		want:  `{"data":{"book":{"title":"Dune"}}}`,
		calls: map[string]int{"catalog": 1}},
	{name: "inaccessible field is unreachable", status: 400,
		body: gqlQuery(`{ book(id: "b1") { internalCode } }`),
		want: `{"errors":[{"message":"Cannot query this field here.","locations":[{"line":1,"column":20}],"extensions":{"code":"GRAPHQL_VALIDATION_FAILED"}}]}`},
	{name: "variables aliases fragments skip include",
		body: vars(`query Q($id: ID!, $withPages: Boolean!, $skipRating: Boolean!) {
  first: book(id: $id) { ...B }
  second: book(id: "b2") { t: title }
}
fragment B on Book { title pages @include(if: $withPages) rating @skip(if: $skipRating) }`, `{"id":"b1","withPages":false,"skipRating":true}`),
		want:     `{"data":{"first":{"title":"Dune"},"second":{"t":"Foundation"}}}`,
		calls:    map[string]int{"catalog": 1},
		received: map[string][]string{"catalog": {`"b1"`, `"b2"`}},
		absent:   map[string][]string{"catalog": {"pages"}}},
	{name: "mutations run one after another across subgraphs",
		// note and rate number themselves from one counter: 1, 2, 3 is
		// the order they ran in.
		body:  gqlQuery(`mutation { a: note(text: "1") b: rate(id: "b1", stars: 5) c: note(text: "2") }`),
		want:  `{"data":{"a":1,"b":2,"c":3}}`,
		calls: map[string]int{"catalog": 2, "ratings": 1}},
	{name: "starting at the interfaceObject subgraph",
		body:     gqlQuery(`{ topRated { id rating title ... on Book { pages } } }`),
		want:     `{"data":{"topRated":[{"id":"m1","rating":3,"title":"Dune (film)"},{"id":"b2","rating":4,"title":"Foundation","pages":255}]}}`,
		calls:    map[string]int{"ratings": 1, "catalog": 1},
		received: map[string][]string{"catalog": {`... on Book {__typename title pages} ... on Movie {__typename title}`}}},
}
