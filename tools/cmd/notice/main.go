// Command notice writes NOTICE: the licences of every third-party module the
// portcullis binary links (make notice).
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/portcullis-gw/portcullis/tools/notice"
)

func main() {
	out := flag.String("o", "NOTICE", "output `file`, or - for standard output")
	dir := flag.String("C", ".", "the main module's `directory`")
	flag.Parse()
	pkgs := flag.Args()
	if len(pkgs) == 0 {
		pkgs = []string{"./cmd/portcullis"}
	}
	text, err := notice.Generate(notice.Options{Dir: *dir, Packages: pkgs})
	if err != nil {
		fmt.Fprintln(os.Stderr, "notice:", err)
		os.Exit(1)
	}
	if *out == "-" {
		_, err = os.Stdout.Write(text)
	} else {
		err = os.WriteFile(*out, text, 0o644)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "notice:", err)
		os.Exit(1)
	}
}
