package authz

import (
	"testing"

	"github.com/portcullis-gw/portcullis/policy/authn"
)

// benchQuery is a ~1 KB operation on the composed demo, touching
// @authenticated, @requiresScopes and a CEL rule with arguments.
const benchQuery = `query Demo($id: ID!, $n: Int) {
  me { ...UserParts reviews { id body product { ...ProductParts } } }
  user(id: $id) { ...UserParts }
  users(first: 5) { id username }
  topProducts(first: $n) {
    ...ProductParts
    secretNotes
    reviews { id body author { ...UserParts } }
  }
  product(upc: "p1") { ...ProductParts reviews { body author { username } } }
  latestReviews(first: 3) {
    id
    body
    author { id username email reviews { id product { upc name } } }
    product { upc name price inStock secretNotes }
  }
  second: latestReviews(first: 2) { id author { __typename id } }
}
fragment UserParts on User { id username email role }
fragment ProductParts on Product { upc name price inStock }
`

func BenchmarkAuthorize(b *testing.B) {
	g := demoGraph(b)
	a, err := Compile(Policies{"self": "has(args.id) && args.id == identity.subject", "admin": "'admin' in identity.roles"}, g,
		GraphQLConfig{Mode: ModeFilter, Rules: []Rule{{Coordinate: "Query.user", Policy: "self"}}})
	if err != nil {
		b.Fatal(err)
	}
	rep := analyze(b, g, benchQuery, map[string]any{"id": "1", "n": 5})
	b.Logf("query: %d bytes, %d fields", len(benchQuery), len(rep.Fields))
	full := authn.Identity{Kind: authn.KindJWT, Subject: "1", Scopes: []string{"users:email", "reviews:admin"}, Tier: "default"}
	partial := authn.Identity{Kind: authn.KindJWT, Subject: "1", Tier: "default"}
	b.Run("allowed", func(b *testing.B) {
		for b.Loop() {
			if d := a.Authorize(rep, full, Request{Method: "POST", Path: "/graphql"}); !d.Allowed {
				b.Fatal(paths(d.Errors))
			}
		}
	})
	b.Run("allowed_without_cel", func(b *testing.B) {
		plain, err := Compile(nil, g, GraphQLConfig{Mode: ModeFilter})
		if err != nil {
			b.Fatal(err)
		}
		for b.Loop() {
			if d := plain.Authorize(rep, full, Request{}); !d.Allowed {
				b.Fatal(paths(d.Errors))
			}
		}
	})
	b.Run("filtered", func(b *testing.B) {
		for b.Loop() {
			if d := a.Authorize(rep, partial, Request{Method: "POST", Path: "/graphql"}); d.Allowed || d.Document == "" {
				b.Fatal("nothing filtered")
			}
		}
	})
	b.Run("anonymous_rejected", func(b *testing.B) {
		r, _ := Compile(nil, g, GraphQLConfig{Mode: ModeReject})
		for b.Loop() {
			if d := r.Authorize(rep, anon, Request{}); d.Allowed {
				b.Fatal("allowed")
			}
		}
	})
}
