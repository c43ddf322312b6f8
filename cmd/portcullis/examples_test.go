package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestExamplesCheck keeps every configs/examples/ file valid: `portcullis
// check` builds it as `serve` would. Secrets are ${VARIABLES}; the test gives
// them throwaway values.
func TestExamplesCheck(t *testing.T) {
	for k, v := range map[string]string{
		"REDIS_ADDR": "127.0.0.1:6379", "REDIS_PASSWORD": "not-a-password",
		"ACME_KEY_SHA256":   strings.Repeat("a", 64),
		"GLOBEX_KEY_SHA256": strings.Repeat("b", 64),
		"MOBILE_KEY_SHA256": strings.Repeat("c", 64),
	} {
		t.Setenv(k, v)
	}
	files, err := filepath.Glob("../../configs/examples/*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 4 {
		t.Fatalf("found %d examples, want at least 4", len(files))
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			code, out, errOut := runCLI("check", "-c", f)
			if code != 0 || !strings.HasSuffix(out, ": ok\n") {
				t.Fatalf("check exit %d\n%s%s", code, out, errOut)
			}
			raw, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(string(raw), "portcullis check -c configs/examples/"+filepath.Base(f)) {
				t.Errorf("%s does not say how to check it", f)
			}
		})
	}
}
