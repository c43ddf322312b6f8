package test

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net"
	"testing"
)

func listen(t *testing.T) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return ln
}

func errorsAs(err error, target any) bool { return errors.As(err, target) }

// sha256Hex is how the config names an API key: its SHA-256, hex-encoded.
func sha256Hex(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}
