package products

import "errors"

// Resolver serves a fixed catalogue; nothing mutates it, so handlers can
// share it without locking.
type Resolver struct {
	products []Product // in "top" order
}

func newResolver() *Resolver { return &Resolver{products: seedProducts} }

// seedProducts' upcs are the ones the reviews subgraph references.
var seedProducts = []Product{
	{Upc: "1", Name: "Table", Price: 899, InStock: true},
	{Upc: "2", Name: "Couch", Price: 1299, InStock: false},
	{Upc: "3", Name: "Chair", Price: 54, InStock: true},
	{Upc: "4", Name: "Lamp", Price: 35, InStock: true},
	{Upc: "5", Name: "Rug", Price: 120, InStock: true},
	{Upc: "6", Name: "Desk", Price: 450, InStock: false},
}

var errNegativeFirst = errors.New("first must not be negative")

func (r *Resolver) lookup(upc string) *Product {
	for _, p := range r.products {
		if p.Upc == upc {
			return &p
		}
	}
	return nil
}

func (r *Resolver) top(first int) []*Product {
	n := min(first, len(r.products))
	out := make([]*Product, 0, n)
	for _, p := range r.products[:n] {
		out = append(out, &p)
	}
	return out
}
