package config

import (
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"unicode"
)

// Validate applies defaults (see ApplyDefaults) and reports every problem
// in c: impossible values, unknown enum values, bad combinations, duplicate
// names, dangling references, cycles, and secrets that cannot be resolved.
// It returns nil or the errors.Join of one *FieldError per problem; it never
// stops at the first, never warns and never clamps. Secrets are read (env
// and files) but their values are never part of an error.
func (c *Config) Validate() error {
	p := &problems{source: c.Source}
	c.validate(p, true)
	return p.err()
}

// validate applies defaults and checks c; resolveSecrets reads every secret.
func (c *Config) validate(p *problems, resolveSecrets bool) {
	c.ApplyDefaults()
	v := &validator{p: p, c: c}
	v.server()
	v.cluster()
	v.names()
	for i := range c.Deployments {
		v.deployment(i, &c.Deployments[i])
	}
	for i := range c.Routers {
		v.router(i, &c.Routers[i])
	}
	v.cycles()
	if resolveSecrets {
		for _, s := range c.secrets() {
			if s.IsZero() || s.sources() != 1 {
				continue // reported as a shape problem already
			}
			if _, err := s.Resolve(); err != nil {
				p.addErr(err.(*FieldError))
			}
		}
	}
}

// secrets returns every secret set in c.
func (c *Config) secrets() []Secret {
	out := append([]Secret(nil), c.Server.APIKeys...)
	for _, d := range c.Deployments {
		for _, s := range []Secret{d.APIKey, d.Token} {
			if !s.IsZero() {
				out = append(out, s)
			}
		}
	}
	return out
}

type validator struct {
	p *problems
	c *Config
}

func (v *validator) add(path string, kind error, format string, args ...any) {
	v.p.add(path, kind, format, args...)
}

func (v *validator) nonNegInt(path string, n int) {
	if n < 0 {
		v.add(path, ErrOutOfRange, "must be ≥ 0, got %d", n)
	}
}

func (v *validator) atLeastOne(path string, n int) {
	if n < 1 {
		v.add(path, ErrOutOfRange, "must be ≥ 1, got %d", n)
	}
}

func (v *validator) nonNegFloat(path string, f float64) {
	if f < 0 {
		v.add(path, ErrOutOfRange, "must be ≥ 0, got %v", f)
	}
}

func (v *validator) positiveDur(path string, d Duration) {
	if d <= 0 {
		v.add(path, ErrOutOfRange, "must be > 0, got %v", d)
	}
}

func (v *validator) enum(path string, got string, allowed ...string) bool {
	if slices.Contains(allowed, got) {
		return true
	}
	if got == "" {
		v.add(path, ErrRequired, "must be one of %s", quoteList(allowed))
		return false
	}
	v.add(path, ErrInvalid, "must be one of %s, got %q", quoteList(allowed), got)
	return false
}

func quoteList(xs []string) string {
	q := make([]string, len(xs))
	for i, x := range xs {
		q[i] = strconv.Quote(x)
	}
	return strings.Join(q, ", ")
}

// hostPort checks a host:port address with a numeric port.
func (v *validator) hostPort(path, addr string) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		v.add(path, ErrInvalid, "must be host:port, got %q", addr)
		return
	}
	n, err := strconv.Atoi(port)
	if err != nil || n < 0 || n > 65535 {
		v.add(path, ErrInvalid, "port must be a number 0-65535, got %q", port)
		return
	}
	if strings.ContainsAny(host, " /") {
		v.add(path, ErrInvalid, "invalid host %q", host)
	}
}

// baseURL checks an http(s) URL with a host and no query or fragment.
func (v *validator) baseURL(path, raw string) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		v.add(path, ErrInvalid, "must be an http:// or https:// URL with a host, got %q", raw)
		return
	}
	if u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		v.add(path, ErrInvalid, "must be a base URL without query, fragment or user info, got %q", raw)
	}
}

// secretShape checks that s names exactly one source and, for one read
// from a file, that inline values were allowed (the caller passes that).
func (v *validator) secretShape(path string, s Secret) {
	if s.IsZero() && s.declared {
		v.add(path, ErrRequired, "empty secret reference: set from_env or from_file")
	}
	if s.sources() > 1 {
		v.add(path, ErrConflict, "set exactly one of from_env, from_file and value")
	}
}

// loopback reports whether a listen address only accepts local connections.
func loopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.IsLoopback()
}

