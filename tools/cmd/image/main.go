// Command image writes the portcullis container image as an OCI image
// layout archive, without a container daemon (make image).
package main

import (
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/portcullis-gw/portcullis/tools/image"
)

type binaries map[string]string

func (b binaries) String() string { return fmt.Sprint(map[string]string(b)) }
func (b binaries) Set(v string) error {
	platform, path, ok := strings.Cut(v, "=")
	if !ok || platform == "" || path == "" {
		return fmt.Errorf("want PLATFORM=FILE, e.g. linux/amd64=dist/portcullis-linux-amd64")
	}
	b[platform] = path
	return nil
}

func main() {
	bins := binaries{}
	flag.Var(bins, "bin", "`PLATFORM=FILE`: a static linux binary for that platform (repeatable)")
	version := flag.String("version", "dev", "image version (label and tag)")
	out := flag.String("o", "dist/portcullis-oci.tar", "output OCI archive `file`")
	ca := flag.String("ca", "/etc/ssl/certs/ca-certificates.crt", "CA bundle `file` to include (install ca-certificates)")
	license := flag.String("license", "LICENSE", "LICENSE `file`")
	notice := flag.String("notice", "NOTICE", "NOTICE `file`")
	flag.Parse()
	created := time.Unix(0, 0)
	// Reproducible builds: https://reproducible-builds.org/specs/source-date-epoch/
	if s := os.Getenv("SOURCE_DATE_EPOCH"); s != "" {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			fmt.Fprintf(os.Stderr, "image: SOURCE_DATE_EPOCH %q is not a number of seconds\n", s)
			os.Exit(2)
		}
		created = time.Unix(n, 0)
	}
	idx, err := image.Build(image.Options{Version: *version, Binaries: bins, CABundle: *ca, License: *license, Notice: *notice, Created: created})
	if err == nil {
		err = image.WriteArchive(idx, *version, *out)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "image:", err)
		os.Exit(1)
	}
	d, _ := idx.Digest()
	fmt.Printf("%s: index %s\n", *out, d)
}
