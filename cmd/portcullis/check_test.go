package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

func TestCheck(t *testing.T) {
	cases := []struct {
		name string
		args []string
		code int
		out  string
	}{
		{"demo config is valid", []string{"check", "-c", "../../configs/demo.yaml"}, 0, "demo.yaml: ok"},
		{"broken config lists its problems", []string{"check", "-c", "../../test/testdata/broken-everything.yaml"}, 1, "rate_limit.store:"},
		{"missing file", []string{"check", "-c", "nope.yaml"}, 1, "nope.yaml"},
		{"coverage table names gaps", []string{"check", "-c", "../../configs/demo.yaml", "--coverage"}, 0, "UNPROTECTED"},
		{"coverage gaps fail on request", []string{"check", "-c", "../../configs/demo.yaml", "--coverage", "--fail-unprotected"}, 1, "unprotected field(s)"},
		{"help", []string{"check", "--help"}, 0, "--coverage"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			code := run(c.args, &out, &errOut)
			if code != c.code {
				t.Fatalf("exit %d, want %d\nstdout: %s\nstderr: %s", code, c.code, out.String(), errOut.String())
			}
			if all := out.String() + errOut.String(); !strings.Contains(all, c.out) {
				t.Fatalf("output lacks %q:\n%s", c.out, all)
			}
		})
	}
}

func TestCheckCoverageJSON(t *testing.T) {
	var out, errOut bytes.Buffer
	if code := run([]string{"check", "-c", "../../configs/demo.yaml", "--coverage", "--json"}, &out, &errOut); code != 0 {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
	var routes []struct {
		Route  string `json:"route"`
		Fields []struct {
			Coordinate  string `json:"coordinate"`
			Requirement string `json:"requirement"`
			Unprotected bool   `json:"unprotected"`
		} `json:"fields"`
	}
	if err := json.Unmarshal(out.Bytes(), &routes); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, out.String())
	}
	want := map[string]string{"Query.me": "authenticated", "User.email": "scopes(users:email)", "Product.secretNotes": "scopes(reviews:admin)"}
	got := map[string]string{}
	for _, r := range routes {
		for _, f := range r.Fields {
			got[f.Coordinate] = f.Requirement
		}
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s requirement %q, want %q", k, got[k], v)
		}
	}
}
