// Package orders is the demo's REST orders service: a plain net/http handler
// that implements the OpenAPI 3.1 document it embeds.
package orders

import (
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"regexp"
	"sort"
	"strconv"
	"sync"
	"time"
)

//go:embed openapi.yaml
var spec []byte

// Spec returns the service's OpenAPI 3.1 document (a copy; callers may keep it).
func Spec() []byte { return append([]byte(nil), spec...) }

// BasePath is the document's servers base path; every route lives under it.
const BasePath = "/v1"

// maxBody caps what the service reads of a request body; the gateway's own
// cap is lower, this only keeps a direct caller from exhausting memory.
const maxBody = 1 << 20

// Order is the document's Order schema.
type Order struct {
	ID        int64     `json:"id"`
	UserID    string    `json:"userId"`
	Status    string    `json:"status"`
	Items     []Item    `json:"items"`
	Total     int64     `json:"total"`
	Note      *string   `json:"note"`
	CreatedAt time.Time `json:"createdAt"`
}

// Item is the document's Item schema.
type Item struct {
	SKU       string `json:"sku"`
	Quantity  int64  `json:"quantity"`
	UnitPrice int64  `json:"unitPrice"`
}

// NewOrder is the document's NewOrder schema (the createOrder body).
type NewOrder struct {
	UserID string  `json:"userId"`
	Items  []Item  `json:"items"`
	Note   *string `json:"note"`
}

// OrderList is the document's OrderList schema.
type OrderList struct {
	Orders []Order `json:"orders"`
	Count  int     `json:"count"`
}

var statuses = map[string]bool{"pending": true, "paid": true, "shipped": true, "cancelled": true}

var userIDPattern = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

var idempotencyKeyPattern = regexp.MustCompile(`^[A-Za-z0-9-]{1,64}$`)

// seedOrders belong to the accounts subgraph's users and use its products' upcs as skus.
func seedOrders() []Order {
	at := func(day int) time.Time { return time.Date(2025, time.March, day, 10, 0, 0, 0, time.UTC) }
	note := func(s string) *string { return &s }
	return []Order{
		{ID: 1, UserID: "1", Status: "shipped", Items: []Item{{SKU: "1", Quantity: 1, UnitPrice: 899}}, Note: note("leave at the door"), CreatedAt: at(1)},
		{ID: 2, UserID: "2", Status: "paid", Items: []Item{{SKU: "3", Quantity: 4, UnitPrice: 54}}, CreatedAt: at(2)},
		{ID: 3, UserID: "2", Status: "pending", Items: []Item{{SKU: "4", Quantity: 2, UnitPrice: 35}, {SKU: "5", Quantity: 1, UnitPrice: 120}}, CreatedAt: at(3)},
		{ID: 4, UserID: "3", Status: "cancelled", Items: []Item{{SKU: "2", Quantity: 1, UnitPrice: 1299}}, Note: note("changed my mind"), CreatedAt: at(4)},
		{ID: 5, UserID: "1", Status: "pending", Items: []Item{{SKU: "6", Quantity: 1, UnitPrice: 450}}, CreatedAt: at(5)},
	}
}

type store struct {
	mu          sync.Mutex
	orders      map[int64]Order
	nextID      int64
	idempotency map[string]int64
	now         func() time.Time
}

// NewHandler serves the document's operations under /v1 with fresh in-memory data.
func NewHandler() http.Handler {
	return newHandler(func() time.Time { return time.Now().UTC().Truncate(time.Second) })
}

func newHandler(now func() time.Time) http.Handler {
	s := &store{orders: map[int64]Order{}, idempotency: map[string]int64{}, now: now}
	for _, o := range seedOrders() {
		o.Total = total(o.Items)
		s.orders[o.ID] = o
		s.nextID = max(s.nextID, o.ID)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+BasePath+"/orders", s.listOrders)
	mux.HandleFunc("POST "+BasePath+"/orders", s.createOrder)
	mux.HandleFunc("GET "+BasePath+"/orders/{id}", s.getOrder)
	mux.HandleFunc("DELETE "+BasePath+"/orders/{id}", s.deleteOrder)
	mux.HandleFunc("GET "+BasePath+"/users/{id}/orders", s.listUserOrders)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeProblem(w, http.StatusNotFound, "no such resource")
	})
	return mux
}

func total(items []Item) int64 {
	var sum int64
	for _, it := range items {
		sum += it.Quantity * it.UnitPrice
	}
	return sum
}

func (s *store) listOrders(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	limit := 20
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 100 {
			writeProblem(w, http.StatusBadRequest, "limit must be an integer from 1 to 100")
			return
		}
		limit = n
	}
	status := q.Get("status")
	if status != "" && !statuses[status] {
		writeProblem(w, http.StatusBadRequest, "status must be one of pending, paid, shipped, cancelled")
		return
	}
	writeJSON(w, http.StatusOK, s.list(limit, func(o Order) bool { return status == "" || o.Status == status }))
}

