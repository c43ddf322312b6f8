package config

import (
	"strings"
	"testing"
)

func TestSuggest(t *testing.T) {
	keys := []string{"listen", "admin_listen", "max_body_bytes", "tls", "trusted_proxies", "upstream", "url"}
	cases := []struct{ word, want string }{
		{"listn", "listen"},
		{"admin_listn", "admin_listen"},
		{"Listen", "listen"},
		{"trusted_proxy", "trusted_proxies"},
		{"upstrem", "upstream"},
		{"tsl", "tls"},
		{"uri", "url"},
		{"zzzzzz", ""},
		{"x", ""},
		{"max_body", ""},
	}
	for _, c := range cases {
		t.Run(c.word, func(t *testing.T) {
			if got := Suggest(c.word, keys); got != c.want {
				t.Errorf("Suggest(%q) = %q, want %q", c.word, got, c.want)
			}
		})
	}
}

func TestUnknownKeySuggestsClosest(t *testing.T) {
	probs := strings.Join(problemsOf(t, "server:\n  listn: 127.0.0.1:8080\n  shutdown_grase: 5s\n  zzzz: 1\n"), "\n")
	want := []string{
		`server.listn: unknown key; did you mean "listen"? (line 2)`,
		`server.shutdown_grase: unknown key; did you mean "shutdown_grace"? (line 3)`,
		`server.zzzz: unknown key (line 4)`,
	}
	for _, w := range want {
		if !strings.Contains(probs, w) {
			t.Errorf("problems lack %q:\n%s", w, probs)
		}
	}
}
