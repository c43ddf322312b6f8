package ratelimit

import (
	"context"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/portcullis-gw/portcullis/internal/testkit/fakeclock"
)

func TestMemoryStoreBoundedUnderUniqueKeyFlood(t *testing.T) {
	clock := fakeclock.New(epoch)
	const maxKeys = 1024
	st := NewMemoryStore(MemoryOptions{Now: clock.Now, Shards: 16, MaxKeys: maxKeys, SweepInterval: -1})
	defer st.Close()
	tier := Tier{Rate: 1, Per: time.Hour, Burst: 10}
	ctx := context.Background()
	for i := range 100_000 {
		// Nothing refills during the flood, so the janitor could not help:
		// only the cap keeps memory bounded.
		if _, err := st.Allow(ctx, "flood:"+strconv.Itoa(i), tier, 1); err != nil {
			t.Fatal(err)
		}
	}
	if n := st.Len(); n > maxKeys {
		t.Errorf("store holds %d keys after the flood, cap %d", n, maxKeys)
	}
	// The newest key is held and still limited.
	d, _ := st.Allow(ctx, "flood:99999", tier, 10)
	if d.Allowed {
		t.Errorf("a key charged during the flood got its whole burst back: %+v", d)
	}
}

func TestMemoryStoreEvictsLeastIndebted(t *testing.T) {
	clock := fakeclock.New(epoch)
	st := NewMemoryStore(MemoryOptions{Now: clock.Now, Shards: 1, MaxKeys: 4, SweepInterval: -1})
	defer st.Close()
	tier := Tier{Rate: 1, Per: time.Second, Burst: 10}
	ctx := context.Background()
	for key, cost := range map[string]int{"a": 4, "b": 1, "c": 3, "d": 2} {
		if _, err := st.Allow(ctx, key, tier, cost); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := st.Allow(ctx, "e", tier, 5); err != nil {
		t.Fatal(err)
	}
	m := st.shards[0].m
	if _, ok := m["b"]; ok || len(m) != 4 {
		t.Errorf("want b (least debt) evicted and 4 keys kept, have %v", m)
	}
}

func TestMemoryStoreSweepDropsOnlyFullBuckets(t *testing.T) {
	clock := fakeclock.New(epoch)
	st := NewMemoryStore(MemoryOptions{Now: clock.Now, SweepInterval: -1})
	defer st.Close()
	tier := Tier{Rate: 1, Per: time.Second, Burst: 100}
	ctx := context.Background()
	for i := range 100 {
		// key i is full again after i+1 seconds.
		if _, err := st.Allow(ctx, strconv.Itoa(i), tier, i+1); err != nil {
			t.Fatal(err)
		}
	}
	clock.Advance(50 * time.Second)
	st.sweep()
	if n := st.Len(); n != 50 {
		t.Errorf("after 50s, %d keys held; want the 50 not yet full", n)
	}
	d, _ := st.Allow(ctx, "99", tier, 0)
	if d.Remaining != 50 {
		t.Errorf("a kept bucket lost its state: %+v", d)
	}
	clock.Advance(time.Minute)
	st.sweep()
	if n := st.Len(); n != 0 {
		t.Errorf("%d keys held once every bucket is full", n)
	}
}

func TestMemoryStoreCloseStopsJanitor(t *testing.T) {
	before := runtime.NumGoroutine()
	st := NewMemoryStore(MemoryOptions{SweepInterval: time.Millisecond})
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	// Close waits for the janitor to return; let the runtime retire it.
	for range 100 {
		if runtime.NumGoroutine() <= before {
			return
		}
		runtime.Gosched()
	}
	if n := runtime.NumGoroutine(); n > before {
		t.Errorf("%d goroutines after Close, %d before", n, before)
	}
}

func BenchmarkMemoryAllow(b *testing.B) {
	st := NewMemoryStore(MemoryOptions{SweepInterval: -1})
	defer st.Close()
	tier := Tier{Rate: 1_000_000, Per: time.Second, Burst: 1_000_000}
	const active = 100_000
	keys := make([]string, active)
	ctx := context.Background()
	for i := range keys {
		keys[i] = "default:sub:user-" + strconv.Itoa(i)
		_, _ = st.Allow(ctx, keys[i], tier, 1)
	}
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		i := int(time.Now().UnixNano()) % active
		for pb.Next() {
			if _, err := st.Allow(ctx, keys[i], tier, 1); err != nil {
				b.Error(err)
				return
			}
			i++
			if i == active {
				i = 0
			}
		}
	})
}
