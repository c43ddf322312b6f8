// Package chartcheck checks what `helm template` renders from the chart in
// deploy/helm/portcullis: the pod runs as the image expects (non-root,
// read-only root filesystem, no capabilities), probes the admin port, rolls
// on config changes, and the config it mounts passes `portcullis check`.
package chartcheck

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// ConfigPath is where the image reads its config (tools/image.ConfigPath).
const ConfigPath = "/etc/portcullis/portcullis.yaml"

type object = map[string]any

// Manifests are the rendered objects, by kind.
type Manifests struct {
	byKind map[string][]object
}

// Parse reads a multi-document YAML stream as `helm template` prints it.
func Parse(r io.Reader) (*Manifests, error) {
	m := &Manifests{byKind: map[string][]object{}}
	dec := yaml.NewDecoder(r)
	for {
		var o object
		err := dec.Decode(&o)
		if errors.Is(err, io.EOF) {
			return m, nil
		}
		if err != nil {
			return nil, fmt.Errorf("parsing the rendered manifests: %w", err)
		}
		if o == nil {
			continue
		}
		kind, _ := o["kind"].(string)
		m.byKind[kind] = append(m.byKind[kind], o)
	}
}

// Kinds lists the kinds rendered, sorted.
func (m *Manifests) Kinds() []string {
	var out []string
	for k := range m.byKind {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

func (m *Manifests) named(kind, name string) object {
	for _, o := range m.byKind[kind] {
		if get(o, "metadata", "name") == name {
			return o
		}
	}
	return nil
}

// get walks maps by keys; nil when a step is missing.
func get(o any, keys ...string) any {
	for _, k := range keys {
		m, ok := o.(object)
		if !ok {
			return nil
		}
		o = m[k]
	}
	return o
}

func list(o any) []any { l, _ := o.([]any); return l }

func str(o any) string { s, _ := o.(string); return s }

// Pod is what Check found in the Deployment, for the config check.
type Pod struct {
	ConfigMap string            // name of the ConfigMap mounted at /etc/portcullis
	Items     map[string]string // ConfigMap key -> path below /etc/portcullis
	Secrets   []string          // Secrets the container takes its environment from
	Env       map[string]string // plain environment variables
	TLSSecret string            // Secret mounted at /etc/portcullis/tls
	HTTPPort  int
	AdminPort int
}

// CheckDeployment lists every way the rendered Deployment departs from what
// the image and docs/deploying.md expect.
func (m *Manifests) CheckDeployment() (*Pod, []string) {
	var problems []string
	bad := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
	deps := m.byKind["Deployment"]
	if len(deps) != 1 {
		return nil, []string{fmt.Sprintf("want one Deployment, got %d", len(deps))}
	}
	d := deps[0]
	ann, _ := get(d, "spec", "template", "metadata", "annotations").(map[string]any)
	if str(ann["checksum/config"]) == "" {
		bad("pod template has no checksum/config annotation: a config change would not roll the pods")
	}
	spec := get(d, "spec", "template", "spec")
	if get(spec, "securityContext", "runAsNonRoot") != true {
		bad("pod securityContext.runAsNonRoot is not true")
	}
	if uid, ok := get(spec, "securityContext", "runAsUser").(int); !ok || uid == 0 {
		bad("pod securityContext.runAsUser is %v, want a non-zero uid", get(spec, "securityContext", "runAsUser"))
	}
	containers := list(get(spec, "containers"))
	if len(containers) != 1 {
		return nil, append(problems, fmt.Sprintf("want one container, got %d", len(containers)))
	}
	c := containers[0]
	if get(c, "securityContext", "readOnlyRootFilesystem") != true {
		bad("container securityContext.readOnlyRootFilesystem is not true")
	}
	if get(c, "securityContext", "allowPrivilegeEscalation") != false {
		bad("container securityContext.allowPrivilegeEscalation is not false")
	}
	if drop := list(get(c, "securityContext", "capabilities", "drop")); !slices.Contains(drop, any("ALL")) {
		bad("container capabilities.drop %v lacks ALL", drop)
	}
	pod := &Pod{Items: map[string]string{}, Env: map[string]string{}}
	for _, p := range list(get(c, "ports")) {
		port, _ := get(p, "containerPort").(int)
		switch get(p, "name") {
		case "http":
			pod.HTTPPort = port
		case "admin":
			pod.AdminPort = port
		}
	}
	if pod.AdminPort == 0 || pod.HTTPPort == 0 {
		bad("container ports lack http or admin: %v", get(c, "ports"))
	}
	for probe, path := range map[string]string{"livenessProbe": "/healthz", "readinessProbe": "/readyz"} {
		if got, port := str(get(c, probe, "httpGet", "path")), get(c, probe, "httpGet", "port"); got != path || (port != "admin" && port != pod.AdminPort) {
			bad("%s is %v on port %v, want %s on the admin port", probe, got, port, path)
		}
	}
	if args := list(get(c, "args")); len(args) < 3 || args[0] != "serve" || args[1] != "-c" || args[2] != ConfigPath {
		bad("container args %v, want serve -c %s", args, ConfigPath)
	}
	for _, e := range list(get(c, "envFrom")) {
		if n := str(get(e, "secretRef", "name")); n != "" {
			pod.Secrets = append(pod.Secrets, n)
		}
	}
	for _, e := range list(get(c, "env")) {
		pod.Env[str(get(e, "name"))] = str(get(e, "value"))
	}
	mounts := map[string]string{}
	for _, vm := range list(get(c, "volumeMounts")) {
		mounts[str(get(vm, "name"))] = str(get(vm, "mountPath"))
	}
	for _, v := range list(get(spec, "volumes")) {
		name := str(get(v, "name"))
		switch mounts[name] {
		case filepath.Dir(ConfigPath):
			pod.ConfigMap = str(get(v, "configMap", "name"))
			for _, it := range list(get(v, "configMap", "items")) {
				pod.Items[str(get(it, "key"))] = str(get(it, "path"))
			}
		case filepath.Dir(ConfigPath) + "/tls":
			pod.TLSSecret = str(get(v, "secret", "secretName"))
		}
	}
	if pod.ConfigMap == "" {
		bad("no ConfigMap is mounted at %s", filepath.Dir(ConfigPath))
	}
	return pod, problems
}

// WriteConfig lays out the pod's /etc/portcullis in dir from the rendered
// ConfigMap (and a throwaway certificate where a TLS Secret is mounted) and
// returns the environment the container would get. ok is false when the
// ConfigMap is not rendered (an existing one the chart only names).
func (m *Manifests) WriteConfig(pod *Pod, dir string) (env []string, ok bool, err error) {
	cm := m.named("ConfigMap", pod.ConfigMap)
	if cm == nil {
		return nil, false, nil
	}
	data, _ := get(cm, "data").(map[string]any)
	if len(pod.Items) == 0 {
		for k := range data {
			pod.Items[k] = k
		}
	}
	for key, path := range pod.Items {
		text, present := data[key]
		if !present {
			return nil, true, fmt.Errorf("ConfigMap %s has no key %s (mounted as %s)", pod.ConfigMap, key, path)
		}
		p := filepath.Join(dir, filepath.FromSlash(path))
		if !strings.HasPrefix(p, filepath.Clean(dir)+string(filepath.Separator)) {
			return nil, true, fmt.Errorf("ConfigMap item path %q leaves the config folder", path)
		}
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return nil, true, err
		}
		if err := os.WriteFile(p, []byte(str(text)), 0o644); err != nil {
			return nil, true, err
		}
	}
	if pod.TLSSecret != "" {
		if err := writeTLS(filepath.Join(dir, "tls")); err != nil {
			return nil, true, err
		}
	}
	for k, v := range pod.Env {
		env = append(env, k+"="+v)
	}
	for _, name := range pod.Secrets {
		s := m.named("Secret", name)
		if s == nil {
			// An existing Secret: its keys are unknown here, so the check
			// runs without them and reports the variables it lacks.
			continue
		}
		for k, v := range mapOf(get(s, "stringData")) {
			env = append(env, k+"="+str(v))
		}
		for k, v := range mapOf(get(s, "data")) {
			b, err := base64.StdEncoding.DecodeString(str(v))
			if err != nil {
				return nil, true, fmt.Errorf("secret %s key %s: %w", name, k, err)
			}
			env = append(env, k+"="+string(b))
		}
	}
	slices.Sort(env)
	return env, true, nil
}

func mapOf(o any) map[string]any { m, _ := o.(map[string]any); return m }

// writeTLS writes a self-signed certificate as tls.crt, tls.key and ca.crt,
// the keys of a kubernetes.io/tls Secret (ca.crt as cert-manager adds it).
func writeTLS(dir string) error {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "portcullis chart check"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return err
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	for name, b := range map[string][]byte{
		"tls.crt": certPEM, "ca.crt": certPEM,
		"tls.key": pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}),
	} {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o600); err != nil {
			return err
		}
	}
	return nil
}

