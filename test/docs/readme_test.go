package docs

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/portcullis-gw/portcullis/internal/testkit/gatewaytest"
	"github.com/portcullis-gw/portcullis/test/upstreams"
)

// demoAddrs are the addresses configs/demo.yaml and the README use, and
// what the test puts in their place.
func demoConfig(t *testing.T, set *upstreams.Set) string {
	t.Helper()
	raw, err := os.ReadFile("../../configs/demo.yaml")
	if err != nil {
		t.Fatal(err)
	}
	cfg := string(raw)
	for from, to := range map[string]string{
		"listen: 127.0.0.1:8080":       "listen: 127.0.0.1:0",
		"admin_listen: 127.0.0.1:9090": "admin_listen: 127.0.0.1:0",
		"http://127.0.0.1:4002/query":  set.Products.Endpoint,
		"http://127.0.0.1:5000":        set.Orders.URL,
	} {
		if !strings.Contains(cfg, from) {
			t.Fatalf("configs/demo.yaml no longer contains %q; update this test with it", from)
		}
		cfg = strings.ReplaceAll(cfg, from, to)
	}
	return cfg
}

// shellWords splits a command line as sh would for the quoting the README
// uses: single and double quotes, no escapes inside single quotes.
func shellWords(line string) []string {
	var words []string
	var cur strings.Builder
	inWord := false
	for i := 0; i < len(line); i++ {
		c := line[i]
		switch {
		case c == '\'' || c == '"':
			j := strings.IndexByte(line[i+1:], c)
			if j < 0 {
				j = len(line) - i - 1
			}
			cur.WriteString(line[i+1 : i+1+j])
			i += j + 1
			inWord = true
		case c == ' ' || c == '\t':
			if inWord {
				words = append(words, cur.String())
				cur.Reset()
				inWord = false
			}
		default:
			cur.WriteByte(c)
			inWord = true
		}
	}
	if inWord {
		words = append(words, cur.String())
	}
	return words
}

var expectStatus = regexp.MustCompile(`#\s*(\d{3})(?:\s+([A-Z_]+))?`)

// TestReadmeCurls runs every curl of the README's demo section against the
// demo config, as a user pasting them would, and checks the status and code
// each line's comment promises (no comment: 200).
func TestReadmeCurls(t *testing.T) {
	raw, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, l := range strings.Split(string(raw), "\n") {
		if strings.HasPrefix(l, "curl ") {
			lines = append(lines, l)
		}
	}
	if len(lines) < 5 {
		t.Fatalf("found %d curl lines in README.md", len(lines))
	}
	set := upstreams.StartAll(t)
	gw := gatewaytest.Start(t, gatewaytest.WriteConfig(t, demoConfig(t, set)))
	for _, line := range lines {
		t.Run(line, func(t *testing.T) {
			cmd, comment, _ := strings.Cut(line, "#")
			cmd, grep, piped := strings.Cut(cmd, "|")
			words := shellWords(cmd)
			req, err := curlRequest(words, gw)
			if err != nil {
				t.Fatal(err)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			wantStatus, wantCode := 200, ""
			if m := expectStatus.FindStringSubmatch("#" + comment); comment != "" && m != nil {
				wantStatus, _ = strconv.Atoi(m[1])
				wantCode = m[2]
			}
			if resp.StatusCode != wantStatus {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, wantStatus, body)
			}
			if wantCode != "" && gatewaytest.FirstCode(t, body) != wantCode {
				t.Fatalf("code %q, want %s: %s", gatewaytest.FirstCode(t, body), wantCode, body)
			}
			if piped {
				g := shellWords(grep)
				if len(g) != 2 || g[0] != "grep" || !strings.Contains(string(body), g[1]) {
					t.Fatalf("%s finds nothing in:\n%.500s", grep, body)
				}
			}
			if wantStatus == 200 && strings.Contains(string(body), `"errors"`) {
				t.Fatalf("a 200 with errors: %s", body)
			}
		})
	}
}

// curlRequest turns curl's words into a request to the test's gateway.
func curlRequest(words []string, gw *gatewaytest.Gateway) (*http.Request, error) {
	var url, data string
	hasData := false
	headers := http.Header{}
	for i := 1; i < len(words); i++ {
		switch w := words[i]; w {
		case "-s", "-i", "-sS", "-fsS":
		case "-H":
			i++
			k, v, _ := strings.Cut(words[i], ":")
			headers.Add(strings.TrimSpace(k), strings.TrimSpace(v))
		case "-d":
			i++
			data, hasData = words[i], true
		default:
			if strings.HasPrefix(w, "-") {
				return nil, fmt.Errorf("curl flag %s is not understood by this test", w)
			}
			url = w
		}
	}
	url = strings.Replace(url, "http://127.0.0.1:8080", "http://"+gw.Addr(), 1)
	url = strings.Replace(url, "http://127.0.0.1:9090", "http://"+gw.AdminAddr(), 1)
	method := http.MethodGet
	var body io.Reader
	if hasData {
		method, body = http.MethodPost, strings.NewReader(data)
		if headers.Get("Content-Type") == "" {
			headers.Set("Content-Type", "application/x-www-form-urlencoded") // curl -d's default
		}
	}
	req, err := http.NewRequest(method, url, body)
	if err != nil {
		return nil, err
	}
	req.Header = headers
	return req, nil
}
