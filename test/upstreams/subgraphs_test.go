package upstreams_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/portcullis-gw/portcullis/test/upstreams"
	"github.com/portcullis-gw/portcullis/test/upstreams/accounts"
	"github.com/portcullis-gw/portcullis/test/upstreams/products"
	"github.com/portcullis-gw/portcullis/test/upstreams/reviews"
)

func TestSubgraphQueries(t *testing.T) {
	set := upstreams.StartAll(t)
	tests := []struct {
		name      string
		svc       *upstreams.Service
		query     string
		variables map[string]any
		header    http.Header
		want      string
		wantError string // substring of the first error; "" means no errors
	}{
		{
			name:  "accounts users sliced by first",
			svc:   set.Accounts,
			query: `{ users(first: 2) { id username email role } }`,
			want:  `{"users":[{"id":"1","username":"alice","email":"alice@example.com","role":"admin"},{"id":"2","username":"bob","email":"bob@example.com","role":"customer"}]}`,
		},
		{
			name:  "accounts users default size",
			svc:   set.Accounts,
			query: `{ users { id } }`,
			want:  `{"users":[{"id":"1"},{"id":"2"},{"id":"3"},{"id":"4"},{"id":"5"}]}`,
		},
		{
			name:      "accounts user by id",
			svc:       set.Accounts,
			query:     `query($id: ID!) { user(id: $id) { username } }`,
			variables: map[string]any{"id": "3"},
			want:      `{"user":{"username":"carol"}}`,
		},
		{
			name:  "accounts unknown user is null",
			svc:   set.Accounts,
			query: `{ user(id: "999") { username } }`,
			want:  `{"user":null}`,
		},
		{
			name:   "accounts me from the forwarded subject",
			svc:    set.Accounts,
			query:  `{ me { id username } }`,
			header: http.Header{accounts.SubjectHeader: {"jwt:https://idp.example#2"}},
			want:   `{"me":{"id":"2","username":"bob"}}`,
		},
		{
			name:  "accounts me without a subject is null",
			svc:   set.Accounts,
			query: `{ me { id } }`,
			want:  `{"me":null}`,
		},
		{
			name:      "accounts negative first is an error, not a panic",
			svc:       set.Accounts,
			query:     `{ users(first: -1) { id } }`,
			want:      `null`,
			wantError: "first must not be negative",
		},
		{
			name:  "products top products sliced by first",
			svc:   set.Products,
			query: `{ topProducts(first: 2) { upc name price inStock } }`,
			want:  `{"topProducts":[{"upc":"1","name":"Table","price":899,"inStock":true},{"upc":"2","name":"Couch","price":1299,"inStock":false}]}`,
		},
		{
			name:  "products top products default size",
			svc:   set.Products,
			query: `{ topProducts { upc } }`,
			want:  `{"topProducts":[{"upc":"1"},{"upc":"2"},{"upc":"3"},{"upc":"4"},{"upc":"5"}]}`,
		},
		{
			name:  "products product by upc",
			svc:   set.Products,
			query: `{ product(upc: "4") { name price } }`,
			want:  `{"product":{"name":"Lamp","price":35}}`,
		},
		{
			name:  "products unknown product is null",
			svc:   set.Products,
			query: `{ product(upc: "nope") { name } }`,
			want:  `{"product":null}`,
		},
		{
			name:  "reviews latest with references",
			svc:   set.Reviews,
			query: `{ latestReviews(first: 2) { id body author { id } product { upc } } }`,
			want:  `{"latestReviews":[{"id":"r7","body":"Sturdy.","author":{"id":"3"},"product":{"upc":"1"}},{"id":"r6","body":"Soft and warm.","author":{"id":"5"},"product":{"upc":"5"}}]}`,
		},
		{
			name:  "reviews latest default size",
			svc:   set.Reviews,
			query: `{ latestReviews { id } }`,
			want:  `{"latestReviews":[{"id":"r7"},{"id":"r6"},{"id":"r5"}]}`,
		},
		{
			name:  "reviews nested through references",
			svc:   set.Reviews,
			query: `{ latestReviews(first: 1) { product { reviews { id } secretNotes } author { reviews { id } } } }`,
			want:  `{"latestReviews":[{"product":{"reviews":[{"id":"r1"},{"id":"r2"},{"id":"r7"}],"secretNotes":"supplier discount 12%"},"author":{"reviews":[{"id":"r3"},{"id":"r7"}]}}]}`,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp := postGraphQL(t, tc.svc.Endpoint, tc.query, tc.variables, tc.header)
			assertAnswer(t, resp, tc.want, tc.wantError)
		})
	}
}

func TestUpdateUserChangesOnlyThatHandlersData(t *testing.T) {
	set := upstreams.StartAll(t)
	resp := postGraphQL(t, set.Accounts.Endpoint,
		`mutation($id: ID!, $in: UpdateUserInput!) { updateUser(id: $id, input: $in) { id username role } }`,
		map[string]any{"id": "2", "in": map[string]any{"role": "admin"}}, nil)
	if len(resp.Errors) > 0 {
		t.Fatalf("errors: %+v", resp.Errors)
	}
	assertJSONEqual(t, resp.Data, `{"updateUser":{"id":"2","username":"bob","role":"admin"}}`)

	after := postGraphQL(t, set.Accounts.Endpoint, `{ user(id: "2") { role } }`, nil, nil)
	assertJSONEqual(t, after.Data, `{"user":{"role":"admin"}}`)

	fresh := upstreams.StartAll(t)
	untouched := postGraphQL(t, fresh.Accounts.Endpoint, `{ user(id: "2") { role } }`, nil, nil)
	assertJSONEqual(t, untouched.Data, `{"user":{"role":"customer"}}`)
}

