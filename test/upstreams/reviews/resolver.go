package reviews

import "errors"

// Resolver serves a fixed review set; nothing mutates it, so handlers can
// share it without locking.
type Resolver struct {
	reviews []Review // oldest first
	secrets map[string]string
}

func newResolver() *Resolver {
	return &Resolver{reviews: seedReviews, secrets: seedSecretNotes}
}

// seedReviews references accounts user ids and products upcs, so federated
// queries join across the three subgraphs.
var seedReviews = []Review{
	{ID: "r1", Body: "Love it!", AuthorID: "1", ProductUPC: "1"},
	{ID: "r2", Body: "Too expensive.", AuthorID: "2", ProductUPC: "1"},
	{ID: "r3", Body: "Could be better.", AuthorID: "3", ProductUPC: "2"},
	{ID: "r4", Body: "Prefer something else.", AuthorID: "1", ProductUPC: "3"},
	{ID: "r5", Body: "Bright enough.", AuthorID: "2", ProductUPC: "4"},
	{ID: "r6", Body: "Soft and warm.", AuthorID: "5", ProductUPC: "5"},
	{ID: "r7", Body: "Sturdy.", AuthorID: "3", ProductUPC: "1"},
}

var seedSecretNotes = map[string]string{
	"1": "supplier discount 12%",
	"2": "recall pending for batch 7",
}

var errNegativeFirst = errors.New("first must not be negative")

func (r *Resolver) where(keep func(Review) bool) []*Review {
	out := make([]*Review, 0)
	for _, rv := range r.reviews {
		if keep(rv) {
			out = append(out, &rv)
		}
	}
	return out
}

// latest returns the newest first reviews, newest first.
func (r *Resolver) latest(first int) []*Review {
	n := min(first, len(r.reviews))
	out := make([]*Review, 0, n)
	for i := len(r.reviews) - 1; i >= 0 && len(out) < n; i-- {
		rv := r.reviews[i]
		out = append(out, &rv)
	}
	return out
}
