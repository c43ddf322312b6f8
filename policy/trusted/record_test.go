package trusted

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func TestRecordCountsDistinctOperations(t *testing.T) {
	file := filepath.Join(t.TempDir(), "record.json")
	clk := &clock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	r, err := Open(RecordConfig{File: file, MaxOperations: 10, FlushInterval: time.Hour}, nil, clk.now)
	if err != nil {
		t.Fatal(err)
	}
	web := Seen{Body: hello, Name: "Hello", Type: "query", Client: "web", ClientVersion: "1.0"}
	r.Record(web)
	clk.add(time.Hour)
	// The same document spelt differently is the same operation.
	respelt := web
	respelt.Body = "query Hello {\n  hello # hi\n}"
	r.Record(respelt)
	r.Record(web)
	// Another client version is another operation.
	v2 := web
	v2.ClientVersion = "2.0"
	r.Record(v2)
	r.Record(Seen{Body: login, Name: "Login", Type: "mutation"})

	ops := r.Snapshot()
	if len(ops) != 3 {
		t.Fatalf("recorded %d operations, want 3: %+v", len(ops), ops)
	}
	first := ops[0]
	if first.Count != 3 || first.Body != hello || first.Client != "web" || first.ClientVersion != "1.0" {
		t.Errorf("first operation = %+v", first)
	}
	if !first.FirstSeen.Equal(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)) || !first.LastSeen.Equal(first.FirstSeen.Add(time.Hour)) {
		t.Errorf("first/last seen = %v / %v", first.FirstSeen, first.LastSeen)
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}

	// A restart reads the record back and keeps counting.
	r2, err := Open(RecordConfig{File: file, MaxOperations: 10, FlushInterval: time.Hour}, nil, clk.now)
	if err != nil {
		t.Fatal(err)
	}
	r2.Record(web)
	if got := r2.Snapshot()[0].Count; got != 4 {
		t.Errorf("count after restart = %d, want 4", got)
	}
	if err := r2.Close(); err != nil {
		t.Fatal(err)
	}
	ops, err = ReadRecord(file)
	if err != nil || len(ops) != 3 || ops[0].Count != 4 {
		t.Fatalf("ReadRecord = %+v, %v", ops, err)
	}
}

func TestRecordIsBounded(t *testing.T) {
	file := filepath.Join(t.TempDir(), "record.json")
	r, err := Open(RecordConfig{File: file, MaxOperations: 2, MaxBytes: 1 << 20, FlushInterval: time.Hour}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	for _, q := range []string{hello, me, login, "query A { a }"} {
		r.Record(Seen{Body: q})
	}
	if n := len(r.Snapshot()); n != 2 {
		t.Errorf("kept %d operations, want 2", n)
	}
	if d := r.Dropped(); d != 2 {
		t.Errorf("dropped %d, want 2", d)
	}
	// A known operation still counts once the record is full.
	r.Record(Seen{Body: hello})
	if c := r.Snapshot()[0].Count; c != 2 {
		t.Errorf("count = %d, want 2", c)
	}

	small := filepath.Join(t.TempDir(), "small.json")
	rb, err := Open(RecordConfig{File: small, MaxOperations: 100, MaxBytes: int64(len(hello) + 5), FlushInterval: time.Hour}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer rb.Close()
	rb.Record(Seen{Body: hello})
	rb.Record(Seen{Body: me})
	if n := len(rb.Snapshot()); n != 1 {
		t.Errorf("byte bound kept %d operations, want 1", n)
	}
}

func TestOpenSharesOneRecorderPerFile(t *testing.T) {
	file := filepath.Join(t.TempDir(), "record.json")
	cfg := RecordConfig{File: file, FlushInterval: time.Hour}
	a, err := Open(cfg, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	b, err := Open(cfg, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if a != b {
		t.Fatal("two Opens of one file gave two recorders")
	}
	a.Record(Seen{Body: hello})
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	// b is still open and writes what a recorded.
	b.Record(Seen{Body: hello})
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	ops, err := ReadRecord(file)
	if err != nil || len(ops) != 1 || ops[0].Count != 2 {
		t.Fatalf("ReadRecord = %+v, %v", ops, err)
	}
}

func TestOpenRefusesABadRecord(t *testing.T) {
	dir := t.TempDir()
	for name, content := range map[string]string{
		"garbage":    "{",
		"format":     `{"format":"other","version":1}`,
		"bad hash":   `{"format":"portcullis-operation-record","version":1,"operations":[{"hash":"xyz"}]}`,
		"not a file": "",
	} {
		t.Run(name, func(t *testing.T) {
			file := filepath.Join(dir, strings.ReplaceAll(name, " ", "_"))
			if name == "not a file" {
				if err := os.Mkdir(file, 0o755); err != nil {
					t.Fatal(err)
				}
			} else if err := os.WriteFile(file, []byte(content), 0o600); err != nil {
				t.Fatal(err)
			}
			if r, err := Open(RecordConfig{File: file}, nil, nil); err == nil {
				r.Close()
				t.Fatal("Open succeeded")
			}
		})
	}
}

func TestExport(t *testing.T) {
	ops := []Operation{
		{Hash: "1", Name: "Me", Type: "query", Body: me, Client: "ios"},
		{Hash: "2", Name: "Hello", Type: "query", Body: hello, Client: "web"},
		// The same body from two clients is one manifest entry.
		{Hash: "2", Name: "Hello", Type: "query", Body: hello, Client: "ios"},
	}
	m := Export(ops, "")
	data, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	docs, err := ParseManifest(data)
	if err != nil {
		t.Fatalf("an exported manifest does not load: %v", err)
	}
	if len(docs) != 2 || m.Operations[0].Name != "Hello" || m.Operations[0].ID != sha(hello) || m.Operations[0].Type != "query" {
		t.Fatalf("Export = %+v", m)
	}
	if got := Export(ops, "web").Operations; len(got) != 1 || got[0].Name != "Hello" {
		t.Fatalf("Export(web) = %+v", got)
	}
	if got := Export(nil, ""); got.Operations == nil {
		t.Fatal("an empty export must still have an operations array")
	}
}
