package openapi

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

func TestLoad(t *testing.T) {
	cases := []struct {
		file, version, base string
		ops                 int
	}{
		{"testdata/orders31.yaml", "3.1.0", "/v1", 5},
		{"testdata/orders30.yaml", "3.0.3", "/v1", 5},
		{"testdata/multi/main.yaml", "3.0.3", "/shop", 1},
	}
	for _, c := range cases {
		t.Run(c.file, func(t *testing.T) {
			d, err := Load(c.file)
			if err != nil {
				t.Fatal(err)
			}
			if d.Version() != c.version || d.BasePath() != c.base || len(d.Operations()) != c.ops {
				t.Fatalf("got %s %q %d ops", d.Version(), d.BasePath(), len(d.Operations()))
			}
		})
	}
}

func TestCrossFileRefs(t *testing.T) {
	d, err := Load("testdata/multi/main.yaml")
	if err != nil {
		t.Fatal(err)
	}
	op := d.Operations()[0]
	if len(op.Parameters) != 1 || op.Parameters[0].Name != "limit" || !op.Parameters[0].Schema.Shape.Is("integer") {
		t.Fatalf("parameter not resolved: %+v", op.Parameters)
	}
	s := op.Body.Content["application/json"].Schema
	cases := []struct {
		body string
		want []string // violation locations
	}{
		{`{"name":"a","tag":"x"}`, nil},
		{`{"name":null}`, nil},
		{`{"tag":"x"}`, []string{""}},
		{`{"name":"a","tag":"z"}`, []string{"/tag"}},
	}
	for _, c := range cases {
		t.Run(c.body, func(t *testing.T) {
			var v any
			if err := json.Unmarshal([]byte(c.body), &v); err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, viol := range s.Validate(v) {
				got = append(got, "/"+strings.Join(viol.Location, "/"))
			}
			if len(got) != len(c.want) {
				t.Fatalf("violations %v, want %v", got, c.want)
			}
			for i := range got {
				if strings.TrimSuffix(got[i], "/") != c.want[i] {
					t.Fatalf("violations %v, want %v", got, c.want)
				}
			}
		})
	}
	if v := op.Parameters[0].Schema.Validate(json.Number("11")); len(v) != 1 {
		t.Fatalf("maximum from the other file not applied: %v", v)
	}
}

func TestLoadProblems(t *testing.T) {
	cases := []struct {
		file string
		want []string
	}{
		{"testdata/badref.yaml", []string{"Missing"}},
		{"testdata/dupid.yaml", []string{`duplicate operationId "same"`, "dupid.yaml:", `security scheme "nope"`}},
		{"testdata/notopenapi.yaml", []string{"unsupported version"}},
		{"testdata/remote.yaml", []string{"only local files"}},
		{"testdata/absent.yaml", []string{"absent.yaml"}},
	}
	for _, c := range cases {
		t.Run(c.file, func(t *testing.T) {
			_, err := Load(c.file)
			if err == nil {
				t.Fatal("loaded")
			}
			var le *LoadError
			if !errors.As(err, &le) || len(le.Problems) == 0 {
				t.Fatalf("not a LoadError with problems: %v", err)
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Fatalf("error lacks %q:\n%v", w, err)
				}
			}
		})
	}
}