func (v *validator) server() {
	s := &v.c.Server
	v.hostPort("server.listen", s.Listen)
	for i, k := range s.APIKeys {
		path := fmt.Sprintf("server.api_keys[%d]", i)
		if k.IsZero() && !k.declared {
			v.add(path, ErrRequired, "empty secret reference: set from_env or from_file")
		}
		v.secretShape(path, k)
	}
	if s.MaxBodyBytes < 0 {
		v.add("server.max_body_bytes", ErrOutOfRange, "must be > 0, got %d", s.MaxBodyBytes)
	}
	v.positiveDur("server.read_header_timeout", s.ReadHeaderTimeout)
	v.positiveDur("server.shutdown_timeout", s.ShutdownTimeout)
	if s.RequestTimeout < 0 {
		v.add("server.request_timeout", ErrOutOfRange, "must be ≥ 0 (0: no gateway-wide bound), got %v", s.RequestTimeout)
	}
	if _, _, err := net.SplitHostPort(s.Listen); err == nil && s.Admin.IsEnabled() && len(s.APIKeys) == 0 && !loopback(s.Listen) {
		v.add("server.admin.enabled", ErrConflict,
			"admin routes on the non-loopback address %q need server.api_keys; set api_keys or admin.enabled = false", s.Listen)
	}
}

func (v *validator) cluster() {
	cl := v.c.Cluster
	if cl == nil {
		return
	}
	if strings.TrimSpace(cl.Name) == "" {
		v.add("cluster.name", ErrRequired, "must not be blank")
	}
	v.enum("cluster.provider", string(cl.Provider), string(ProviderAutomanaged), string(ProviderEtcd))
	v.hostPort("cluster.listen", cl.Listen)
	for i, s := range cl.Seeds {
		v.hostPort(fmt.Sprintf("cluster.seeds[%d]", i), s)
	}
	for i, e := range cl.EtcdEndpoints {
		path := fmt.Sprintf("cluster.etcd_endpoints[%d]", i)
		if strings.Contains(e, "://") {
			v.baseURL(path, e)
		} else {
			v.hostPort(path, e)
		}
	}
	switch cl.Provider {
	case ProviderEtcd:
		if len(cl.EtcdEndpoints) == 0 {
			v.add("cluster.etcd_endpoints", ErrRequired, `provider "etcd" needs at least one endpoint`)
		}
		if len(cl.Seeds) > 0 {
			v.add("cluster.seeds", ErrConflict, `seeds are for provider "automanaged"; provider is "etcd"`)
		}
	case ProviderAutomanaged:
		if len(cl.EtcdEndpoints) > 0 {
			v.add("cluster.etcd_endpoints", ErrConflict, `etcd_endpoints are for provider "etcd"; provider is "automanaged"`)
		}
	}
	seen := map[Role]bool{}
	for i, r := range cl.Roles {
		path := fmt.Sprintf("cluster.roles[%d]", i)
		if !v.enum(path, string(r), string(RoleGPU), string(RoleEgress)) {
			continue
		}
		if seen[r] {
			v.add(path, ErrDuplicate, "role %q listed twice", r)
		}
		seen[r] = true
	}
}

// validName checks a deployment, router or tier name.
func (v *validator) validName(path, name string) {
	if name == "" {
		v.add(path, ErrRequired, "must be set")
		return
	}
	for _, r := range name {
		if r == '/' || unicode.IsSpace(r) || !unicode.IsPrint(r) {
			v.add(path, ErrInvalid, "must not contain %q, whitespace or control characters, got %q", "/", name)
			return
		}
	}
}

// names checks that deployment and router names are set and unique.
func (v *validator) names() {
	if len(v.c.Deployments) == 0 {
		v.add("deployment", ErrRequired, "at least one [[deployment]] is required")
	}
	seen := map[string]string{} // name -> path of first use
	check := func(path, name string) {
		v.validName(path, name)
		if name == "" {
			return
		}
		if first, dup := seen[name]; dup {
			v.add(path, ErrDuplicate, "name %q is already used by %s", name, strings.TrimSuffix(first, ".name"))
			return
		}
		seen[name] = path
	}
	for i, d := range v.c.Deployments {
		check(deploymentPath(i, d.Name)+".name", d.Name)
	}
	for i, r := range v.c.Routers {
		check(routerPath(i, r.Name)+".name", r.Name)
	}
}

// exists reports whether name is a deployment or a router.
func (v *validator) exists(name string) bool {
	if _, ok := v.c.Deployment(name); ok {
		return true
	}
	_, ok := v.c.Router(name)
	return ok
}

// references checks a list of deployment or router names.
func (v *validator) references(path, self string, names []string) {
	seen := map[string]bool{}
	for i, n := range names {
		ip := fmt.Sprintf("%s[%d]", path, i)
		switch {
		case n == "":
			v.add(ip, ErrRequired, "must name a deployment or router")
		case n == self:
			v.add(ip, ErrCycle, "%q refers to itself", n)
		case !v.exists(n):
			v.add(ip, ErrUnknownReference, "no deployment or router is named %q", n)
		case seen[n]:
			v.add(ip, ErrDuplicate, "%q listed twice", n)
		}
		seen[n] = true
	}
}
