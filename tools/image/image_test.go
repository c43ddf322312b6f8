package image

import (
	"archive/tar"
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/validate"
)

const testVersion = "v0.0.0-imagetest"

// binary is the real portcullis command, built once in TestMain as make
// build does: static (CGO_ENABLED=0), for linux on this machine's
// architecture so the test can run it. Building before m.Run keeps a slow
// compile on a busy machine outside the test timeout.
var binary string

func TestMain(m *testing.M) {
	if runtime.GOOS != "linux" {
		fmt.Fprintf(os.Stderr, "the image test runs the image's linux binary; it needs a linux machine, not %s\n", runtime.GOOS)
		os.Exit(1)
	}
	dir, err := os.MkdirTemp("", "portcullis-image-test")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "portcullis")
	cmd := exec.Command("go", "build", "-ldflags", "-X main.version="+testVersion, "-o", binary, "../../cmd/portcullis")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+runtime.GOARCH)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building portcullis:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// untar unpacks an archive into dir, refusing names that leave it.
func untar(t *testing.T, r io.Reader, dir string) []*tar.Header {
	t.Helper()
	var headers []*tar.Header
	tr := tar.NewReader(r)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return headers
		}
		if err != nil {
			t.Fatal(err)
		}
		headers = append(headers, h)
		if dir == "" {
			continue
		}
		p := filepath.Join(dir, h.Name)
		if !strings.HasPrefix(p, filepath.Clean(dir)+string(filepath.Separator)) {
			t.Fatalf("archive entry %q leaves the directory", h.Name)
		}
		switch h.Typeflag {
		case tar.TypeDir:
			if err := os.MkdirAll(p, 0o755); err != nil {
				t.Fatal(err)
			}
		case tar.TypeReg:
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				t.Fatal(err)
			}
			f, err := os.OpenFile(p, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, os.FileMode(h.Mode)&0o755|0o600)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := io.Copy(f, tr); err != nil {
				t.Fatal(err)
			}
			f.Close()
		default:
			t.Fatalf("unexpected entry type %q for %s", h.Typeflag, h.Name)
		}
	}
}

// TestImage builds the image archive as make image does, then opens it as a
// runtime would: the layout's index, the platform's manifest and config, the
// layer's files; and runs the binary it carries.
func TestImage(t *testing.T) {
	bin := binary
	platform := "linux/" + runtime.GOARCH
	opts := Options{Version: testVersion, Binaries: map[string]string{platform: bin},
		CABundle: "testdata/ca.pem", License: "../../LICENSE", Notice: "../../NOTICE"}
	idx, err := Build(opts)
	if err != nil {
		t.Fatal(err)
	}
	archive := filepath.Join(t.TempDir(), "portcullis-oci.tar")
	if err := WriteArchive(idx, testVersion, archive); err != nil {
		t.Fatal(err)
	}

	// Open the archive from the file alone.
	layoutDir := t.TempDir()
	f, err := os.Open(archive)
	if err != nil {
		t.Fatal(err)
	}
	untar(t, f, layoutDir)
	f.Close()
	var top struct {
		Manifests []v1.Descriptor `json:"manifests"`
	}
	raw, err := os.ReadFile(filepath.Join(layoutDir, "index.json"))
	if err != nil {
		t.Fatalf("no index.json in the archive: %v", err)
	}
	if err := json.Unmarshal(raw, &top); err != nil {
		t.Fatal(err)
	}
	if len(top.Manifests) != 1 || top.Manifests[0].Annotations["org.opencontainers.image.ref.name"] != testVersion {
		t.Fatalf("index.json manifests = %+v, want one tagged %s", top.Manifests, testVersion)
	}
	p, err := layout.FromPath(layoutDir)
	if err != nil {
		t.Fatal(err)
	}
	outer, err := p.ImageIndex()
	if err != nil {
		t.Fatal(err)
	}
	opened, err := outer.ImageIndex(top.Manifests[0].Digest)
	if err != nil {
		t.Fatal(err)
	}
	// Every digest and size in the archive matches its content.
	if err := validate.Index(opened); err != nil {
		t.Fatalf("the archive does not validate: %v", err)
	}
	im, err := opened.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	if len(im.Manifests) != 1 || im.Manifests[0].Platform == nil || im.Manifests[0].Platform.String() != platform {
		t.Fatalf("index manifests = %+v, want one for %s", im.Manifests, platform)
	}
	img, err := opened.Image(im.Manifests[0].Digest)
	if err != nil {
		t.Fatal(err)
	}
	checkConfig(t, img)
	root := t.TempDir()
	checkFiles(t, img, root)

	for _, args := range [][]string{{"version"}, {"--version"}} {
		out, err := exec.Command(filepath.Join(root, BinaryPath), args...).CombinedOutput()
		if err != nil {
			t.Fatalf("the image's binary %v: %v\n%s", args, err, out)
		}
		if !strings.HasPrefix(string(out), "portcullis "+testVersion+" ") {
			t.Errorf("the image's binary %v printed %q", args, out)
		}
	}

	// The same inputs give the same image.
	again, err := Build(opts)
	if err != nil {
		t.Fatal(err)
	}
	d1, _ := idx.Digest()
	d2, _ := again.Digest()
	if d1 != d2 {
		t.Errorf("two builds of the same inputs differ: %s, %s", d1, d2)
	}
}

