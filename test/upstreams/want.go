package upstreams

import (
	"strings"
	"testing"
)

// WantUntouched fails if any upstream received a request since the last
// reset: a refusal must reach no upstream.
func (s *Set) WantUntouched(t testing.TB) {
	t.Helper()
	for _, svc := range s.All() {
		if n := svc.Recorder.Count(); n != 0 {
			t.Fatalf("%s received %d requests; a refusal must reach no upstream", svc.Name, n)
		}
	}
}

// WantForwarded asserts the service got exactly n requests, the last one
// carrying substr (a query, or a path).
func (svc *Service) WantForwarded(t testing.TB, n int, substr string) {
	t.Helper()
	reqs := svc.Recorder.Requests()
	if len(reqs) != n {
		t.Fatalf("%s received %d requests, want %d", svc.Name, len(reqs), n)
	}
	if n == 0 {
		return
	}
	last := reqs[n-1]
	if !strings.Contains(last.Path+" "+string(last.Body), substr) {
		t.Fatalf("%s received %s %s, want %q in it", svc.Name, last.Path, last.Body, substr)
	}
}
