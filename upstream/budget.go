package upstream

import "sync/atomic"

// retryBudget lets retries add at most ratio × requests attempts, as
// Finagle's and Linkerd's retry budgets do: each request deposits ratio, each
// retry withdraws one. The balance starts empty and is capped, so a quiet
// period cannot bank a burst of retries that multiplies the next outage.
type retryBudget struct {
	perRequest int64 // ratio in milli-retries
	balance    atomic.Int64
}

// budgetScale is the fixed-point unit: one retry is 1000 milli-retries.
const budgetScale = 1000

// maxBanked is the most retries the balance holds.
const maxBanked = 10 * budgetScale

func newRetryBudget(ratio float64) *retryBudget {
	return &retryBudget{perRequest: int64(ratio * budgetScale)}
}

func (b *retryBudget) deposit() {
	if b.perRequest <= 0 {
		return
	}
	if b.balance.Add(b.perRequest) > maxBanked {
		// Clip back; a race only leaves the balance a little above the cap.
		b.balance.Store(maxBanked)
	}
}

func (b *retryBudget) withdraw() bool {
	for {
		cur := b.balance.Load()
		if cur < budgetScale {
			return false
		}
		if b.balance.CompareAndSwap(cur, cur-budgetScale) {
			return true
		}
	}
}