func (s *store) listUserOrders(w http.ResponseWriter, r *http.Request) {
	user := r.PathValue("id")
	if !userIDPattern.MatchString(user) {
		writeProblem(w, http.StatusBadRequest, "id must match ^[A-Za-z0-9_-]+$")
		return
	}
	writeJSON(w, http.StatusOK, s.list(-1, func(o Order) bool { return o.UserID == user }))
}

// list returns matching orders newest first; limit < 0 means all.
func (s *store) list(limit int, keep func(Order) bool) OrderList {
	s.mu.Lock()
	out := make([]Order, 0, len(s.orders))
	for _, o := range s.orders {
		if keep(o) {
			out = append(out, o)
		}
	}
	s.mu.Unlock()
	sort.Slice(out, func(i, j int) bool { return out[i].ID > out[j].ID })
	if limit >= 0 && len(out) > limit {
		out = out[:limit]
	}
	return OrderList{Orders: out, Count: len(out)}
}

func (s *store) getOrder(w http.ResponseWriter, r *http.Request) {
	id, ok := orderID(w, r)
	if !ok {
		return
	}
	s.mu.Lock()
	o, found := s.orders[id]
	s.mu.Unlock()
	if !found {
		writeProblem(w, http.StatusNotFound, fmt.Sprintf("order %d not found", id))
		return
	}
	writeJSON(w, http.StatusOK, o)
}

func (s *store) deleteOrder(w http.ResponseWriter, r *http.Request) {
	id, ok := orderID(w, r)
	if !ok {
		return
	}
	s.mu.Lock()
	_, found := s.orders[id]
	delete(s.orders, id)
	s.mu.Unlock()
	if !found {
		writeProblem(w, http.StatusNotFound, fmt.Sprintf("order %d not found", id))
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *store) createOrder(w http.ResponseWriter, r *http.Request) {
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
		writeProblem(w, http.StatusUnsupportedMediaType, "the body must be application/json")
		return
	}
	key := r.Header.Get("Idempotency-Key")
	if key != "" && !idempotencyKeyPattern.MatchString(key) {
		writeProblem(w, http.StatusBadRequest, "Idempotency-Key must match ^[A-Za-z0-9-]{1,64}$")
		return
	}
	in, err := decodeNewOrder(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		writeProblem(w, http.StatusBadRequest, err.Error())
		return
	}

	s.mu.Lock()
	// A retried request with the same key gets the order it already placed.
	if prev, seen := s.idempotency[key]; key != "" && seen {
		if o, ok := s.orders[prev]; ok {
			s.mu.Unlock()
			writeCreated(w, o)
			return
		}
	}
	s.nextID++
	o := Order{ID: s.nextID, UserID: in.UserID, Status: "pending", Items: in.Items, Total: total(in.Items), Note: in.Note, CreatedAt: s.now()}
	s.orders[o.ID] = o
	if key != "" {
		s.idempotency[key] = o.ID
	}
	s.mu.Unlock()
	writeCreated(w, o)
}

func writeCreated(w http.ResponseWriter, o Order) {
	w.Header().Set("Location", BasePath+"/orders/"+strconv.FormatInt(o.ID, 10))
	writeJSON(w, http.StatusCreated, o)
}

// decodeNewOrder applies the NewOrder schema: unknown fields are refused
// (additionalProperties: false) and every constraint is checked.
func decodeNewOrder(body io.Reader) (NewOrder, error) {
	var in NewOrder
	dec := json.NewDecoder(body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&in); err != nil {
		return NewOrder{}, fmt.Errorf("decoding body: %w", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return NewOrder{}, errors.New("decoding body: trailing data after the JSON object")
	}
	if !userIDPattern.MatchString(in.UserID) {
		return NewOrder{}, errors.New("userId is required and must match ^[A-Za-z0-9_-]{1,64}$")
	}
	if len(in.Items) < 1 || len(in.Items) > 50 {
		return NewOrder{}, errors.New("items must hold 1 to 50 items")
	}
	for i, it := range in.Items {
		switch {
		case it.SKU == "" || len(it.SKU) > 32:
			return NewOrder{}, fmt.Errorf("items[%d].sku must be 1 to 32 characters", i)
		case it.Quantity < 1 || it.Quantity > 1000:
			return NewOrder{}, fmt.Errorf("items[%d].quantity must be from 1 to 1000", i)
		case it.UnitPrice < 0 || it.UnitPrice > 1e9:
			return NewOrder{}, fmt.Errorf("items[%d].unitPrice must be from 0 to 1000000000", i)
		}
	}
	if in.Note != nil && len([]rune(*in.Note)) > 500 {
		return NewOrder{}, errors.New("note must be at most 500 characters")
	}
	return in, nil
}

func orderID(w http.ResponseWriter, r *http.Request) (int64, bool) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id < 1 {
		writeProblem(w, http.StatusBadRequest, "id must be a positive integer")
		return 0, false
	}
	return id, true
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// writeProblem answers with RFC 9457 problem details, the document's Problem schema.
func writeProblem(w http.ResponseWriter, status int, detail string) {
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{
		"type":   "about:blank",
		"title":  http.StatusText(status),
		"status": status,
		"detail": detail,
	})
}
