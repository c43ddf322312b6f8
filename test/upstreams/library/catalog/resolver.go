package catalog

import (
	"fmt"
	"sync/atomic"
)

// Resolver serves a fixed catalogue. seq is shared with the other
// subgraphs' mutations, so a test can tell the order they ran in.
type Resolver struct {
	seq    *atomic.Int64
	books  []*Book
	movies []*Movie
}

func newResolver(seq *atomic.Int64) *Resolver {
	code := "INTERNAL-7"
	return &Resolver{seq: seq,
		books: []*Book{
			{ID: "b1", Isbn: "978-0441172719", Title: "Dune", Pages: 412, InternalCode: &code},
			{ID: "b2", Isbn: "978-0553293357", Title: "Foundation", Pages: 255},
		},
		movies: []*Movie{{ID: "m1", Title: "Dune (film)", Minutes: 155}},
	}
}

func (r *Resolver) book(match func(*Book) bool, what string) (*Book, error) {
	for _, b := range r.books {
		if match(b) {
			return b, nil
		}
	}
	return nil, fmt.Errorf("no book with %s", what)
}
