package ratelimit

// Security controls never fail open (docs/security.md): the failed-credential
// budget and the penalty follow rate_limit.on_store_error like every other
// charge. These tests kill the gateway's Redis (a child of the test) and
// then guess credentials.

import (
	"net/http"
	"testing"

	"github.com/portcullis-gw/portcullis/internal/testkit/gatewaytest"
	"github.com/portcullis-gw/portcullis/internal/testkit/redistest"
	"github.com/portcullis-gw/portcullis/test/upstreams"
)

// startIdentityOnChildRedis is startOnChildRedis with a failed-credential
// budget of burst 3.
func startIdentityOnChildRedis(t *testing.T, onError string) (*redistest.Child, *upstreams.Set, *gatewaytest.Gateway) {
	t.Helper()
	return startOnChildRedisWith(t, onError, 100, "auth_failures: {rate: 1, per: 1h, burst: 3}")
}

func TestBoundaryStoreOutageWithBadCredentials(t *testing.T) {
	bad := map[string]string{"X-API-Key": "guessed-key"}
	gql := `{"query":"{ product(upc: \"1\") { upc } }"}`

	t.Run("fail_closed refuses credential attempts", func(t *testing.T) {
		rs, set, gw := startIdentityOnChildRedis(t, "fail_closed")
		const ip = "10.60.0.1"
		// While the store is up a guess is an ordinary 401.
		gatewaytest.WantGQLError(t, gatewaytest.SendFrom(t, http.MethodPost, gw.URL("/graphql"), ip, gql, bad), http.StatusUnauthorized, "UNAUTHENTICATED")

		rs.Kill()
		set.ResetAll()
		// Far beyond the budget of 3: every guess is refused with 503, none
		// is checked and answered 401 as if the budget held.
		for i := range 10 {
			rp := gatewaytest.SendFrom(t, http.MethodPost, gw.URL("/graphql"), ip, gql, bad)
			gatewaytest.WantGQLError(t, rp, http.StatusServiceUnavailable, "RATE_LIMIT_UNAVAILABLE")
			rp = gatewaytest.SendFrom(t, http.MethodGet, gw.URL("/api/v1/orders/1"), ip, "", bad)
			gatewaytest.WantProblem(t, rp, http.StatusServiceUnavailable, "RATE_LIMIT_UNAVAILABLE", nil)
			if i == 0 && rp.Header.Get("WWW-Authenticate") != "" {
				t.Errorf("503 carries a credential challenge: %v", rp)
			}
		}
		// The penalty follows the same rule: a refused request cannot be
		// answered for free while its budget cannot be kept.
		gatewaytest.WantGQLError(t, gatewaytest.GraphQLFrom(t, gw.URL("/graphql"), ip, qInvalid), http.StatusServiceUnavailable, "RATE_LIMIT_UNAVAILABLE")
		gatewaytest.WantProblem(t, restFrom(t, gw, "10.60.0.2"), http.StatusServiceUnavailable, "RATE_LIMIT_UNAVAILABLE", nil)
		gatewaytest.WantProblem(t, gatewaytest.SendFrom(t, http.MethodGet, gw.URL("/api/v1/orders/0"), ip, "", nil), http.StatusServiceUnavailable, "RATE_LIMIT_UNAVAILABLE", nil)
		set.WantUntouched(t)
	})

	t.Run("fail_open limits guessing locally", func(t *testing.T) {
		rs, set, gw := startIdentityOnChildRedis(t, "fail_open")
		const ip = "10.60.1.1"
		gatewaytest.WantOK(t, gatewaytest.GraphQLFrom(t, gw.URL("/graphql"), ip, q1))

		rs.Kill()
		set.ResetAll()
		// The local stand-in starts with a full budget of 3 failures...
		for range 3 {
			rp := gatewaytest.SendFrom(t, http.MethodPost, gw.URL("/graphql"), ip, gql, bad)
			gatewaytest.WantGQLError(t, rp, http.StatusUnauthorized, "UNAUTHENTICATED")
		}
		// ...and holds: further guesses are 429 on every route, with the
		// failure budget's headers.
		for range 5 {
			rp := gatewaytest.SendFrom(t, http.MethodPost, gw.URL("/graphql"), ip, gql, bad)
			gatewaytest.WantGQLError(t, rp, http.StatusTooManyRequests, "RATE_LIMITED")
			if h := gatewaytest.ParseRateLimit(t, rp); h.Q != 3 || h.R != 0 || h.RetryAfter < 1 {
				t.Errorf("failure budget headers %+v, want q=3 r=0 and a Retry-After: %v", h, rp)
			}
			gatewaytest.WantProblem(t, gatewaytest.SendFrom(t, http.MethodGet, gw.URL("/api/v1/orders/1"), ip, "", bad), http.StatusTooManyRequests, "RATE_LIMITED", nil)
		}
		// Another client's guesses have their own local budget.
		gatewaytest.WantGQLError(t, gatewaytest.SendFrom(t, http.MethodPost, gw.URL("/graphql"), "10.60.1.2", gql, bad), http.StatusUnauthorized, "UNAUTHENTICATED")
		set.WantUntouched(t)
		// Anonymous traffic is still served within the local budget.
		gatewaytest.WantOK(t, gatewaytest.GraphQLFrom(t, gw.URL("/graphql"), ip, q1))
	})
}
