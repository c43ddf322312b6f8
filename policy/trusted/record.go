package trusted

import (
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"
)

// RecordFormat names the record file's format.
const RecordFormat = "portcullis-operation-record"

// Operation is one distinct operation the record has seen: one normalised
// document, operation name and client (name and version).
type Operation struct {
	// Hash is the hex sha256 of the normalised document (Normalize).
	Hash          string    `json:"hash"`
	Name          string    `json:"name"`
	Type          string    `json:"type"`
	Body          string    `json:"body"`
	Client        string    `json:"client,omitempty"`
	ClientVersion string    `json:"clientVersion,omitempty"`
	FirstSeen     time.Time `json:"firstSeen"`
	LastSeen      time.Time `json:"lastSeen"`
	Count         int64     `json:"count"`
}

type recordFile struct {
	Format     string      `json:"format"`
	Version    int         `json:"version"`
	Operations []Operation `json:"operations"`
}

// Seen is one operation that passed every check, as the gateway reports it.
type Seen struct {
	Body          string
	Name          string
	Type          string
	Client        string
	ClientVersion string
}

// opKey is what makes an operation distinct.
type opKey struct {
	norm          Hash
	name          string
	client, clver string
}

// rawKey finds an operation by the bytes a client sent, so a document seen
// before costs one sha256, never a parse.
type rawKey struct {
	raw           Hash
	name          string
	client, clver string
}

// Recorder is the learning store: bounded in operations and bytes, kept in
// memory, written to its file every flush interval when it changed and on
// Close, read back at start so it survives restarts.
type Recorder struct {
	path     string
	maxOps   int
	maxBytes int64
	now      func() time.Time
	log      *slog.Logger

	mu      sync.Mutex
	ops     map[opKey]*Operation
	raw     map[rawKey]*Operation
	bytes   int64
	dirty   bool
	full    bool // logged once when the bounds first refuse an operation
	dropped uint64

	refs int
	stop chan struct{}
	done chan struct{}
}

// registry shares one Recorder per file, so the old and the new route table
// of a reload never write the same file from two stores.
var registry = struct {
	sync.Mutex
	open map[string]*Recorder
}{open: map[string]*Recorder{}}

// Open returns the Recorder of cfg.File, reading what the file already
// holds; a second Open of the same file returns the same Recorder. Each Open
// needs its Close.
func Open(cfg RecordConfig, log *slog.Logger, now func() time.Time) (*Recorder, error) {
	path, err := filepath.Abs(cfg.File)
	if err != nil {
		return nil, fmt.Errorf("opening operation record: %w", err)
	}
	registry.Lock()
	defer registry.Unlock()
	if r, ok := registry.open[path]; ok {
		r.mu.Lock()
		r.refs++
		r.maxOps, r.maxBytes = cmp.Or(cfg.MaxOperations, DefaultMaxOperations), cmp.Or(cfg.MaxBytes, DefaultMaxBytes)
		r.mu.Unlock()
		return r, nil
	}
	if now == nil {
		now = time.Now
	}
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	r := &Recorder{
		path: path, maxOps: cmp.Or(cfg.MaxOperations, DefaultMaxOperations), maxBytes: cmp.Or(cfg.MaxBytes, DefaultMaxBytes),
		now: now, log: log,
		ops: map[opKey]*Operation{}, raw: map[rawKey]*Operation{}, refs: 1,
		stop: make(chan struct{}), done: make(chan struct{}),
	}
	ops, err := ReadRecord(path)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("opening operation record: %w", err)
	}
	for i := range ops {
		op := ops[i]
		norm, ok := ParseSHA256(op.Hash)
		if !ok {
			return nil, fmt.Errorf("opening operation record %q: operations[%d]: hash is not a sha256", path, i)
		}
		r.ops[opKey{norm, op.Name, op.Client, op.ClientVersion}] = &op
		r.bytes += int64(len(op.Body))
	}
	// The file must be writable now, not at the first flush minutes later.
	if err := r.write(); err != nil {
		return nil, fmt.Errorf("opening operation record: %w", err)
	}
	go r.flusher(cmp.Or(cfg.FlushInterval, DefaultFlushInterval))
	registry.open[path] = r
	return r, nil
}

// maxRawAliases bounds the byte-level index beside the operations: past it,
// a new spelling of a known operation is normalised each time it is seen.
const maxRawAliases = 4

// Record counts one operation that passed every check. Only the first sight
// of a spelling parses the document.
func (r *Recorder) Record(s Seen) {
	if r == nil {
		return
	}
	rk := rawKey{sha256.Sum256([]byte(s.Body)), s.Name, s.Client, s.ClientVersion}
	now := r.now().UTC()
	r.mu.Lock()
	if op, ok := r.raw[rk]; ok {
		op.Count++
		op.LastSeen = now
		r.dirty = true
		r.mu.Unlock()
		return
	}
	r.mu.Unlock()
	norm, _, err := Normalize(s.Body)
	if err != nil {
		// Only documents that passed analysis get here.
		return
	}
	k := opKey{norm, s.Name, s.Client, s.ClientVersion}
	r.mu.Lock()
	defer r.mu.Unlock()
	op, ok := r.ops[k]
	switch {
	case ok:
		op.Count++
		op.LastSeen = now
	case len(r.ops) >= r.maxOps || r.bytes+int64(len(s.Body)) > r.maxBytes:
		r.dropped++
		if !r.full {
			r.full = true
			r.log.Warn("operation record is full; new operations are not recorded", "file", r.path, "operations", len(r.ops), "bytes", r.bytes)
		}
		return
	default:
		op = &Operation{Hash: hex.EncodeToString(norm[:]), Name: s.Name, Type: s.Type, Body: s.Body,
			Client: s.Client, ClientVersion: s.ClientVersion, FirstSeen: now, LastSeen: now, Count: 1}
		r.ops[k] = op
		r.bytes += int64(len(s.Body))
	}
	r.dirty = true
	if len(r.raw) < maxRawAliases*r.maxOps {
		r.raw[rk] = op
	}
}

