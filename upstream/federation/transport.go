package federation

import (
	"errors"
	"fmt"
	"io"
	"net/http"
)

// limitTransport bounds each subgraph answer: the engine reads a whole
// answer into memory, so a subgraph that streams without end must fail the
// fetch instead of exhausting the gateway.
type limitTransport struct {
	next  http.RoundTripper
	limit int64
}

func transportOf(c *http.Client) http.RoundTripper {
	if c.Transport != nil {
		return c.Transport
	}
	return http.DefaultTransport
}

func (t *limitTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := t.next.RoundTrip(r)
	if err != nil {
		return nil, err
	}
	if resp.ContentLength > t.limit {
		resp.Body.Close()
		return nil, fmt.Errorf("subgraph answer of %d bytes is over the %d-byte limit", resp.ContentLength, t.limit)
	}
	resp.Body = &limitedBody{r: resp.Body, left: t.limit}
	return resp, nil
}

var errTooLarge = errors.New("subgraph answer is over the size limit")

type limitedBody struct {
	r    io.ReadCloser
	left int64
}

func (b *limitedBody) Read(p []byte) (int, error) {
	if b.left <= 0 {
		// One byte past the limit tells a full answer from a cut one.
		var one [1]byte
		if n, _ := b.r.Read(one[:]); n > 0 {
			return 0, errTooLarge
		}
		return 0, io.EOF
	}
	if int64(len(p)) > b.left {
		p = p[:b.left]
	}
	n, err := b.r.Read(p)
	b.left -= int64(n)
	return n, err
}

func (b *limitedBody) Close() error { return b.r.Close() }
