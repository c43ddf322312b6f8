package config

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/portcullis-gw/portcullis/keypath"
	"github.com/portcullis-gw/portcullis/upstream"
)

type fileRef struct {
	path keypath.Path
	p    *string
}

// fileRefs lists every file path in c with its key path.
func fileRefs(c *Config) []fileRef {
	var refs []fileRef
	add := func(path keypath.Path, p *string) { refs = append(refs, fileRef{path, p}) }
	addUpstream := func(path keypath.Path, u *upstream.Config) {
		add(path.Key("ca_file"), &u.CAFile)
		add(path.Key("cert_file"), &u.CertFile)
		add(path.Key("key_file"), &u.KeyFile)
	}
	if t := c.Server.TLS; t != nil {
		tls := keypath.Key("server").Key("tls")
		add(tls.Key("cert_file"), &t.CertFile)
		add(tls.Key("key_file"), &t.KeyFile)
		add(tls.Key("client_ca_file"), &t.ClientCAFile)
	}
	for i := range c.Identity.OIDC {
		add(keypath.Key("identity").Key("oidc").Index(i).Key("ca_file"), &c.Identity.OIDC[i].CAFile)
	}
	for i := range c.GraphQL {
		r := &c.GraphQL[i]
		p := keypath.Key("graphql").Index(i)
		addUpstream(p.Key("upstream"), &r.Upstream)
		for j := range r.Schema.Subgraphs {
			add(p.Key("schema").Key("subgraphs").Index(j).Key("file"), &r.Schema.Subgraphs[j].File)
		}
		add(p.Key("schema").Key("supergraph"), &r.Schema.Supergraph)
		add(p.Key("persisted_operations").Key("manifest"), &r.PersistedOperations.Manifest)
	}
	for i := range c.REST {
		r := &c.REST[i]
		p := keypath.Key("rest").Index(i)
		add(p.Key("openapi"), &r.OpenAPI)
		addUpstream(p.Key("upstream"), &r.Upstream)
	}
	return refs
}

// resolveFiles makes every relative file path absolute against dir (the
// config file's folder) and reports files that cannot be read as files,
// naming them as written.
func resolveFiles(c *Config, dir string) []Problem {
	var problems []Problem
	for _, ref := range fileRefs(c) {
		written := *ref.p
		if written == "" {
			continue
		}
		resolved := written
		if !filepath.IsAbs(resolved) {
			resolved = filepath.Join(dir, resolved)
		}
		*ref.p = resolved
		info, err := os.Stat(resolved)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			problems = append(problems, Problem{Path: ref.path, Message: fmt.Sprintf("no such file %q", written)})
		case err != nil:
			problems = append(problems, Problem{Path: ref.path, Message: fmt.Sprintf("checking file %q: %v", written, err)})
		case info.IsDir():
			problems = append(problems, Problem{Path: ref.path, Message: fmt.Sprintf("%q is a folder, not a file", written)})
		}
	}
	return problems
}
