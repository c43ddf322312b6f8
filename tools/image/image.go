// Package image builds the portcullis container image without a container
// daemon: one layer holding the static binary, the CA bundle, LICENSE and
// NOTICE on an empty base (no shell, no package manager), written as an OCI
// image layout archive (https://github.com/opencontainers/image-spec,
// image-layout.md) that `skopeo copy oci-archive:...`, `podman load` or
// `docker load` (Docker 25+) read.
//
// The Dockerfile at the repository root builds the same image with a daemon;
// a test keeps the two in agreement.
package image

import (
	"archive/tar"
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// The image's shape, shared with the Dockerfile (a test compares them).
const (
	BinaryPath = "/usr/local/bin/portcullis"
	ConfigPath = "/etc/portcullis/portcullis.yaml"
	CAPath     = "/etc/ssl/certs/ca-certificates.crt"
	DocDir     = "/usr/share/doc/portcullis"
	// User is numeric so the kubelet can verify runAsNonRoot without an
	// /etc/passwd in the image; 65532 is the "nonroot" user of distroless.
	User = "65532:65532"
)

// Entrypoint and Cmd: the container runs `portcullis serve -c ConfigPath`
// unless told otherwise (`docker run IMAGE version`).
var (
	Entrypoint = []string{BinaryPath}
	Cmd        = []string{"serve", "-c", ConfigPath}
	// Ports: the front door and the admin listener of configs/demo.yaml.
	Ports = []string{"8080/tcp", "9090/tcp"}
)

// Options say what goes into the image.
type Options struct {
	Version string
	// Binaries maps a platform ("linux/amd64") to a static portcullis binary.
	Binaries map[string]string
	CABundle string // PEM file copied to CAPath
	License  string // LICENSE and NOTICE files copied to DocDir
	Notice   string
	// Created is the image's creation time; the zero value gives the Unix
	// epoch, so the same inputs give the same digests.
	Created time.Time
}

// Build returns the image index with one image per platform.
func Build(o Options) (v1.ImageIndex, error) {
	if len(o.Binaries) == 0 {
		return nil, fmt.Errorf("no binaries given")
	}
	if o.Created.IsZero() {
		o.Created = time.Unix(0, 0)
	}
	platforms := make([]string, 0, len(o.Binaries))
	for p := range o.Binaries {
		platforms = append(platforms, p)
	}
	slices.Sort(platforms)
	idx := mutate.IndexMediaType(empty.Index, types.OCIImageIndex)
	for _, p := range platforms {
		osName, arch, ok := strings.Cut(p, "/")
		if !ok || osName != "linux" {
			return nil, fmt.Errorf("platform %q: want linux/ARCH", p)
		}
		img, err := buildOne(o, o.Binaries[p], arch)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", p, err)
		}
		idx = mutate.AppendManifests(idx, mutate.IndexAddendum{
			Add: img,
			Descriptor: v1.Descriptor{
				Platform:    &v1.Platform{OS: osName, Architecture: arch},
				Annotations: map[string]string{"org.opencontainers.image.version": o.Version},
			},
		})
	}
	return idx, nil
}

