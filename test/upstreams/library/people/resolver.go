package people

// Resolver is stateless: authors are fixed.
type Resolver struct{}

func newResolver() *Resolver { return &Resolver{} }

func authors() []*Author {
	return []*Author{
		{ID: "a1", Name: "Frank Herbert", Favorite: &Book{ID: "b2"}},
		{ID: "a2", Name: "Isaac Asimov", Favorite: &Book{ID: "b1"}},
	}
}
