package main

import (
	"bytes"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"strings"
	"time"
)

// upstreamHandler answers like the GraphQL server of the fixture schema on
// /graphql (the answer chosen by the operation's name, so the large query
// gets its ~100 KB answer) and like the orders service under /api/. It reads
// the whole request body, as a real back end would.
func upstreamHandler(r replies) http.Handler {
	send := func(w http.ResponseWriter, b []byte) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(b)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/graphql", func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		switch {
		case bytes.Contains(body, []byte("query Large")):
			send(w, r.large)
		case bytes.Contains(body, []byte("query Small")):
			send(w, r.small)
		default:
			send(w, r.medium)
		}
	})
	mux.HandleFunc("/api/", func(w http.ResponseWriter, req *http.Request) {
		_, _ = io.Copy(io.Discard, req.Body)
		send(w, r.rest)
	})
	return mux
}

// replies are the upstream's answers, built once.
type replies struct{ small, medium, large, rest []byte }

func newReplies() replies {
	return replies{
		small:  mustJSON(map[string]any{"data": map[string]any{"book": map[string]any{"id": "b1", "title": "Dune", "author": map[string]any{"name": "Frank Herbert"}}}}),
		medium: mustJSON(map[string]any{"data": mediumData()}),
		large:  mustJSON(map[string]any{"data": largeData()}),
		rest:   []byte(`{"orders":[{"id":"o-1","total":1200},{"id":"o-2","total":450}]}`),
	}
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // only maps of strings and numbers: cannot fail
	}
	return b
}

// book is a synthetic book answering the fixture queries' selections,
// related to depth further books.
func book(n, depth int) map[string]any {
	b := map[string]any{
		"id":    fmt.Sprintf("b%d", n),
		"title": fmt.Sprintf("The book number %d, in its second edition", n),
		"author": map[string]any{
			"id": fmt.Sprintf("a%d", n%17), "name": fmt.Sprintf("Author %d", n%17),
			"email": fmt.Sprintf("author%d@example.com", n%17),
			"books": []any{
				map[string]any{"id": "b100", "title": "An earlier one", "publisher": map[string]any{"name": "Ace"}},
				map[string]any{"id": "b101", "title": "A later one", "publisher": map[string]any{"name": "Ace"}},
				map[string]any{"id": "b102", "title": "The last one", "publisher": map[string]any{"name": "Gollancz"}},
			},
		},
		"publisher": map[string]any{"name": "Chilton Books", "address": map[string]any{"zipCode": 19106 + n}},
	}
	if depth > 0 {
		related := make([]any, 0, 3)
		for i := range 3 {
			related = append(related, book(n*4+i+1, depth-1))
		}
		b["related"] = related
	}
	return b
}

func books(from, count, depth int) []any {
	out := make([]any, 0, count)
	for i := range count {
		out = append(out, book(from+i, depth))
	}
	return out
}

func mediumData() map[string]any {
	return map[string]any{
		"newestAdditions": books(1, 2, 0),
		"bestsellers":     books(10, 2, 0),
		"book":            book(20, 0),
		"me":              map[string]any{"name": "Reader", "email": "reader@example.com"},
		"search":          books(40, 1, 0),
		"bookConnection":  map[string]any{"total": 4, "edges": []any{}},
		"node":            map[string]any{"id": "x", "title": "Node"},
		"thing":           map[string]any{"id": "t", "title": "Thing"},
		"shelf":           books(60, 1, 0),
	}
}

// largeData answers the large query's 24 aliased root fields, ~100 KB.
func largeData() map[string]any {
	d := map[string]any{}
	for i := range 24 {
		name := fmt.Sprintf("r%02d", i)
		if i%4 == 1 {
			d[name] = book(i*10, 1)
			continue
		}
		d[name] = books(i*10, 3, 1)
	}
	return d
}

// issuer is the benchmark's OIDC issuer: an RSA key, its JWKS over HTTP
// (the gateway's config names jwks_url, so discovery is not needed) and
// RS256 tokens signed with it.
type issuer struct {
	url string
	key *rsa.PrivateKey
}

const issuerKid = "corebench-1"

func newIssuer() (*issuer, error) {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, fmt.Errorf("generating the issuer's key: %w", err)
	}
	return &issuer{key: k}, nil
}

func (is *issuer) handler() http.Handler {
	b64 := base64.RawURLEncoding.EncodeToString
	jwks := mustJSON(map[string]any{"keys": []any{map[string]any{
		"kty": "RSA", "kid": issuerKid, "alg": "RS256", "use": "sig",
		"n": b64(is.key.N.Bytes()), "e": b64(big.NewInt(int64(is.key.E)).Bytes()),
	}}})
	mux := http.NewServeMux()
	mux.HandleFunc("/jwks", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(jwks)
	})
	return mux
}

// token is an RS256 JWT for subject with the space-separated scopes, valid
// for the next two hours.
func (is *issuer) token(subject string, scopes ...string) (string, error) {
	b64 := base64.RawURLEncoding.EncodeToString
	now := time.Now()
	header := mustJSON(map[string]any{"alg": "RS256", "typ": "JWT", "kid": issuerKid})
	claims := mustJSON(map[string]any{
		"iss": is.url, "sub": subject, "aud": "corebench", "iat": now.Unix(), "exp": now.Add(2 * time.Hour).Unix(),
		"scope": strings.Join(scopes, " "), "plan": "bench",
	})
	signing := b64(header) + "." + b64(claims)
	sum := sha256.Sum256([]byte(signing))
	sig, err := rsa.SignPKCS1v15(rand.Reader, is.key, crypto.SHA256, sum[:])
	if err != nil {
		return "", fmt.Errorf("signing a token: %w", err)
	}
	return signing + "." + b64(sig), nil
}