// Dropped is how many sightings of new operations the bounds refused.
func (r *Recorder) Dropped() uint64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.dropped
}

// Snapshot is a copy of the operations, in first-seen order.
func (r *Recorder) Snapshot() []Operation {
	r.mu.Lock()
	out := make([]Operation, 0, len(r.ops))
	for _, op := range r.ops {
		out = append(out, *op)
	}
	r.mu.Unlock()
	sortOps(out)
	return out
}

func sortOps(ops []Operation) {
	slices.SortFunc(ops, func(a, b Operation) int {
		return cmp.Or(a.FirstSeen.Compare(b.FirstSeen), cmp.Compare(a.Hash, b.Hash), cmp.Compare(a.Name, b.Name),
			cmp.Compare(a.Client, b.Client), cmp.Compare(a.ClientVersion, b.ClientVersion))
	})
}

func (r *Recorder) flusher(every time.Duration) {
	defer close(r.done)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-r.stop:
			return
		case <-t.C:
			if err := r.Flush(); err != nil {
				r.log.Warn("writing operation record failed", "file", r.path, "error", err.Error())
			}
		}
	}
}

// Flush writes the record to its file if it changed since the last write.
func (r *Recorder) Flush() error {
	r.mu.Lock()
	dirty := r.dirty
	r.dirty = false
	r.mu.Unlock()
	if !dirty {
		return nil
	}
	if err := r.write(); err != nil {
		r.mu.Lock()
		r.dirty = true
		r.mu.Unlock()
		return err
	}
	return nil
}

// write replaces the file atomically (a temporary file renamed over it), so
// a reader such as the export command never sees half a record.
func (r *Recorder) write() error {
	data, err := json.MarshalIndent(recordFile{Format: RecordFormat, Version: 1, Operations: r.Snapshot()}, "", "  ")
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(r.path), ".record-*")
	if err != nil {
		return err
	}
	_, werr := tmp.Write(append(data, '\n'))
	cerr := tmp.Close()
	if err := errors.Join(werr, cerr); err != nil {
		os.Remove(tmp.Name())
		return err
	}
	if err := os.Rename(tmp.Name(), r.path); err != nil {
		os.Remove(tmp.Name())
		return err
	}
	return nil
}

// Close releases one Open; the last one stops the flusher and writes the
// record.
func (r *Recorder) Close() error {
	if r == nil {
		return nil
	}
	registry.Lock()
	r.mu.Lock()
	r.refs--
	last := r.refs == 0
	r.mu.Unlock()
	if last {
		delete(registry.open, r.path)
	}
	registry.Unlock()
	if !last {
		return r.Flush()
	}
	close(r.stop)
	<-r.done
	return r.Flush()
}

// maxRecordBytes bounds a record file read back.
const maxRecordBytes = 1 << 30

// ReadRecord reads a record file, as the export command does.
func ReadRecord(path string) ([]Operation, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxRecordBytes+1))
	if err != nil {
		return nil, err
	}
	if len(data) > maxRecordBytes {
		return nil, fmt.Errorf("record %q is larger than %d bytes", path, maxRecordBytes)
	}
	var rf recordFile
	if err := json.Unmarshal(data, &rf); err != nil {
		return nil, fmt.Errorf("parsing record %q: %w", path, err)
	}
	if rf.Format != RecordFormat || rf.Version != 1 {
		return nil, fmt.Errorf("record %q: format %q version %d, want %q version 1", path, rf.Format, rf.Version, RecordFormat)
	}
	return rf.Operations, nil
}

// Export is an Apollo manifest (format version 1) of the recorded
// operations, of one client when client is not empty: one entry per
// distinct body, id = the hex sha256 of the body, sorted by name then id.
func Export(ops []Operation, client string) ApolloManifest {
	m := ApolloManifest{Format: ApolloFormat, Version: 1, Operations: []ApolloOperation{}}
	seen := map[string]bool{}
	for _, op := range ops {
		if client != "" && op.Client != client {
			continue
		}
		sum := sha256.Sum256([]byte(op.Body))
		id := hex.EncodeToString(sum[:])
		if seen[id] {
			continue
		}
		seen[id] = true
		m.Operations = append(m.Operations, ApolloOperation{ID: id, Name: op.Name, Type: op.Type, Body: op.Body})
	}
	slices.SortFunc(m.Operations, func(a, b ApolloOperation) int {
		return cmp.Or(cmp.Compare(a.Name, b.Name), cmp.Compare(a.ID, b.ID))
	})
	return m
}
