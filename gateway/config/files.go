package config

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/portcullis-gw/portcullis/upstream"
)

type fileRef struct {
	path string
	p    *string
}

// fileRefs lists every file path in c with its key path.
func fileRefs(c *Config) []fileRef {
	var refs []fileRef
	add := func(path string, p *string) { refs = append(refs, fileRef{path, p}) }
	addUpstream := func(path string, u *upstream.Config) {
		add(path+".ca_file", &u.CAFile)
		add(path+".cert_file", &u.CertFile)
		add(path+".key_file", &u.KeyFile)
	}
	if t := c.Server.TLS; t != nil {
		add("server.tls.cert_file", &t.CertFile)
		add("server.tls.key_file", &t.KeyFile)
		add("server.tls.client_ca_file", &t.ClientCAFile)
	}
	if t := c.RateLimit.Redis.TLS; t != nil {
		add("rate_limit.redis.tls.ca_file", &t.CAFile)
		add("rate_limit.redis.tls.cert_file", &t.CertFile)
		add("rate_limit.redis.tls.key_file", &t.KeyFile)
	}
	for i := range c.Identity.OIDC {
		add(fmt.Sprintf("identity.oidc[%d].ca_file", i), &c.Identity.OIDC[i].CAFile)
	}
	for i := range c.GraphQL {
		r := &c.GraphQL[i]
		p := joinIndex("graphql", i)
		addUpstream(p+".upstream", &r.Upstream)
		for j := range r.Schema.Subgraphs {
			add(fmt.Sprintf("%s.schema.subgraphs[%d].file", p, j), &r.Schema.Subgraphs[j].File)
		}
		add(p+".schema.supergraph", &r.Schema.Supergraph)
		add(p+".persisted_operations.manifest", &r.PersistedOperations.Manifest)
	}
	for i := range c.REST {
		r := &c.REST[i]
		p := joinIndex("rest", i)
		add(p+".openapi", &r.OpenAPI)
		addUpstream(p+".upstream", &r.Upstream)
	}
	for i := range c.Audit.Sinks {
		add(fmt.Sprintf("audit.sinks[%d].ca_file", i), &c.Audit.Sinks[i].CAFile)
	}
	return refs
}

// resolveOutputs makes the relative paths of files the gateway writes
// absolute against dir; the file may not exist yet, its folder must.
func resolveOutputs(c *Config, dir string) []Problem {
	var problems []Problem
	for i := range c.Audit.Sinks {
		s := &c.Audit.Sinks[i]
		if s.Type != "file" || s.Path == "" {
			continue
		}
		written := s.Path
		if !filepath.IsAbs(s.Path) {
			s.Path = filepath.Join(dir, s.Path)
		}
		if info, err := os.Stat(filepath.Dir(s.Path)); err != nil || !info.IsDir() {
			problems = append(problems, Problem{Path: fmt.Sprintf("audit.sinks[%d].path", i), Message: fmt.Sprintf("the folder of %q does not exist", written)})
		}
	}
	return problems
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
