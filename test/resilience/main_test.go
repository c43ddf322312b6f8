// Package resilience holds the end-to-end tests of how the gateway stays up
// when what it depends on fails: upstream pools, ejection, the circuit
// breaker, retries, readiness, check --online, Redis topologies and
// reloads without lost requests.
package resilience

import (
	"os"
	"testing"

	"github.com/portcullis-gw/portcullis/internal/testkit/gatewaytest"
)

// TestMain builds the gateway once: these tests run it as a user does.
func TestMain(m *testing.M) { os.Exit(gatewaytest.Main(m)) }
