// Package liveview is the admin port's live page: requests and refusals
// per route now, refusals by code over the last minutes, the latest
// decisions, the subjects that spent the most cost, and the health of what
// the gateway depends on. Server-rendered HTML refreshed by polling a JSON
// snapshot; no external assets (docs/monitoring.md).
package liveview

import (
	"sort"
	"sync"
	"time"

	"github.com/portcullis-gw/portcullis/keypath"
)

// Config is the live_view section.
type Config struct {
	// Enabled serves the page at / on the admin port (default true).
	Enabled *bool `yaml:"enabled"`
	// Recent is how many of the latest decisions the page lists.
	Recent int `yaml:"recent"`
	// Refresh is how often the page polls.
	Refresh time.Duration `yaml:"refresh"`
}

// Bounds on what the view holds, whatever the traffic.
const (
	DefaultRecent  = 50
	DefaultRefresh = 2 * time.Second
	maxRecent      = 500
	codeMinutes    = 15
	maxCodes       = 64
	maxRoutes      = 256
	maxSubjects    = 200
	topSubjects    = 10
	secondsKept    = 60
)

// WithDefaults fills every zero value.
func (c Config) WithDefaults() Config {
	if c.Enabled == nil {
		on := true
		c.Enabled = &on
	}
	if c.Recent == 0 {
		c.Recent = DefaultRecent
	}
	if c.Refresh == 0 {
		c.Refresh = DefaultRefresh
	}
	return c
}

// Validate reports every problem, with key paths relative to live_view.
func (c Config) Validate() keypath.Problems {
	var ps keypath.Problems
	if c.Recent < 1 || c.Recent > maxRecent {
		ps.Addf(keypath.Key("recent"), "must be 1-%d", maxRecent)
	}
	if c.Refresh < 100*time.Millisecond {
		ps.Addf(keypath.Key("refresh"), "must be at least 100ms")
	}
	return ps
}

// Decision is one request's outcome as the page shows it. It holds no
// credential: Subject is the principal's name, Path has no query.
type Decision struct {
	Time      time.Time `json:"time"`
	RequestID string    `json:"request_id"`
	Route     string    `json:"route"`
	Method    string    `json:"method"`
	Path      string    `json:"path"`
	Status    int       `json:"status"`
	Decision  string    `json:"decision"`
	Code      string    `json:"code,omitempty"`
	Reason    string    `json:"reason,omitempty"`
	Subject   string    `json:"subject,omitempty"`
	Cost      int64     `json:"cost,omitempty"`
}

type second struct {
	at             int64
	requests, deny int64
}

type routeStats struct {
	secs [secondsKept]second
}

type minute struct {
	at    int64
	codes map[string]int64
}

type subjectCost struct {
	cost, requests int64
}

// Stats is what the page shows, updated by Record on the request path
// under one short lock; every structure is bounded.
type Stats struct {
	mu       sync.Mutex
	routes   map[string]*routeStats
	minutes  [codeMinutes]minute
	recent   []Decision
	next     int
	subjects map[string]*subjectCost
	now      func() time.Time
}

// NewStats keeps the latest recent decisions.
func NewStats(recent int) *Stats {
	if recent < 1 || recent > maxRecent {
		recent = DefaultRecent
	}
	s := &Stats{routes: map[string]*routeStats{}, recent: make([]Decision, recent), subjects: map[string]*subjectCost{}, now: time.Now}
	for i := range s.minutes {
		s.minutes[i].codes = map[string]int64{}
	}
	return s
}

// Record counts one decision. A nil Stats records nothing.
func (s *Stats) Record(d *Decision) {
	if s == nil {
		return
	}
	sec := d.Time.Unix()
	denied := d.Decision != "allow"
	s.mu.Lock()
	defer s.mu.Unlock()
	rs := s.routes[d.Route]
	if rs == nil && len(s.routes) < maxRoutes {
		rs = &routeStats{}
		s.routes[d.Route] = rs
	}
	if rs != nil {
		b := &rs.secs[sec%secondsKept]
		if b.at != sec {
			*b = second{at: sec}
		}
		b.requests++
		if denied {
			b.deny++
		}
	}
	if denied && d.Code != "" {
		s.countCode(sec/60, d.Code)
	}
	s.recent[s.next] = *d
	s.next = (s.next + 1) % len(s.recent)
	if d.Subject != "" && d.Cost > 0 {
		s.spend(d.Subject, d.Cost)
	}
}

func (s *Stats) countCode(min int64, code string) {
	m := &s.minutes[min%codeMinutes]
	if m.at != min {
		m.at = min
		clear(m.codes)
	}
	if _, ok := m.codes[code]; !ok && len(m.codes) >= maxCodes {
		code = "OTHER"
	}
	m.codes[code]++
}

