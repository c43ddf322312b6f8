package authz

import (
	"testing"
)

func TestMergeFiltered(t *testing.T) {
	g := shop(t)
	a := compileShop(t, ModeFilter, false)
	errMe := `{"message":"Unauthorized field or type","path":["me","email"],"extensions":{"code":"UNAUTHORIZED_FIELD_OR_TYPE"}}`
	cases := []struct {
		name, q, upstream, want string
	}{
		{name: "nullable_field_set_null",
			q:        `{ post(id: "p") { title internalNotes } }`,
			upstream: `{"data":{"post":{"title":"t"}}}`,
			want:     `{"data":{"post":{"title":"t","internalNotes":null}},"errors":[{"message":"Unauthorized field or type","path":["post","internalNotes"],"extensions":{"code":"UNAUTHORIZED_FIELD_OR_TYPE"}}]}`},
		{name: "non_null_field_nulls_nullable_parent",
			q:        `{ me { username email } publicInfo }`,
			upstream: `{"data":{"me":{"username":"a"},"publicInfo":"x"}}`,
			want:     `{"data":{"me":null,"publicInfo":"x"},"errors":[` + errMe + `]}`},
		{name: "emptied_parent_null",
			q:        `{ me { email } publicInfo }`,
			upstream: `{"data":{"publicInfo":"x"}}`,
			want:     `{"data":{"publicInfo":"x","me":null},"errors":[` + errMe + `]}`},
		{name: "null_bubbles_through_non_null_list_to_data",
			q:        `{ users { username email } }`,
			upstream: `{"data":{"users":[{"username":"a"},{"username":"b"}]}}`,
			want:     `{"data":null,"errors":[{"message":"Unauthorized field or type","path":["users","email"],"extensions":{"code":"UNAUTHORIZED_FIELD_OR_TYPE"}}]}`},
		{name: "nullable_in_lists",
			q:        `{ users { id posts { title internalNotes } } }`,
			upstream: `{"data":{"users":[{"id":"1","posts":[{"title":"a"},{"title":"b"}]},{"id":"2","posts":[]}]}}`,
			want:     `{"data":{"users":[{"id":"1","posts":[{"title":"a","internalNotes":null},{"title":"b","internalNotes":null}]},{"id":"2","posts":[]}]},"errors":[{"message":"Unauthorized field or type","path":["users","posts","internalNotes"],"extensions":{"code":"UNAUTHORIZED_FIELD_OR_TYPE"}}]}`},
		{name: "narrowed_field_only_on_matching_objects",
			q:        `{ search(text: "a") { ... on User { username email } ... on Post { title } } }`,
			upstream: `{"data":{"search":[{"username":"a","_portcullis_typename":"User"},{"title":"t","_portcullis_typename":"Post"},null]}}`,
			want:     `{"data":{"search":[null,{"title":"t"},null]},"errors":[{"message":"Unauthorized field or type","path":["search","email"],"extensions":{"code":"UNAUTHORIZED_FIELD_OR_TYPE"}}]}`},
		{name: "upstream_errors_kept",
			q:        `{ post(id: "p") { title internalNotes } }`,
			upstream: `{"errors":[{"message":"boom","path":["post","title"]}],"data":{"post":{"title":null}}}`,
			want:     `{"errors":[{"message":"boom","path":["post","title"]},{"message":"Unauthorized field or type","path":["post","internalNotes"],"extensions":{"code":"UNAUTHORIZED_FIELD_OR_TYPE"}}],"data":{"post":{"title":null,"internalNotes":null}}}`},
		{name: "null_data_untouched",
			q:        `{ post(id: "p") { title internalNotes } }`,
			upstream: `{"data":null,"errors":[{"message":"down"}]}`,
			want:     `{"data":null,"errors":[{"message":"down"},{"message":"Unauthorized field or type","path":["post","internalNotes"],"extensions":{"code":"UNAUTHORIZED_FIELD_OR_TYPE"}}]}`},
		{name: "numbers_kept_exactly",
			q:        `{ post(id: "p") { title internalNotes } }`,
			upstream: `{"data":{"post":{"title":"t"}},"extensions":{"n":12345678901234567890}}`,
			want:     `{"data":{"post":{"title":"t","internalNotes":null}},"extensions":{"n":12345678901234567890},"errors":[{"message":"Unauthorized field or type","path":["post","internalNotes"],"extensions":{"code":"UNAUTHORIZED_FIELD_OR_TYPE"}}]}`},
		{name: "empty_decision_answers_null_data",
			q:    `{ me { email } }`,
			want: `{"data":null,"errors":[` + errMe + `]}`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d := a.Authorize(analyze(t, g, tc.q, nil), alice, Request{})
			if d.Allowed {
				t.Fatal("nothing removed")
			}
			var body []byte
			if tc.upstream != "" {
				body = []byte(tc.upstream)
			}
			got, err := a.MergeFiltered(d, body)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tc.want {
				t.Fatalf("got\n%s\nwant\n%s", got, tc.want)
			}
		})
	}
}

func TestMergeFilteredBadUpstream(t *testing.T) {
	g := shop(t)
	a := compileShop(t, ModeFilter, false)
	d := a.Authorize(analyze(t, g, `{ post(id: "p") { title internalNotes } }`, nil), alice, Request{})
	for _, body := range []string{`not json`, `[1,2]`, `{"data":`} {
		if _, err := a.MergeFiltered(d, []byte(body)); err == nil {
			t.Errorf("%q: no error", body)
		}
	}
}
