package main

import (
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
)

// version is set at build time: make build, make release and the Dockerfile
// pass -ldflags "-X main.version=$(git describe --tags --always --dirty)".
var version = "dev"

func init() {
	register(command{name: "version", summary: "print the version, the commit and the Go toolchain", run: runVersion})
}

func runVersion(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("version", "version", stdout, stderr)
	if code, done := parseFlags(fs, args); done {
		return code
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "portcullis version: takes no arguments, got %q\n", fs.Arg(0))
		return 2
	}
	fmt.Fprintln(stdout, versionLine())
	return 0
}

// versionLine is "portcullis VERSION (commit REV[, modified]) GOVERSION OS/ARCH".
// A `go install` build has no -X flag: its module version stands in.
func versionLine() string {
	v, rev, modified := version, "", false
	if bi, ok := debug.ReadBuildInfo(); ok {
		if v == "dev" && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			v = bi.Main.Version
		}
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				rev = s.Value
			case "vcs.modified":
				modified = s.Value == "true"
			}
		}
	}
	commit := ""
	if rev != "" {
		if len(rev) > 12 {
			rev = rev[:12]
		}
		commit = " (commit " + rev
		if modified {
			commit += ", modified"
		}
		commit += ")"
	}
	return fmt.Sprintf("portcullis %s%s %s %s/%s", v, commit, runtime.Version(), runtime.GOOS, runtime.GOARCH)
}
