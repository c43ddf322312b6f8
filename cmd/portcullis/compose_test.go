package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/portcullis-gw/portcullis/schema"
)

func fixture(c, file string) string {
	return filepath.Join("..", "..", "schema", "testdata", "compose", c, file)
}

func TestComposeCommand(t *testing.T) {
	t.Run("prints the supergraph", func(t *testing.T) {
		var out, errOut bytes.Buffer
		code := run([]string{"compose", fixture("valid_entities", "accounts.graphql"), "reviews=" + fixture("valid_entities", "reviews.graphql")}, &out, &errOut)
		if code != 0 {
			t.Fatalf("exit %d: %s", code, errOut.String())
		}
		g, err := schema.ParseSDL("out", out.String())
		if err != nil {
			t.Fatalf("output does not load: %v", err)
		}
		if g.Kind() != schema.KindSupergraph || g.Field("User", "reviews").Subgraphs[0] != "reviews" ||
			g.Field("User", "name").Subgraphs[0] != "accounts" {
			t.Fatalf("unexpected supergraph:\n%s", out.String())
		}
	})
	t.Run("writes -o", func(t *testing.T) {
		dst := filepath.Join(t.TempDir(), "super.graphql")
		var out, errOut bytes.Buffer
		if code := run([]string{"compose", "-o", dst, fixture("valid_override", "a.graphql"), fixture("valid_override", "b.graphql")}, &out, &errOut); code != 0 {
			t.Fatalf("exit %d: %s", code, errOut.String())
		}
		b, err := os.ReadFile(dst)
		if err != nil || !strings.Contains(string(b), `override: "a"`) || out.Len() != 0 {
			t.Fatalf("file %q err %v stdout %q", b, err, out.String())
		}
	})
	t.Run("lists every composition error", func(t *testing.T) {
		var out, errOut bytes.Buffer
		code := run([]string{"compose", fixture("error_collects_all", "a.graphql"), fixture("error_collects_all", "b.graphql")}, &out, &errOut)
		if code != 1 || out.Len() != 0 {
			t.Fatalf("exit %d, stdout %q", code, out.String())
		}
		for _, want := range []string{"INVALID_FIELD_SHARING [a, b] Query.x: ", "FIELD_TYPE_MISMATCH [a, b] Query.y: "} {
			if !strings.Contains(errOut.String(), want) {
				t.Errorf("stderr lacks %q:\n%s", want, errOut.String())
			}
		}
	})
	t.Run("missing file", func(t *testing.T) {
		var out, errOut bytes.Buffer
		if code := run([]string{"compose", "nope.graphql"}, &out, &errOut); code != 1 || !strings.Contains(errOut.String(), `"nope"`) {
			t.Fatalf("exit %d: %s", code, errOut.String())
		}
	})
	t.Run("no arguments", func(t *testing.T) {
		var out, errOut bytes.Buffer
		if code := run([]string{"compose"}, &out, &errOut); code != 2 {
			t.Fatalf("exit %d", code)
		}
	})
}
