// Package docs holds the tests that keep the documentation true to the
// code: docs/config.md against the JSON schema and the loader, the metrics
// in docs/operations.md against the code and a running gateway, and the
// README's curl lines against configs/demo.yaml.
package docs

import (
	"os"
	"testing"

	"github.com/portcullis-gw/portcullis/internal/testkit/gatewaytest"
)

// TestMain builds the gateway once: the metrics and README tests run it as
// a user does.
func TestMain(m *testing.M) { os.Exit(gatewaytest.Main(m)) }
