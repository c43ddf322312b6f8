package main

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"

	"github.com/portcullis-gw/portcullis/internal/testkit/golden"
)

// TestCheckGolden pins what `portcullis check` prints for broken configs,
// line for line: every problem with its key path, message and line.
func TestCheckGolden(t *testing.T) {
	files, err := filepath.Glob("../../gateway/config/testdata/broken/*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	files = append(files, "../../test/testdata/broken-everything.yaml")
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".yaml")
		t.Run(name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			if code := run([]string{"check", "-c", f}, &out, &errOut); code != 1 {
				t.Fatalf("exit %d, want 1\nstdout: %s\nstderr: %s", code, out.String(), errOut.String())
			}
			golden.Check(t, filepath.Join("testdata", "check", name+".golden"), []byte(out.String()+errOut.String()))
		})
	}
}
