package chartcheck

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func readFixture(t *testing.T, edit func(string) string) *Manifests {
	t.Helper()
	raw, err := os.ReadFile("testdata/rendered.yaml")
	if err != nil {
		t.Fatal(err)
	}
	text := string(raw)
	if edit != nil {
		text = edit(text)
	}
	m, err := Parse(strings.NewReader(text))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestCheckDeploymentAcceptsTheChartsShape(t *testing.T) {
	m := readFixture(t, nil)
	pod, problems := m.CheckDeployment()
	if len(problems) > 0 {
		t.Fatalf("problems: %q", problems)
	}
	if pod.ConfigMap != "ci-portcullis" || pod.HTTPPort != 8080 || pod.AdminPort != 9090 || pod.TLSSecret != "ci-tls" {
		t.Fatalf("pod = %+v", pod)
	}
	if !slices.Equal(m.Kinds(), []string{"ConfigMap", "Deployment", "Secret"}) {
		t.Errorf("kinds %q", m.Kinds())
	}
}

// TestCheckDeploymentRefuses: each departure from the hardened shape is
// named.
func TestCheckDeploymentRefuses(t *testing.T) {
	cases := []struct{ name, from, to, want string }{
		{"writable root", "readOnlyRootFilesystem: true", "readOnlyRootFilesystem: false", "readOnlyRootFilesystem"},
		{"root user", "runAsUser: 65532", "runAsUser: 0", "runAsUser"},
		{"may run as root", "runAsNonRoot: true", "runAsNonRoot: false", "runAsNonRoot"},
		{"escalation", "allowPrivilegeEscalation: false", "allowPrivilegeEscalation: true", "allowPrivilegeEscalation"},
		{"capabilities kept", "drop: [ALL]", "drop: [NET_RAW]", "capabilities.drop"},
		{"no checksum", "checksum/config: 0123abcd", "other: x", "checksum/config"},
		{"liveness elsewhere", "httpGet: {path: /healthz, port: admin}", "httpGet: {path: /healthz, port: http}", "livenessProbe"},
		{"readiness wrong path", "path: /readyz", "path: /healthz", "readinessProbe"},
		{"config elsewhere", "mountPath: /etc/portcullis, readOnly", "mountPath: /config, readOnly", "no ConfigMap is mounted"},
		{"wrong args", `args: ["serve", "-c", "/etc/portcullis/portcullis.yaml"]`, `args: ["serve"]`, "container args"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m := readFixture(t, func(s string) string {
				if !strings.Contains(s, c.from) {
					t.Fatalf("fixture lacks %q", c.from)
				}
				return strings.Replace(s, c.from, c.to, 1)
			})
			_, problems := m.CheckDeployment()
			if !strings.Contains(strings.Join(problems, "\n"), c.want) {
				t.Errorf("problems %q, want one about %s", problems, c.want)
			}
		})
	}
}

func TestWriteConfigLaysOutThePod(t *testing.T) {
	m := readFixture(t, nil)
	pod, _ := m.CheckDeployment()
	dir := t.TempDir()
	env, rendered, err := m.WriteConfig(pod, dir)
	if err != nil || !rendered {
		t.Fatalf("WriteConfig: %v, rendered %v", err, rendered)
	}
	for _, f := range []string{"portcullis.yaml", "schemas/a.graphql", "tls/tls.crt", "tls/tls.key", "tls/ca.crt"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Errorf("%s not written: %v", f, err)
		}
	}
	want := []string{"EXTRA=extra", "REDIS_ADDR=redis:6379", "REDIS_PASSWORD=s3cret"}
	if !slices.Equal(env, want) {
		t.Errorf("env %q, want %q", env, want)
	}
}

func TestWriteConfigExistingConfigMap(t *testing.T) {
	m := readFixture(t, func(s string) string {
		return strings.Replace(s, "name: ci-portcullis\n    items:", "name: mine\n    items:", 1)
	})
	pod, _ := m.CheckDeployment()
	pod.ConfigMap = "mine"
	_, rendered, err := m.WriteConfig(pod, t.TempDir())
	if err != nil || rendered {
		t.Fatalf("an existing ConfigMap: rendered %v, err %v", rendered, err)
	}
}

func TestWriteConfigRefusesEscapingPaths(t *testing.T) {
	m := readFixture(t, func(s string) string { return strings.Replace(s, "path: schemas/a.graphql", "path: ../../etc/x", 1) })
	pod, _ := m.CheckDeployment()
	if _, _, err := m.WriteConfig(pod, t.TempDir()); err == nil || !strings.Contains(err.Error(), "leaves the config folder") {
		t.Fatalf("err = %v", err)
	}
}