func TestServiceSDL(t *testing.T) {
	set := upstreams.StartAll(t)
	tests := []struct {
		svc  *upstreams.Service
		want string
	}{
		{set.Accounts, accounts.SDL()},
		{set.Products, products.SDL()},
		{set.Reviews, reviews.SDL()},
	}
	for _, tc := range tests {
		t.Run(tc.svc.Name, func(t *testing.T) {
			resp := postGraphQL(t, tc.svc.Endpoint, `{ _service { sdl } }`, nil, nil)
			if len(resp.Errors) > 0 {
				t.Fatalf("errors: %+v", resp.Errors)
			}
			var got struct {
				Service struct {
					SDL string `json:"sdl"`
				} `json:"_service"`
			}
			if err := json.Unmarshal(resp.Data, &got); err != nil {
				t.Fatal(err)
			}
			if got.Service.SDL != tc.want {
				t.Errorf("_service.sdl differs from SDL():\n%s", got.Service.SDL)
			}
			if !strings.Contains(got.Service.SDL, `https://specs.apollo.dev/federation/v2.9`) {
				t.Errorf("sdl does not link federation v2.9")
			}
		})
	}
}

func TestEntities(t *testing.T) {
	set := upstreams.StartAll(t)
	const userQuery = `query($r: [_Any!]!) { _entities(representations: $r) { ... on User { id username } } }`
	const productQuery = `query($r: [_Any!]!) { _entities(representations: $r) { ... on Product { upc name price } } }`
	const reviewsQuery = `query($r: [_Any!]!) { _entities(representations: $r) {
		... on User { id reviews { id } }
		... on Product { upc reviews { id body } secretNotes } } }`
	rep := func(typename, key, value string) map[string]any {
		return map[string]any{"__typename": typename, key: value}
	}
	tests := []struct {
		name      string
		svc       *upstreams.Service
		query     string
		reps      []any
		want      string
		wantError string
	}{
		{
			name:  "accounts resolves users",
			svc:   set.Accounts,
			query: userQuery,
			reps:  []any{rep("User", "id", "4"), rep("User", "id", "1")},
			want:  `{"_entities":[{"id":"4","username":"dave"},{"id":"1","username":"alice"}]}`,
		},
		{
			name:      "accounts unknown user is a null entity with an error",
			svc:       set.Accounts,
			query:     userQuery,
			reps:      []any{rep("User", "id", "1"), rep("User", "id", "999")},
			want:      `{"_entities":[{"id":"1","username":"alice"},null]}`,
			wantError: `user "999" not found`,
		},
		{
			name:  "products resolves products",
			svc:   set.Products,
			query: productQuery,
			reps:  []any{rep("Product", "upc", "2")},
			want:  `{"_entities":[{"upc":"2","name":"Couch","price":1299}]}`,
		},
		{
			name:  "reviews adds reviews to users and products",
			svc:   set.Reviews,
			query: reviewsQuery,
			reps:  []any{rep("User", "id", "2"), rep("Product", "upc", "2"), rep("User", "id", "4")},
			want:  `{"_entities":[{"id":"2","reviews":[{"id":"r2"},{"id":"r5"}]},{"upc":"2","reviews":[{"id":"r3","body":"Could be better."}],"secretNotes":"recall pending for batch 7"},{"id":"4","reviews":[]}]}`,
		},
		{
			name:      "unknown typename is an error, not a panic",
			svc:       set.Products,
			query:     productQuery,
			reps:      []any{rep("Spaceship", "upc", "1")},
			want:      `{"_entities":[null]}`,
			wantError: "Spaceship",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp := postGraphQL(t, tc.svc.Endpoint, tc.query, map[string]any{"r": tc.reps}, nil)
			assertAnswer(t, resp, tc.want, tc.wantError)
		})
	}
}

func TestSubgraphsServeOnlyPostQuery(t *testing.T) {
	set := upstreams.StartAll(t)
	for _, svc := range set.Subgraphs() {
		t.Run(svc.Name, func(t *testing.T) {
			for _, tc := range []struct {
				method, path string
				want         int
			}{
				{http.MethodGet, "/query", http.StatusMethodNotAllowed},
				{http.MethodPost, "/", http.StatusNotFound},
			} {
				req, err := http.NewRequest(tc.method, svc.URL+tc.path, strings.NewReader(`{"query":"{ __typename }"}`))
				if err != nil {
					t.Fatal(err)
				}
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				_ = resp.Body.Close()
				if resp.StatusCode != tc.want {
					t.Errorf("%s %s: status %d, want %d", tc.method, tc.path, resp.StatusCode, tc.want)
				}
			}
		})
	}
}
