package ratings

import "sync/atomic"

// Resolver holds a rating per media id; seq is shared with the other
// subgraphs' mutations.
type Resolver struct {
	seq     *atomic.Int64
	ratings map[string]int
}

func newResolver(seq *atomic.Int64) *Resolver {
	return &Resolver{seq: seq, ratings: map[string]int{"b1": 5, "b2": 4, "m1": 3}}
}