// spend adds cost to a subject. When the table is full, a new subject
// takes the place of the smallest spender and inherits its count (the
// Space-Saving algorithm: a heavy spender is never lost, a count may be
// overestimated by at most the smallest).
func (s *Stats) spend(subject string, cost int64) {
	if sc, ok := s.subjects[subject]; ok {
		sc.cost += cost
		sc.requests++
		return
	}
	if len(s.subjects) < maxSubjects {
		s.subjects[subject] = &subjectCost{cost: cost, requests: 1}
		return
	}
	var minKey string
	var minSC *subjectCost
	for k, v := range s.subjects {
		if minSC == nil || v.cost < minSC.cost {
			minKey, minSC = k, v
		}
	}
	delete(s.subjects, minKey)
	minSC.cost += cost
	minSC.requests++
	s.subjects[subject] = minSC
}

// RouteNow is one route's traffic.
type RouteNow struct {
	Name string `json:"name"`
	// Requests and Refusals are over the last 60 seconds; PerSecond over
	// the last 10.
	Requests          int64   `json:"requests_60s"`
	Refusals          int64   `json:"refusals_60s"`
	PerSecond         float64 `json:"requests_per_second"`
	RefusalsPerSecond float64 `json:"refusals_per_second"`
}

// CodeSeries is one error code's refusals per minute, oldest first.
type CodeSeries struct {
	Code   string  `json:"code"`
	Counts []int64 `json:"counts"`
	Total  int64   `json:"total"`
}

// Spender is a subject and the cost it consumed.
type Spender struct {
	Subject  string `json:"subject"`
	Cost     int64  `json:"cost"`
	Requests int64  `json:"requests"`
}

// Snapshot is the page's data at one moment.
type Snapshot struct {
	GeneratedAt time.Time    `json:"generated_at"`
	Routes      []RouteNow   `json:"routes"`
	Minutes     []string     `json:"minutes"`
	Codes       []CodeSeries `json:"refusals_by_code"`
	Recent      []Decision   `json:"recent"`
	TopSubjects []Spender    `json:"top_subjects"`
	Status      Status       `json:"status"`
}

// Snapshot copies the figures out; routes lists the configured routes so
// a route without traffic still shows.
func (s *Stats) Snapshot(routes []string) Snapshot {
	now := s.now()
	sec, min := now.Unix(), now.Unix()/60
	snap := Snapshot{GeneratedAt: now}
	s.mu.Lock()
	defer s.mu.Unlock()
	names := append([]string(nil), routes...)
	for name := range s.routes {
		if !contains(names, name) {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	for _, name := range names {
		rn := RouteNow{Name: name}
		if rs := s.routes[name]; rs != nil {
			for _, b := range rs.secs {
				if age := sec - b.at; age >= 0 && age < secondsKept {
					rn.Requests += b.requests
					rn.Refusals += b.deny
					if age < 10 {
						rn.PerSecond += float64(b.requests) / 10
						rn.RefusalsPerSecond += float64(b.deny) / 10
					}
				}
			}
		}
		snap.Routes = append(snap.Routes, rn)
	}
	series := map[string]*CodeSeries{}
	for i := 0; i < codeMinutes; i++ {
		m := min - int64(codeMinutes-1-i)
		snap.Minutes = append(snap.Minutes, time.Unix(m*60, 0).UTC().Format("15:04"))
		b := &s.minutes[m%codeMinutes]
		if b.at != m {
			continue
		}
		for code, n := range b.codes {
			cs := series[code]
			if cs == nil {
				cs = &CodeSeries{Code: code, Counts: make([]int64, codeMinutes)}
				series[code] = cs
			}
			cs.Counts[i] += n
			cs.Total += n
		}
	}
	for _, cs := range series {
		snap.Codes = append(snap.Codes, *cs)
	}
	sort.Slice(snap.Codes, func(i, j int) bool {
		a, b := snap.Codes[i], snap.Codes[j]
		return a.Total > b.Total || a.Total == b.Total && a.Code < b.Code
	})
	n := len(s.recent)
	for i := 1; i <= n; i++ {
		d := s.recent[(s.next-i+n)%n]
		if d.Time.IsZero() {
			break
		}
		snap.Recent = append(snap.Recent, d)
	}
	for subj, sc := range s.subjects {
		snap.TopSubjects = append(snap.TopSubjects, Spender{Subject: subj, Cost: sc.cost, Requests: sc.requests})
	}
	sort.Slice(snap.TopSubjects, func(i, j int) bool {
		a, b := snap.TopSubjects[i], snap.TopSubjects[j]
		return a.Cost > b.Cost || a.Cost == b.Cost && a.Subject < b.Subject
	})
	if len(snap.TopSubjects) > topSubjects {
		snap.TopSubjects = snap.TopSubjects[:topSubjects]
	}
	return snap
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