func buildOne(o Options, binary, arch string) (v1.Image, error) {
	files := []file{
		{path: BinaryPath, src: binary, mode: 0o755},
		{path: CAPath, src: o.CABundle, mode: 0o644},
		{path: DocDir + "/LICENSE", src: o.License, mode: 0o644},
		{path: DocDir + "/NOTICE", src: o.Notice, mode: 0o644},
	}
	layerTar, err := tarFiles(files, o.Created)
	if err != nil {
		return nil, err
	}
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(layerTar)), nil
	}, tarball.WithMediaType(types.OCILayer))
	if err != nil {
		return nil, err
	}
	base := mutate.ConfigMediaType(mutate.MediaType(empty.Image, types.OCIManifestSchema1), types.OCIConfigJSON)
	img, err := mutate.Append(base, mutate.Addendum{
		Layer:     layer,
		MediaType: types.OCILayer,
		History:   v1.History{CreatedBy: "portcullis tools/image", Created: v1.Time{Time: o.Created.UTC()}},
	})
	if err != nil {
		return nil, err
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = "linux", arch
	cf.Created = v1.Time{Time: o.Created.UTC()}
	cf.Config = v1.Config{
		Entrypoint:   Entrypoint,
		Cmd:          Cmd,
		User:         User,
		WorkingDir:   "/",
		Env:          []string{"SSL_CERT_FILE=" + CAPath},
		ExposedPorts: map[string]struct{}{},
		Labels: map[string]string{
			"org.opencontainers.image.title":    "portcullis",
			"org.opencontainers.image.version":  o.Version,
			"org.opencontainers.image.licenses": "Apache-2.0",
			"org.opencontainers.image.source":   "https://github.com/portcullis-gw/portcullis",
		},
	}
	for _, p := range Ports {
		cf.Config.ExposedPorts[p] = struct{}{}
	}
	return mutate.ConfigFile(img, cf)
}

type file struct {
	path string
	src  string
	mode int64
}

// tarFiles writes the layer: the parent directories, then each file, owned by
// root and not writable by the container's user, with one fixed time.
func tarFiles(files []file, created time.Time) ([]byte, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	dirs := map[string]bool{}
	for _, f := range files {
		var parents []string
		for d := filepath.Dir(f.path); d != "/" && !dirs[d]; d = filepath.Dir(d) {
			parents = append(parents, d)
			dirs[d] = true
		}
		slices.Reverse(parents)
		for _, d := range parents {
			if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: strings.TrimPrefix(d, "/") + "/", Mode: 0o755, ModTime: created, Format: tar.FormatPAX}); err != nil {
				return nil, err
			}
		}
		b, err := os.ReadFile(f.src)
		if err != nil {
			return nil, err
		}
		h := &tar.Header{Typeflag: tar.TypeReg, Name: strings.TrimPrefix(f.path, "/"), Mode: f.mode, Size: int64(len(b)), ModTime: created, Format: tar.FormatPAX}
		if err := tw.WriteHeader(h); err != nil {
			return nil, err
		}
		if _, err := tw.Write(b); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// WriteArchive writes idx as an OCI image layout and packs it into one tar
// file at out (an "oci-archive"), tagged with ref.
func WriteArchive(idx v1.ImageIndex, ref, out string) error {
	dir, err := os.MkdirTemp("", "portcullis-oci")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	// The layout's index.json names the multi-platform index by tag, as
	// `skopeo copy oci-archive:FILE:TAG` and `docker load` look it up.
	p, err := layout.Write(dir, empty.Index)
	if err != nil {
		return err
	}
	if err := p.AppendIndex(idx, layout.WithAnnotations(map[string]string{"org.opencontainers.image.ref.name": ref})); err != nil {
		return err
	}
	return tarDir(dir, out)
}

func tarDir(dir, out string) error {
	f, err := os.Create(out)
	if err != nil {
		return err
	}
	tw := tar.NewWriter(f)
	err = filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil || path == dir {
			return err
		}
		rel, err := filepath.Rel(dir, path)
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		h, err := tar.FileInfoHeader(info, "")
		if err != nil {
			return err
		}
		h.Name = filepath.ToSlash(rel)
		if d.IsDir() {
			h.Name += "/"
		}
		h.ModTime, h.AccessTime, h.ChangeTime = time.Unix(0, 0), time.Time{}, time.Time{}
		h.Uid, h.Gid, h.Uname, h.Gname = 0, 0, "", ""
		h.Format = tar.FormatPAX
		if err := tw.WriteHeader(h); err != nil {
			return err
		}
		if d.IsDir() {
			return nil
		}
		src, err := os.Open(path)
		if err != nil {
			return err
		}
		defer src.Close()
		_, err = io.Copy(tw, src)
		return err
	})
	if cerr := tw.Close(); err == nil {
		err = cerr
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}
