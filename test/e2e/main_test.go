package e2e

import (
	"os"
	"testing"

	"github.com/portcullis-gw/portcullis/internal/testkit/gatewaytest"
)

// TestMain builds the gateway once: these tests run it as a user does.
func TestMain(m *testing.M) { os.Exit(gatewaytest.Main(m)) }
