package test

// Security controls never fail open (docs/security.md): the failed-credential
// budget and the penalty follow rate_limit.on_store_error like every other
// charge. These tests kill the gateway's Redis (a child of the test) and
// then guess credentials.

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/portcullis-gw/portcullis/internal/testkit/redistest"
	"github.com/portcullis-gw/portcullis/test/upstreams"
)

// boundaryStartOnChildRedis is rlStartOnChildRedis with a failed-credential
// budget of burst 3.
func boundaryStartOnChildRedis(t *testing.T, onError string) (*redistest.Child, *upstreams.Set, *proc) {
	t.Helper()
	rs := redistest.StartChild(t)
	set := upstreams.StartAll(t)
	gw := rlStart(t, set, rlConfig(set, fmt.Sprintf(`
store: redis
redis: {address: %q, db: 0}
on_store_error: %s
timeout: 300ms
auth_failures: {rate: 1, per: 1h, burst: 3}
tiers:
  anonymous: {rate: 1, per: 1h, burst: 100}
`, rs.Addr(), onError), ""))
	return rs, set, gw
}

func TestBoundaryStoreOutageWithBadCredentials(t *testing.T) {
	bad := map[string]string{"X-API-Key": "guessed-key"}
	gql := `{"query":"{ product(upc: \"1\") { upc } }"}`

	t.Run("fail_closed refuses credential attempts", func(t *testing.T) {
		rs, set, gw := boundaryStartOnChildRedis(t, "fail_closed")
		const ip = "10.60.0.1"
		// While the store is up a guess is an ordinary 401.
		rlWantGQLError(t, rlSendWith(t, http.MethodPost, gw.url("/graphql"), ip, gql, bad), http.StatusUnauthorized, "UNAUTHENTICATED")

		rs.Kill()
		set.ResetAll()
		// Far beyond the budget of 3: every guess is refused with 503, none
		// is checked and answered 401 as if the budget held.
		for i := range 10 {
			rp := rlSendWith(t, http.MethodPost, gw.url("/graphql"), ip, gql, bad)
			rlWantGQLError(t, rp, http.StatusServiceUnavailable, "RATE_LIMIT_UNAVAILABLE")
			rp = rlSendWith(t, http.MethodGet, gw.url("/api/v1/orders/1"), ip, "", bad)
			rlWantProblem(t, rp, http.StatusServiceUnavailable, "RATE_LIMIT_UNAVAILABLE")
			if i == 0 && rp.header.Get("WWW-Authenticate") != "" {
				t.Errorf("503 carries a credential challenge: %v", rp)
			}
		}
		// The penalty follows the same rule: a refused request cannot be
		// answered for free while its budget cannot be kept.
		rlWantGQLError(t, rlGQL(t, gw, ip, rlQInvalid), http.StatusServiceUnavailable, "RATE_LIMIT_UNAVAILABLE")
		rlWantProblem(t, rlREST(t, gw, "10.60.0.2"), http.StatusServiceUnavailable, "RATE_LIMIT_UNAVAILABLE")
		rlWantProblem(t, rlSend(t, http.MethodGet, gw.url("/api/v1/orders/0"), ip, ""), http.StatusServiceUnavailable, "RATE_LIMIT_UNAVAILABLE")
		rlWantUntouched(t, set)
	})

	t.Run("fail_open limits guessing locally", func(t *testing.T) {
		rs, set, gw := boundaryStartOnChildRedis(t, "fail_open")
		const ip = "10.60.1.1"
		rlWantOK(t, rlGQL(t, gw, ip, rlQ1))

		rs.Kill()
		set.ResetAll()
		// The local stand-in starts with a full budget of 3 failures...
		for range 3 {
			rp := rlSendWith(t, http.MethodPost, gw.url("/graphql"), ip, gql, bad)
			rlWantGQLError(t, rp, http.StatusUnauthorized, "UNAUTHENTICATED")
		}
		// ...and holds: further guesses are 429 on every route, with the
		// failure budget's headers.
		for range 5 {
			rp := rlSendWith(t, http.MethodPost, gw.url("/graphql"), ip, gql, bad)
			rlWantGQLError(t, rp, http.StatusTooManyRequests, "RATE_LIMITED")
			if h := rlParse(t, rp); h.q != 3 || h.r != 0 || h.retryAfter < 1 {
				t.Errorf("failure budget headers %+v, want q=3 r=0 and a Retry-After: %v", h, rp)
			}
			rlWantProblem(t, rlSendWith(t, http.MethodGet, gw.url("/api/v1/orders/1"), ip, "", bad), http.StatusTooManyRequests, "RATE_LIMITED")
		}
		// Another client's guesses have their own local budget.
		rlWantGQLError(t, rlSendWith(t, http.MethodPost, gw.url("/graphql"), "10.60.1.2", gql, bad), http.StatusUnauthorized, "UNAUTHENTICATED")
		rlWantUntouched(t, set)
		// Anonymous traffic is still served within the local budget.
		rlWantOK(t, rlGQL(t, gw, ip, rlQ1))
	})
}
