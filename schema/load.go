package schema

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"time"
)

// defaultFetchTimeout bounds a `_service { sdl }` fetch without a timeout.
const defaultFetchTimeout = 10 * time.Second

// maxFetchedSDL caps a fetched SDL response so a broken subgraph cannot
// exhaust memory.
const maxFetchedSDL = 16 << 20

// Load reads a GraphQL route's schema: the supergraph (or plain) SDL file,
// or every subgraph (from file or from its running service) composed.
func Load(ctx context.Context, cfg Config) (g *Graph, err error) {
	defer func() {
		if r := recover(); r != nil {
			g, err = nil, fmt.Errorf("loading schema: internal error: %v", r)
		}
	}()
	switch {
	case cfg.Supergraph != "" && len(cfg.Subgraphs) > 0:
		return nil, errors.New("loading schema: set either supergraph or subgraphs, not both")
	case cfg.Supergraph != "":
		b, err := os.ReadFile(cfg.Supergraph)
		if err != nil {
			return nil, fmt.Errorf("loading supergraph %q: %w", cfg.Supergraph, err)
		}
		return ParseSDL(cfg.Supergraph, string(b))
	case len(cfg.Subgraphs) == 0:
		return nil, errors.New("loading schema: no supergraph and no subgraphs configured")
	}
	sdls := make([]SubgraphSDL, 0, len(cfg.Subgraphs))
	for _, s := range cfg.Subgraphs {
		var sdl string
		switch {
		case s.File != "" && s.URL != "" && !cfg.Federated:
			return nil, fmt.Errorf("loading subgraph %q: set either file or url, not both", s.Name)
		case s.File != "":
			// With both (federated execution), url is the routing URL.
			b, err := os.ReadFile(s.File)
			if err != nil {
				return nil, fmt.Errorf("loading subgraph %q: %w", s.Name, err)
			}
			sdl = string(b)
		case s.URL != "":
			sdl, err = FetchSDL(ctx, s.URL, s.Timeout)
			if err != nil {
				return nil, fmt.Errorf("loading subgraph %q from %s: %w", s.Name, s.URL, err)
			}
		default:
			return nil, fmt.Errorf("loading subgraph %q: neither file nor url set", s.Name)
		}
		sdls = append(sdls, SubgraphSDL{Name: s.Name, URL: s.URL, SDL: sdl})
	}
	g, err = Compose(sdls)
	if err != nil {
		return nil, fmt.Errorf("composing subgraphs: %w", err)
	}
	return g, nil
}

// FetchSDL asks a running subgraph for its SDL with `{ _service { sdl } }`
// (Apollo subgraph specification) over HTTP POST.
func FetchSDL(ctx context.Context, url string, timeout time.Duration) (string, error) {
	if timeout <= 0 {
		timeout = defaultFetchTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	body := []byte(`{"query":"query __ApolloGetServiceDefinition__ { _service { sdl } }"}`)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return "", fmt.Errorf("building request: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/graphql-response+json, application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", fmt.Errorf("fetching _service { sdl }: %w", err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxFetchedSDL+1))
	if err != nil {
		return "", fmt.Errorf("reading _service { sdl } response: %w", err)
	}
	if len(raw) > maxFetchedSDL {
		return "", fmt.Errorf("reading _service { sdl } response: larger than %d bytes", maxFetchedSDL)
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("fetching _service { sdl }: HTTP status %d", resp.StatusCode)
	}
	var out struct {
		Data *struct {
			Service *struct {
				SDL *string `json:"sdl"`
			} `json:"_service"`
		} `json:"data"`
		Errors []struct {
			Message string `json:"message"`
		} `json:"errors"`
	}
	if err := json.Unmarshal(raw, &out); err != nil {
		return "", fmt.Errorf("decoding _service { sdl } response: %w", err)
	}
	if len(out.Errors) > 0 {
		return "", fmt.Errorf("fetching _service { sdl }: subgraph answered with an error: %s", out.Errors[0].Message)
	}
	if out.Data == nil || out.Data.Service == nil || out.Data.Service.SDL == nil {
		return "", errors.New("fetching _service { sdl }: response has no data._service.sdl")
	}
	return *out.Data.Service.SDL, nil
}
