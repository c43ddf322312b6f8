package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/portcullis-gw/portcullis/policy/trusted"
)

// exportFixture writes a config whose route "shop" records to a file holding
// two operations of two clients.
func exportFixture(t *testing.T) (cfgFile string) {
	t.Helper()
	dir := t.TempDir()
	schemas, err := filepath.Abs("../../configs/schemas")
	if err != nil {
		t.Fatal(err)
	}
	rec := filepath.Join(dir, "shop-record.json")
	r, err := trusted.Open(trusted.RecordConfig{File: rec, FlushInterval: time.Hour}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	r.Record(trusted.Seen{Body: "query Me { me { id } }", Name: "Me", Type: "query", Client: "web", ClientVersion: "1"})
	r.Record(trusted.Seen{Body: "query Top { topProducts { upc } }", Name: "Top", Type: "query", Client: "ios"})
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	cfg := `graphql:
  - name: shop
    path: /graphql
    upstream: {url: http://127.0.0.1:1}
    schema:
      subgraphs:
        - {name: accounts, file: ` + schemas + `/accounts.graphql}
        - {name: products, file: ` + schemas + `/products.graphql}
    persisted_operations: {mode: audit, record: {file: shop-record.json}}
  - name: plain
    path: /plain
    upstream: {url: http://127.0.0.1:1}
    schema:
      subgraphs:
        - {name: accounts, file: ` + schemas + `/accounts.graphql}
`
	cfgFile = filepath.Join(dir, "portcullis.yaml")
	if err := os.WriteFile(cfgFile, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return cfgFile
}

func TestTrustedDocumentsExport(t *testing.T) {
	cfg := exportFixture(t)
	outFile := filepath.Join(filepath.Dir(cfg), "manifest.json")
	cases := []struct {
		name  string
		args  []string
		code  int
		want  []string
		avoid []string
	}{
		{"all clients", []string{"export", "-c", cfg, "shop"}, 0, []string{`"format": "apollo-persisted-query-manifest"`, `"name": "Me"`, `"name": "Top"`, `"type": "query"`}, nil},
		{"one client", []string{"export", "-c", cfg, "--client", "ios", "shop"}, 0, []string{`"name": "Top"`}, []string{`"name": "Me"`}},
		{"to a file", []string{"export", "-c", cfg, "-o", outFile, "shop"}, 0, nil, []string{"apollo-persisted-query-manifest"}},
		{"unknown route", []string{"export", "-c", cfg, "nope"}, 1, []string{`no GraphQL route named "nope"`}, nil},
		{"route without record", []string{"export", "-c", cfg, "plain"}, 1, []string{"set persisted_operations.record"}, nil},
		{"no route", []string{"export", "-c", cfg}, 2, []string{"Usage:"}, nil},
		{"no action", []string{}, 2, []string{"Usage:"}, nil},
		{"bad config", []string{"export", "-c", "nope.yaml", "shop"}, 1, []string{"nope.yaml"}, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			code := run(append([]string{"trusted-documents"}, c.args...), &out, &errOut)
			all := out.String() + errOut.String()
			if code != c.code {
				t.Fatalf("exit %d, want %d\n%s", code, c.code, all)
			}
			for _, w := range c.want {
				if !strings.Contains(all, w) {
					t.Errorf("output lacks %q:\n%s", w, all)
				}
			}
			for _, a := range c.avoid {
				if strings.Contains(out.String(), a) {
					t.Errorf("stdout has %q:\n%s", a, out.String())
				}
			}
		})
	}
	// The file written is a manifest the gateway loads.
	docs, err := trusted.ReadManifest(outFile)
	if err != nil || len(docs) != 2 {
		t.Fatalf("exported manifest: %v, %d documents", err, len(docs))
	}
}
