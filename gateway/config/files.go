package config

import (
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"

	"github.com/portcullis-gw/portcullis/keypath"
	"github.com/portcullis-gw/portcullis/upstream"
)

type fileRef struct {
	path keypath.Path
	p    *string
	// set, when not nil, stores the resolved path where p cannot point.
	set func(string)
	// mayBeMissing: a file the gateway writes (the operation record); its
	// folder must exist.
	mayBeMissing bool
}

// fileRefs lists every file path in c with its key path.
func fileRefs(c *Config) []fileRef {
	var refs []fileRef
	add := func(path keypath.Path, p *string) { refs = append(refs, fileRef{path: path, p: p}) }
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
	if t := c.RateLimit.Redis.TLS; t != nil {
		rt := keypath.Key("rate_limit").Key("redis").Key("tls")
		add(rt.Key("ca_file"), &t.CAFile)
		add(rt.Key("cert_file"), &t.CertFile)
		add(rt.Key("key_file"), &t.KeyFile)
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
		po := &r.PersistedOperations
		pp := p.Key("persisted_operations")
		add(pp.Key("manifest"), &po.Manifest)
		for j := range po.Manifests {
			add(pp.Key("manifests").Index(j), &po.Manifests[j])
		}
		for _, name := range slices.Sorted(maps.Keys(po.Clients)) {
			// Map values are not addressable: resolve a copy, then store it.
			f := po.Clients[name]
			refs = append(refs, fileRef{path: pp.Key("clients").Key(name), p: &f,
				set: func(v string) { po.Clients[name] = v }})
		}
		if rec := po.Record; rec != nil {
			refs = append(refs, fileRef{path: pp.Key("record").Key("file"), p: &rec.File, mayBeMissing: true})
		}
		for _, name := range slices.Sorted(maps.Keys(r.SubgraphUpstreams)) {
			if u := r.SubgraphUpstreams[name]; u != nil {
				sp := p.Key("subgraph_upstreams").Key(name)
				add(sp.Key("ca_file"), &u.CAFile)
				add(sp.Key("cert_file"), &u.CertFile)
				add(sp.Key("key_file"), &u.KeyFile)
			}
		}
	}
	for i := range c.REST {
		r := &c.REST[i]
		p := keypath.Key("rest").Index(i)
		add(p.Key("openapi"), &r.OpenAPI)
		addUpstream(p.Key("upstream"), &r.Upstream)
	}
	for i := range c.Audit.Sinks {
		add(keypath.Key("audit").Key("sinks").Index(i).Key("ca_file"), &c.Audit.Sinks[i].CAFile)
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
			problems = append(problems, Problem{Path: keypath.Key("audit").Key("sinks").Index(i).Key("path"), Message: fmt.Sprintf("the folder of %q does not exist", written)})
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
		if ref.set != nil {
			ref.set(resolved)
		}
		info, err := os.Stat(resolved)
		if ref.mayBeMissing && errors.Is(err, fs.ErrNotExist) {
			if d, derr := os.Stat(filepath.Dir(resolved)); derr != nil || !d.IsDir() {
				problems = append(problems, Problem{Path: ref.path, Message: fmt.Sprintf("the folder of %q does not exist", written)})
			}
			continue
		}
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
