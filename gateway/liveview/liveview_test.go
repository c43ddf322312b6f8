package liveview

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

var t0 = time.Date(2026, 12, 3, 10, 0, 30, 0, time.UTC)

func TestStatsWindows(t *testing.T) {
	s := NewStats(3)
	s.now = func() time.Time { return t0 }
	rec := func(ago time.Duration, route, decision, code, subject string, cost int64) {
		s.Record(&Decision{Time: t0.Add(-ago), Route: route, Decision: decision, Code: code, Subject: subject, Cost: cost, RequestID: fmt.Sprint(ago)})
	}
	rec(0, "shop", "allow", "", "alice", 5)
	rec(time.Second, "shop", "deny", "RATE_LIMITED", "alice", 0)
	rec(20*time.Second, "shop", "deny", "FORBIDDEN", "bob", 0)
	rec(90*time.Second, "orders", "deny", "FORBIDDEN", "bob", 7) // outside the 60 s window
	rec(20*time.Minute, "orders", "deny", "OLD", "carol", 1)     // outside the 15 minutes
	snap := s.Snapshot([]string{"idle", "shop"})

	routes := map[string]RouteNow{}
	for _, r := range snap.Routes {
		routes[r.Name] = r
	}
	for _, c := range []struct {
		name                string
		requests, refusals  int64
		perSecond, refusing float64
	}{
		{"shop", 3, 2, 0.2, 0.1}, {"orders", 0, 0, 0, 0}, {"idle", 0, 0, 0, 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			r, ok := routes[c.name]
			if !ok {
				t.Fatalf("route %s missing from %v", c.name, snap.Routes)
			}
			if r.Requests != c.requests || r.Refusals != c.refusals || r.PerSecond != c.perSecond || r.RefusalsPerSecond != c.refusing {
				t.Errorf("%+v, want %+v", r, c)
			}
		})
	}
	codes := map[string]int64{}
	for _, c := range snap.Codes {
		codes[c.Code] = c.Total
		if len(c.Counts) != codeMinutes {
			t.Errorf("%s has %d minutes", c.Code, len(c.Counts))
		}
	}
	if codes["FORBIDDEN"] != 2 || codes["RATE_LIMITED"] != 1 || codes["OLD"] != 0 {
		t.Errorf("codes %v", codes)
	}
	if len(snap.Recent) != 3 || snap.Recent[0].RequestID != fmt.Sprint(20*time.Minute) {
		t.Errorf("recent (newest first, 3 kept) = %+v", snap.Recent)
	}
	if len(snap.TopSubjects) != 3 || snap.TopSubjects[0] != (Spender{"bob", 7, 1}) || snap.TopSubjects[1] != (Spender{"alice", 5, 1}) {
		t.Errorf("top subjects %+v", snap.TopSubjects)
	}
}

// TestStatsBounded: a flood of distinct subjects, codes and routes keeps
// every table at its bound, and a heavy spender survives it.
func TestStatsBounded(t *testing.T) {
	s := NewStats(10)
	s.now = func() time.Time { return t0 }
	s.Record(&Decision{Time: t0, Route: "r", Decision: "allow", Subject: "heavy", Cost: 1_000_000})
	for i := 0; i < 5000; i++ {
		s.Record(&Decision{Time: t0, Route: fmt.Sprint("route", i), Decision: "deny", Code: fmt.Sprint("CODE", i), Subject: fmt.Sprint("s", i), Cost: 1})
	}
	if len(s.routes) > maxRoutes || len(s.subjects) > maxSubjects || len(s.minutes[t0.Unix()/60%codeMinutes].codes) > maxCodes+1 {
		t.Errorf("routes %d subjects %d codes %d", len(s.routes), len(s.subjects), len(s.minutes[t0.Unix()/60%codeMinutes].codes))
	}
	snap := s.Snapshot(nil)
	if snap.TopSubjects[0].Subject != "heavy" {
		t.Errorf("heavy spender lost: %+v", snap.TopSubjects[0])
	}
	found := false
	for _, c := range snap.Codes {
		found = found || c.Code == "OTHER"
	}
	if !found {
		t.Error("codes past the bound are not counted as OTHER")
	}
}

func TestRequireToken(t *testing.T) {
	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusTeapot) })
	h := RequireToken("s3cret-admin", []string{"/healthz", "/readyz"}, ok)
	for _, c := range []struct {
		path, auth string
		want       int
	}{
		{"/healthz", "", http.StatusTeapot},
		{"/readyz", "", http.StatusTeapot},
		{"/", "", http.StatusUnauthorized},
		{"/metrics", "", http.StatusUnauthorized},
		{"/metrics", "Bearer s3cret-admin", http.StatusTeapot},
		{"/metrics", "bearer s3cret-admin", http.StatusTeapot},
		{"/metrics", "Bearer s3cret-admi", http.StatusUnauthorized},
		{"/metrics", "Bearer s3cret-admin ", http.StatusUnauthorized},
		{"/metrics", "Basic s3cret-admin", http.StatusUnauthorized},
		{"/metrics", "s3cret-admin", http.StatusUnauthorized},
		{"/healthz/", "", http.StatusUnauthorized},
		{"/live/snapshot.json", "", http.StatusUnauthorized},
	} {
		t.Run(c.path+" "+c.auth, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodGet, c.path, nil)
			if c.auth != "" {
				r.Header.Set("Authorization", c.auth)
			}
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			if w.Code != c.want {
				t.Errorf("%s with %q: %d, want %d", c.path, c.auth, w.Code, c.want)
			}
			if strings.Contains(w.Body.String(), "s3cret") {
				t.Error("the answer shows the token")
			}
		})
	}
	if RequireToken("", nil, ok) == nil {
		t.Error("no token: the handler itself")
	}
}

func TestConfig(t *testing.T) {
	c := Config{}.WithDefaults()
	if !*c.Enabled || c.Recent != DefaultRecent || len(c.Validate()) != 0 {
		t.Errorf("defaults %+v %v", c, c.Validate())
	}
	c.Recent, c.Refresh = 100000, time.Millisecond
	if errs := c.Validate(); len(errs) != 2 || !strings.HasPrefix(errs[0].Error(), "recent: ") || !strings.HasPrefix(errs[1].Error(), "refresh: ") {
		t.Errorf("errors %v", errs)
	}
}
