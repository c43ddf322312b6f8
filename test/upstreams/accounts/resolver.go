package accounts

import (
	"context"
	"sort"
	"strconv"
	"sync"
)

// SubjectHeader carries the authenticated subject the gateway forwards; `me`
// answers the user with that id. The subgraph trusts it because only the
// gateway can reach it.
const SubjectHeader = "X-Portcullis-Subject"

// Resolver holds one in-memory user store, so every handler starts from the
// same deterministic data and tests do not see each other's mutations.
type Resolver struct {
	mu    sync.RWMutex
	users map[string]User
}

func newResolver() *Resolver {
	r := &Resolver{users: make(map[string]User, len(seedUsers))}
	for _, u := range seedUsers {
		r.users[u.ID] = u
	}
	return r
}

// seedUsers is the demo data; ids are the subjects the test issuer signs.
var seedUsers = []User{
	{ID: "1", Username: "alice", Email: "alice@example.com", Role: "admin"},
	{ID: "2", Username: "bob", Email: "bob@example.com", Role: "customer"},
	{ID: "3", Username: "carol", Email: "carol@example.com", Role: "customer"},
	{ID: "4", Username: "dave", Email: "dave@example.com", Role: "support"},
	{ID: "5", Username: "erin", Email: "erin@example.com", Role: "customer"},
}

// lookup returns a copy so callers never share the stored value.
func (r *Resolver) lookup(id string) *User {
	r.mu.RLock()
	defer r.mu.RUnlock()
	u, ok := r.users[id]
	if !ok {
		return nil
	}
	return &u
}

// list returns users ordered by numeric id, at most first of them.
func (r *Resolver) list(first int) []*User {
	r.mu.RLock()
	out := make([]*User, 0, len(r.users))
	for _, u := range r.users {
		out = append(out, &u)
	}
	r.mu.RUnlock()
	sort.Slice(out, func(i, j int) bool { return idLess(out[i].ID, out[j].ID) })
	if first < len(out) {
		out = out[:first]
	}
	return out
}

func (r *Resolver) update(id string, in UpdateUserInput) *User {
	r.mu.Lock()
	defer r.mu.Unlock()
	u, ok := r.users[id]
	if !ok {
		return nil
	}
	if in.Username != nil {
		u.Username = *in.Username
	}
	if in.Role != nil {
		u.Role = *in.Role
	}
	r.users[id] = u
	return &u
}

func idLess(a, b string) bool {
	na, errA := strconv.Atoi(a)
	nb, errB := strconv.Atoi(b)
	if errA == nil && errB == nil {
		return na < nb
	}
	return a < b
}

type subjectKey struct{}

func withSubject(ctx context.Context, subject string) context.Context {
	return context.WithValue(ctx, subjectKey{}, subject)
}

func subjectFrom(ctx context.Context) string {
	s, _ := ctx.Value(subjectKey{}).(string)
	return s
}
