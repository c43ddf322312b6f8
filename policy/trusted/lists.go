package trusted

import (
	"fmt"
	"maps"
	"slices"
)

// Lists are a route's trusted documents: the shared list and each client's
// own. They are built once at load (and again on reload).
type Lists struct {
	shared  *List
	clients map[string]*List
}

// LoadLists reads every manifest of c. Mode off and allow_apq have none.
func LoadLists(c Config) (*Lists, error) {
	ls := &Lists{clients: make(map[string]*List, len(c.Clients))}
	var shared []string
	if c.Manifest != "" {
		shared = append(shared, c.Manifest)
	}
	shared = append(shared, c.Manifests...)
	var err error
	if ls.shared, err = Load(shared...); err != nil {
		return nil, err
	}
	for _, name := range slices.Sorted(maps.Keys(c.Clients)) {
		l, err := Load(c.Clients[name])
		if err != nil {
			return nil, fmt.Errorf("client %s: %w", name, err)
		}
		ls.clients[name] = l
	}
	return ls, nil
}

// For is the list a request from client is checked against: the client's
// own list when it has one, else the shared list. The client name comes
// from a request header, so it picks a list but proves nothing: every list
// is open to every caller (docs/governance.md).
func (ls *Lists) For(client string) *List {
	if ls == nil {
		return nil
	}
	if l, ok := ls.clients[client]; ok {
		return l
	}
	return ls.shared
}

// Len is the number of documents in every list.
func (ls *Lists) Len() int {
	if ls == nil {
		return 0
	}
	n := ls.shared.Len()
	for _, l := range ls.clients {
		n += l.Len()
	}
	return n
}
