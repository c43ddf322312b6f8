package reviews

// Review is a stored review; author and product are references resolved on
// demand so the store stays flat.
type Review struct {
	ID         string `json:"id"`
	Body       string `json:"body"`
	AuthorID   string `json:"-"`
	ProductUPC string `json:"-"`
}

// User is the reviews subgraph's slice of the accounts User entity.
type User struct {
	ID string `json:"id"`
}

// IsEntity marks User as a federation entity.
func (User) IsEntity() {}

// Product is the reviews subgraph's slice of the products Product entity.
type Product struct {
	Upc string `json:"upc"`
}

// IsEntity marks Product as a federation entity.
func (Product) IsEntity() {}
