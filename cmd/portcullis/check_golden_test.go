package main

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/check")

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
			got := out.String() + errOut.String()
			golden := filepath.Join("testdata", "check", name+".golden")
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test -run TestCheckGolden -update to create it)", err)
			}
			if got != string(want) {
				t.Errorf("check output differs from %s:\ngot:\n%s\nwant:\n%s", golden, got, want)
			}
		})
	}
}
