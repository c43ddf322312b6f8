package golden

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

// recordTB records failures instead of failing the real test.
type recordTB struct {
	testing.TB
	failed string
}

func (r *recordTB) Errorf(format string, args ...any) { r.failed = fmt.Sprintf(format, args...) }
func (r *recordTB) Fatalf(format string, args ...any) {
	r.failed = fmt.Sprintf(format, args...)
	runtime.Goexit()
}

func check(t *testing.T, path string, got []byte) string {
	r := &recordTB{TB: t}
	done := make(chan struct{})
	go func() { defer close(done); Check(r, path, got) }()
	<-done
	return r.failed
}

func TestCheck(t *testing.T) {
	path := filepath.Join(t.TempDir(), "out.golden")
	if msg := check(t, path, []byte("a")); msg == "" {
		t.Error("a missing golden file passed")
	}
	if err := os.WriteFile(path, []byte("a\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if msg := check(t, path, []byte("a\n")); msg != "" {
		t.Errorf("equal output failed: %s", msg)
	}
	if msg := check(t, path, []byte("b\n")); msg == "" {
		t.Error("different output passed")
	}
}
