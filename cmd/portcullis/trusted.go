package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/portcullis-gw/portcullis/gateway/config"
	"github.com/portcullis-gw/portcullis/policy/trusted"
)

func init() {
	register(command{name: "trusted-documents", summary: "export the operations a route recorded as an Apollo persisted query manifest", run: runTrustedDocuments})
}

const trustedUsage = "trusted-documents export -c FILE [-o FILE] [--client NAME] ROUTE"

// runTrustedDocuments turns a route's operation record (persisted_operations.record)
// into a manifest a team reviews and then enforces (docs/governance.md,
// "Rolling out trusted documents").
func runTrustedDocuments(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] != "export" {
		if len(args) > 0 && (args[0] == "-h" || args[0] == "--help") {
			fmt.Fprintf(stdout, "Usage: portcullis %s\n", trustedUsage)
			return 0
		}
		fmt.Fprintf(stderr, "Usage: portcullis %s\n", trustedUsage)
		return 2
	}
	fs := newFlagSet("trusted-documents export", trustedUsage, stdout, stderr)
	file := fs.String("c", "portcullis.yaml", "config file")
	out := fs.String("o", "", "write the manifest to this file instead of stdout")
	client := fs.String("client", "", "only the operations of this client (graphql-client-name), for a per-client manifest")
	if code, done := parseFlags(fs, args[1:]); done {
		return code
	}
	if fs.NArg() != 1 {
		fmt.Fprintf(stderr, "Usage: portcullis %s\n", trustedUsage)
		return 2
	}
	route := fs.Arg(0)
	cfg, err := config.Load(*file)
	if err != nil {
		fmt.Fprintf(stderr, "%s: invalid config:\n%v\n", *file, err)
		return 1
	}
	var rec *trusted.RecordConfig
	found := false
	for _, r := range cfg.GraphQL {
		if r.Name == route {
			found, rec = true, r.PersistedOperations.Record
		}
	}
	switch {
	case !found:
		fmt.Fprintf(stderr, "%s: no GraphQL route named %q\n", *file, route)
		return 1
	case rec == nil:
		fmt.Fprintf(stderr, "%s: route %q records nothing: set persisted_operations.record\n", *file, route)
		return 1
	}
	ops, err := trusted.ReadRecord(rec.File)
	if err != nil {
		fmt.Fprintf(stderr, "reading the record of route %q: %v\n", route, err)
		return 1
	}
	data, err := json.MarshalIndent(trusted.Export(ops, *client), "", "  ")
	if err != nil {
		fmt.Fprintf(stderr, "encoding the manifest: %v\n", err)
		return 1
	}
	data = append(data, '\n')
	if *out == "" {
		_, _ = stdout.Write(data)
		return 0
	}
	if err := writeFileAtomic(*out, data); err != nil {
		fmt.Fprintf(stderr, "writing %s: %v\n", *out, err)
		return 1
	}
	return 0
}

// writeFileAtomic replaces path in one rename, so a gateway reloading the
// manifest never reads half of it.
func writeFileAtomic(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".manifest-*")
	if err != nil {
		return err
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return err
	}
	if err := tmp.Close(); err != nil {
		os.Remove(tmp.Name())
		return err
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		os.Remove(tmp.Name())
		return err
	}
	return os.Rename(tmp.Name(), path)
}
