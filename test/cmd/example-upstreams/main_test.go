package main

import (
	"bufio"
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"regexp"
	"strings"
	"testing"
)

var urlField = regexp.MustCompile(`service=(\w+) url=(\S+)`)

func TestRunServesEveryServiceAndStopsOnCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pr, pw := io.Pipe()
	logger := slog.New(slog.NewTextHandler(pw, nil))
	args := []string{"-accounts", "127.0.0.1:0", "-products", "127.0.0.1:0", "-reviews", "127.0.0.1:0", "-orders", "127.0.0.1:0"}

	done := make(chan error, 1)
	go func() { done <- run(ctx, args, logger); _ = pw.Close() }()

	urls := map[string]string{}
	lines := bufio.NewScanner(pr)
	for len(urls) < 4 && lines.Scan() {
		if m := urlField.FindStringSubmatch(lines.Text()); m != nil {
			urls[m[1]] = m[2]
		}
	}
	go func() { _, _ = io.Copy(io.Discard, pr) }()

	for _, tc := range []struct {
		service, method, path, body string
	}{
		{"accounts", http.MethodPost, "", `{"query":"{ user(id: \"1\") { username } }"}`},
		{"products", http.MethodPost, "", `{"query":"{ product(upc: \"1\") { name } }"}`},
		{"reviews", http.MethodPost, "", `{"query":"{ latestReviews { id } }"}`},
		{"orders", http.MethodGet, "/orders/1", ""},
	} {
		t.Run(tc.service, func(t *testing.T) {
			u, ok := urls[tc.service]
			if !ok {
				t.Fatalf("no url logged for %s; got %v", tc.service, urls)
			}
			if !strings.HasPrefix(u, "http://127.0.0.1:") {
				t.Fatalf("url %q is not on 127.0.0.1", u)
			}
			req, err := http.NewRequest(tc.method, u+tc.path, strings.NewReader(tc.body))
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Content-Type", "application/json")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			_ = resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("status %d, want 200", resp.StatusCode)
			}
		})
	}

	cancel()
	if err := <-done; err != nil {
		t.Fatalf("run returned %v after cancel, want nil", err)
	}
}

func TestRunFailsWhenAPortIsTaken(t *testing.T) {
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	args := []string{"-accounts", "127.0.0.1:0", "-products", "127.0.0.1:0", "-reviews", "127.0.0.1:0", "-orders", taken.Addr().String()}
	err = run(context.Background(), args, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err == nil || !strings.Contains(err.Error(), "listening for orders") {
		t.Fatalf("run = %v, want a listening error for orders", err)
	}
}
