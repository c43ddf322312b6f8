// Command chartcheck reads `helm template` output on standard input and
// checks the Deployment and the config it mounts (.ci/helm.sh runs it).
package main

import (
	"flag"
	"fmt"
	"os"
	"strings"

	"github.com/portcullis-gw/portcullis/tools/chartcheck"
)

func main() {
	portcullis := flag.String("portcullis", "bin/portcullis", "the portcullis `binary` that checks the rendered config")
	label := flag.String("label", "chart", "what is checked, for messages (the values file)")
	flag.Parse()
	m, err := chartcheck.Parse(os.Stdin)
	if err != nil {
		fail(*label, []string{err.Error()})
	}
	pod, problems := m.CheckDeployment()
	if pod == nil || len(problems) > 0 {
		fail(*label, problems)
	}
	dir, err := os.MkdirTemp("", "portcullis-chart")
	if err != nil {
		fail(*label, []string{err.Error()})
	}
	defer os.RemoveAll(dir)
	env, rendered, err := m.WriteConfig(pod, dir)
	if err != nil {
		fail(*label, []string{err.Error()})
	}
	if !rendered {
		fmt.Printf("%s: ok (%s); config from the existing ConfigMap %s, which the chart does not render\n", *label, strings.Join(m.Kinds(), ", "), pod.ConfigMap)
		return
	}
	if problems := chartcheck.CheckConfig(*portcullis, dir, env, pod); len(problems) > 0 {
		os.RemoveAll(dir)
		fail(*label, problems)
	}
	fmt.Printf("%s: ok (%s); portcullis check passed on the rendered config\n", *label, strings.Join(m.Kinds(), ", "))
}

func fail(label string, problems []string) {
	fmt.Fprintf(os.Stderr, "%s: %d problem(s):\n  %s\n", label, len(problems), strings.Join(problems, "\n  "))
	os.Exit(1)
}
