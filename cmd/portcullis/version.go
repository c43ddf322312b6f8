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

// buildVersion is the -ldflags version, else the module's from the build
// info (a `go install` build has no -X flag), else "dev".
func buildVersion() string {
	v := version
	if bi, ok := debug.ReadBuildInfo(); ok && v == "dev" && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		v = bi.Main.Version
	}
	return v
}

// versionLine is "portcullis VERSION (commit REV[, modified]) GOVERSION OS/ARCH".
func versionLine() string {
	v, rev, modified := buildVersion(), "", false
	if bi, ok := debug.ReadBuildInfo(); ok {
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
