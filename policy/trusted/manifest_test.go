package trusted

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"testing"

	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/parser"
)

const (
	hello = "query Hello { hello }"
	me    = "query Me { me { id } }"
	login = "mutation Login($u: String!, $p: String!) { login(username: $u, password: $p) }"
)

func sha(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

func TestLoadMergesManifests(t *testing.T) {
	l, err := Load("testdata/apollo.json", "testdata/plain.json")
	if err != nil {
		t.Fatal(err)
	}
	if l.Len() != 3 {
		t.Fatalf("Len = %d, want 3", l.Len())
	}
	cases := []struct {
		name, id, want string
		found          bool
	}{
		{"apollo id", sha(hello), hello, true},
		{"apollo id upper case", strings.ToUpper(sha(hello)), hello, true},
		{"documentId sha256 prefix", "sha256:" + sha(me), me, true},
		{"plain map id", "login-v1", login, true},
		{"plain map body hash", sha(login), login, true},
		{"unknown id", "login-v2", "", false},
		{"unknown hash", sha("query { x }"), "", false},
		{"id is case-sensitive", "LOGIN-V1", "", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d, ok := l.ByID(c.id)
			if ok != c.found || ok && d.Body != c.want {
				t.Fatalf("ByID(%q) = %v, %v; want %q, %v", c.id, d, ok, c.want, c.found)
			}
		})
	}
}

func TestByBodyNormalised(t *testing.T) {
	l, err := Load("testdata/apollo.json")
	if err != nil {
		t.Fatal(err)
	}
	norm := func(body string) func() (Hash, bool) {
		return func() (Hash, bool) {
			h, _, err := Normalize(body)
			return h, err == nil
		}
	}
	cases := []struct {
		name, body string
		found      bool
	}{
		{"same bytes", hello, true},
		{"other spacing and a comment", "# greeting\nquery Hello {\n  hello\n}\n", true},
		{"commas are whitespace", "query Hello { hello, }", true},
		{"another field", "query Hello { hello goodbye }", false},
		{"another operation name", "query Hi { hello }", false},
		{"an alias", "query Hello { h: hello }", false},
		{"unparsable", "query Hello { hello", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, ok := l.ByBody(c.body, norm(c.body))
			if ok != c.found {
				t.Fatalf("ByBody(%q) found = %v, want %v", c.body, ok, c.found)
			}
		})
	}
}

func TestLoadRefusesBadManifests(t *testing.T) {
	cases := []struct{ name, want string }{
		{"conflict", "already names another body"},
		{"stale", "is a sha256 but not that of its body"},
		{"v2", "unsupported manifest version 2"},
		{"unparsable", "parsing body"},
		{"notstring", "unknown manifest format"},
		{"missing", "no such file"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			files := []string{"testdata/" + c.name + ".json"}
			if c.name == "conflict" {
				files = []string{"testdata/plain.json", "testdata/conflict.json"}
			}
			_, err := Load(files...)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("Load error = %v, want it to contain %q", err, c.want)
			}
			if !strings.Contains(err.Error(), files[len(files)-1]) {
				t.Errorf("error %q does not name the file", err)
			}
		})
	}
}

func TestListsPerClient(t *testing.T) {
	ls, err := LoadLists(Config{Mode: ModeSafelist, Manifest: "testdata/apollo.json", Clients: map[string]string{"ios": "testdata/ios.json"}})
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		client, id string
		found      bool
	}{
		{"", sha(hello), true},
		{"", "ios-me", false},
		{"ios", "ios-me", true},
		// A client with its own list gets only that list.
		{"ios", sha(hello), false},
		// An unknown client name gets the shared list.
		{"web", sha(hello), true},
		{"IOS", "ios-me", false},
	}
	for _, c := range cases {
		t.Run(c.client+"/"+c.id, func(t *testing.T) {
			if _, ok := ls.For(c.client).ByID(c.id); ok != c.found {
				t.Fatalf("For(%q).ByID(%q) = %v, want %v", c.client, c.id, ok, c.found)
			}
		})
	}
	if ls.Len() != 3 {
		t.Errorf("Len = %d, want 3", ls.Len())
	}
}