// CheckConfig runs `portcullis check` on the laid-out config with env, and
// checks that the config listens on the ports the pod exposes.
func CheckConfig(portcullis, dir string, env []string, pod *Pod) []string {
	var problems []string
	cfgPath := filepath.Join(dir, filepath.Base(ConfigPath))
	cmd := exec.Command(portcullis, "check", "-c", cfgPath)
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH")}, env...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		problems = append(problems, fmt.Sprintf("portcullis check on the rendered config: %v\n%s", err, out.String()))
	}
	raw, err := os.ReadFile(cfgPath)
	if err != nil {
		return append(problems, err.Error())
	}
	var cfg struct {
		Server struct {
			Listen      string `yaml:"listen"`
			AdminListen string `yaml:"admin_listen"`
		} `yaml:"server"`
	}
	if err := yaml.Unmarshal(raw, &cfg); err != nil {
		return append(problems, fmt.Sprintf("the rendered config is not YAML: %v", err))
	}
	for _, l := range []struct {
		key, addr string
		port      int
	}{{"server.listen", cfg.Server.Listen, pod.HTTPPort}, {"server.admin_listen", cfg.Server.AdminListen, pod.AdminPort}} {
		_, port, err := net.SplitHostPort(l.addr)
		if err != nil || port != fmt.Sprint(l.port) {
			problems = append(problems, fmt.Sprintf("%s is %q but the container port is %d", l.key, l.addr, l.port))
		}
	}
	return problems
}
