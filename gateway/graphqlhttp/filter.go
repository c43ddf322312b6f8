package graphqlhttp

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/portcullis-gw/portcullis/policy/authz"
)

// filterPlan is what filter-mode authorization changed in a request: the
// entries to rewrite going out, and how to complete the answer coming back.
type filterPlan struct {
	az    *authz.GraphQLAuthorizer
	batch bool
	// decisions has one entry per request entry; nil means unchanged.
	decisions []*authz.Decision
}

func (p *filterPlan) allEmpty() bool {
	for _, d := range p.decisions {
		if d == nil || !d.Empty {
			return false
		}
	}
	return true
}

// answerWithoutUpstream answers a request whose every entry was emptied.
func (p *filterPlan) answerWithoutUpstream() []byte {
	parts := make([]json.RawMessage, len(p.decisions))
	for i, d := range p.decisions {
		parts[i], _ = p.az.MergeFiltered(d, nil)
	}
	if !p.batch {
		return parts[0]
	}
	b, _ := json.Marshal(parts)
	return b
}

// merge completes the upstream's answer: nulls and errors for removed
// fields, and the answers of emptied batch entries put back in place.
func (p *filterPlan) merge(body []byte) ([]byte, error) {
	if !p.batch {
		return p.az.MergeFiltered(p.decisions[0], body)
	}
	var got []json.RawMessage
	if err := json.Unmarshal(body, &got); err != nil {
		return nil, fmt.Errorf("decoding upstream batch answer: %w", err)
	}
	out := make([]json.RawMessage, len(p.decisions))
	next := 0
	for i, d := range p.decisions {
		if d != nil && d.Empty {
			out[i], _ = p.az.MergeFiltered(d, nil)
			continue
		}
		if next >= len(got) {
			return nil, errors.New("upstream batch answer has fewer entries than sent")
		}
		item := got[next]
		next++
		if d == nil {
			out[i] = item
			continue
		}
		m, err := p.az.MergeFiltered(d, item)
		if err != nil {
			return nil, err
		}
		out[i] = m
	}
	return json.Marshal(out)
}