func TestValidate(t *testing.T) {
	cases := []struct {
		name string
		c    Config
		want string
	}{
		{"off", Config{Mode: ModeOff}, ""},
		{"audit without manifest", Config{Mode: ModeAudit}, ""},
		{"safelist without manifest", Config{Mode: ModeSafelist}, "manifest: is required"},
		{"safelist with clients only", Config{Mode: ModeSafelist, Clients: map[string]string{"web": "w.json"}}, ""},
		{"manifest with apq", Config{Mode: ModeAPQ, Manifest: "m.json"}, "manifest: only used with mode audit or safelist"},
		{"bad mode", Config{Mode: "enforce"}, "mode: must be off, allow_apq, audit or safelist"},
		{"bad client name", Config{Mode: ModeAudit, Clients: map[string]string{"we\tb": "w.json"}}, "client name must match"},
		{"record without file", Config{Mode: ModeAudit, Record: &RecordConfig{}}, "record.file: is required"},
		{"record with off", Config{Mode: ModeOff, Record: &RecordConfig{File: "r.json"}}, "record: only used with mode audit or safelist"},
		{"negative max", Config{Mode: ModeAudit, Record: &RecordConfig{File: "r.json", MaxOperations: -1}}, "record.max_operations"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			errs := c.c.Validate()
			if c.want == "" {
				if len(errs) != 0 {
					t.Fatalf("Validate = %v, want none", errs)
				}
				return
			}
			if len(errs) != 1 || !strings.Contains(errs[0].Error(), c.want) {
				t.Fatalf("Validate = %v, want one containing %q", errs, c.want)
			}
		})
	}
}

func TestClientOf(t *testing.T) {
	cases := []struct {
		name        string
		h           map[string][]string
		client, ver string
		wantErr     string
	}{
		{"none", nil, "", "", ""},
		{"graphql", map[string][]string{"Graphql-Client-Name": {"web"}, "Graphql-Client-Version": {"1.2.3"}}, "web", "1.2.3", ""},
		{"apollo", map[string][]string{"Apollographql-Client-Name": {"ios"}}, "ios", "", ""},
		{"both agree", map[string][]string{"Graphql-Client-Name": {"ios"}, "Apollographql-Client-Name": {"ios"}}, "ios", "", ""},
		{"both disagree", map[string][]string{"Graphql-Client-Name": {"ios"}, "Apollographql-Client-Name": {"web"}}, "", "", "disagree"},
		{"twice", map[string][]string{"Graphql-Client-Name": {"ios", "web"}}, "", "", "more than once"},
		{"control characters", map[string][]string{"Graphql-Client-Name": {"web\x00"}}, "", "", "must match"},
		{"too long", map[string][]string{"Graphql-Client-Name": {strings.Repeat("a", 65)}}, "", "", "must match"},
		{"bad version", map[string][]string{"Graphql-Client-Version": {"1\n2"}}, "", "", "must match"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			name, ver, err := ClientOf(c.h)
			if c.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), c.wantErr) {
					t.Fatalf("err = %v, want %q", err, c.wantErr)
				}
				return
			}
			if err != nil || name != c.client || ver != c.ver {
				t.Fatalf("ClientOf = %q, %q, %v", name, ver, err)
			}
		})
	}
}

// TestNormalizerAgreesWithNormalize: the hash from the analysis's parse is
// the hash Normalize computes from the text, so manifest entries (hashed at
// load from text) and requests (hashed from the parse) meet.
func TestNormalizerAgreesWithNormalize(t *testing.T) {
	n := NewNormalizer(2)
	for _, q := range []string{hello, me, login, "# c\nquery Hello {\n hello,\n}", `query Q($a: [Int!] = [1, 2]) @x { a: f(s: """block""", o: {k: "v\"q"}) { ...F } } fragment F on T { g }`} {
		doc, err := parser.ParseQuery(&ast.Source{Input: q})
		if err != nil {
			t.Fatal(err)
		}
		want, _, err := Normalize(q)
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i < 2; i++ { // the second time from the cache
			if got := n.Of(q, doc); got != want {
				t.Fatalf("Of(%q) differs from Normalize", q)
			}
		}
	}
}