func checkConfig(t *testing.T, img v1.Image) {
	t.Helper()
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	c := cf.Config
	if !slices.Equal(c.Entrypoint, []string{"/usr/local/bin/portcullis"}) {
		t.Errorf("entrypoint %q", c.Entrypoint)
	}
	if !slices.Equal(c.Cmd, []string{"serve", "-c", "/etc/portcullis/portcullis.yaml"}) {
		t.Errorf("cmd %q", c.Cmd)
	}
	uid, _, _ := strings.Cut(c.User, ":")
	if c.User != "65532:65532" || uid == "0" || uid == "root" {
		t.Errorf("user %q, want the numeric non-root 65532:65532", c.User)
	}
	if c.Healthcheck != nil {
		t.Errorf("the image has a HEALTHCHECK %+v; the orchestrator probes /healthz and /readyz", c.Healthcheck)
	}
	if _, ok := c.ExposedPorts["8080/tcp"]; !ok {
		t.Errorf("exposed ports %v lack 8080/tcp", c.ExposedPorts)
	}
	if cf.OS != "linux" || cf.Architecture != runtime.GOARCH {
		t.Errorf("config platform %s/%s", cf.OS, cf.Architecture)
	}
	if c.Labels["org.opencontainers.image.version"] != testVersion || c.Labels["org.opencontainers.image.licenses"] != "Apache-2.0" {
		t.Errorf("labels %v", c.Labels)
	}
}

// checkFiles unpacks the image's layers into root and checks what is there:
// the binary, CA bundle and licences, nothing else (no shell), all owned by
// root and not writable by the container's user.
func checkFiles(t *testing.T, img v1.Image, root string) {
	t.Helper()
	layers, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	var files []string
	for _, l := range layers {
		rc, err := l.Uncompressed()
		if err != nil {
			t.Fatal(err)
		}
		for _, h := range untar(t, rc, root) {
			if h.Uid != 0 || h.Gid != 0 {
				t.Errorf("%s owned by %d:%d, want root", h.Name, h.Uid, h.Gid)
			}
			if h.Mode&0o022 != 0 {
				t.Errorf("%s mode %o is writable by others", h.Name, h.Mode)
			}
			if h.Typeflag == tar.TypeReg {
				files = append(files, "/"+h.Name)
			}
		}
		rc.Close()
	}
	slices.Sort(files)
	want := []string{CAPath, BinaryPath, DocDir + "/LICENSE", DocDir + "/NOTICE"}
	slices.Sort(want)
	if !slices.Equal(files, want) {
		t.Errorf("image files %q, want exactly %q (no shell, no package manager)", files, want)
	}
	for path, src := range map[string]string{CAPath: "testdata/ca.pem", DocDir + "/NOTICE": "../../NOTICE"} {
		got, _ := os.ReadFile(filepath.Join(root, path))
		wantB, _ := os.ReadFile(src)
		if string(got) != string(wantB) || len(got) == 0 {
			t.Errorf("%s in the image differs from %s", path, src)
		}
	}
}

// TestDockerfileMatchesImage keeps the Dockerfile (a daemon's build) and this
// package (the daemonless build) producing the same image shape.
func TestDockerfileMatchesImage(t *testing.T) {
	f, err := os.Open("../../Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var final []string // instructions of the last stage
	stages := 0
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if strings.HasPrefix(strings.ToUpper(line), "HEALTHCHECK") {
			t.Errorf("Dockerfile has %q; the orchestrator probes /healthz and /readyz", line)
		}
		if strings.HasPrefix(strings.ToUpper(line), "FROM ") {
			stages++
			final = nil
		}
		final = append(final, line)
	}
	if stages < 2 {
		t.Errorf("Dockerfile has %d stage(s), want a build stage and a runtime stage", stages)
	}
	instr := map[string][]string{}
	for _, l := range final {
		k, v, _ := strings.Cut(l, " ")
		instr[strings.ToUpper(k)] = append(instr[strings.ToUpper(k)], strings.TrimSpace(v))
	}
	jsonList := func(s []string) string { b, _ := json.Marshal(s); return string(b) }
	expect := map[string]string{
		"FROM":       "scratch",
		"USER":       User,
		"ENTRYPOINT": jsonList(Entrypoint),
		"CMD":        jsonList(Cmd),
	}
	for k, want := range expect {
		got := instr[k]
		if len(got) != 1 || strings.ReplaceAll(got[0], ", ", ",") != want {
			t.Errorf("Dockerfile final stage %s = %q, want %s", k, got, want)
		}
	}
	copies := strings.Join(instr["COPY"], "\n")
	for _, dst := range []string{BinaryPath, CAPath, DocDir + "/"} {
		if !strings.Contains(copies, dst) {
			t.Errorf("Dockerfile final stage copies nothing to %s", dst)
		}
	}
	var exposed []string
	for _, p := range Ports {
		exposed = append(exposed, strings.TrimSuffix(p, "/tcp"))
	}
	if got := instr["EXPOSE"]; len(got) != 1 || got[0] != strings.Join(exposed, " ") {
		t.Errorf("Dockerfile EXPOSE %q, want %q", got, strings.Join(exposed, " "))
	}
}
