package config

// Config is the whole config file. Its zero value, after ApplyDefaults, is a
// one-node server on 127.0.0.1:8080 with no deployments (which Validate
// refuses: a server needs at least one deployment). Parse and Load return a
// Config with defaults applied and validated; Default returns the embedded
// out-of-box config. A Config is plain data: safe to read from many
// goroutines, not to modify concurrently.
type Config struct {
	Server      Server       `toml:"server"`
	Cluster     *Cluster     `toml:"cluster"`    // nil: one node, no cluster
	Deployments []Deployment `toml:"deployment"` // [[deployment]] tables, in file order
	Routers     []Router     `toml:"router"`     // [[router]] tables, in file order

	// Source names where the config came from (a file path, "default.toml");
	// it prefixes error messages. Not a TOML key.
	Source string `toml:"-"`
}

// Deployment returns the deployment called name.
func (c *Config) Deployment(name string) (*Deployment, bool) {
	for i := range c.Deployments {
		if c.Deployments[i].Name == name {
			return &c.Deployments[i], true
		}
	}
	return nil, false
}

// Router returns the router called name.
func (c *Config) Router(name string) (*Router, bool) {
	for i := range c.Routers {
		if c.Routers[i].Name == name {
			return &c.Routers[i], true
		}
	}
	return nil, false
}

// Server is the [server] table: the HTTP gateway.
type Server struct {
	// Listen is the gateway's host:port. Default "127.0.0.1:8080".
	Listen string `toml:"listen"`
	// APIKeys are the Bearer keys the gateway accepts (compared in constant
	// time). Empty: no gateway auth.
	APIKeys []Secret `toml:"api_keys"`
	// MaxBodyBytes bounds a request body. Default 8 MiB.
	MaxBodyBytes int64 `toml:"max_body_bytes"`
	// ReadHeaderTimeout bounds reading request headers. Default 10s.
	ReadHeaderTimeout Duration `toml:"read_header_timeout"`
	// RequestTimeout bounds a whole request at the gateway, across retries
	// and fallbacks. Zero (the default): no gateway-wide bound, each
	// deployment's timeouts.total applies.
	RequestTimeout Duration `toml:"request_timeout"`
	// ShutdownTimeout is how long a graceful shutdown waits for in-flight
	// requests to drain before stopping the actors. Default 30s.
	ShutdownTimeout Duration `toml:"shutdown_timeout"`
	// Admin is the [server.admin] table.
	Admin Admin `toml:"admin"`
}

// Admin is the [server.admin] table: the /admin routes.
type Admin struct {
	// Enabled serves the admin routes (guarded by the same api_keys).
	// Default true. Validate refuses admin routes on a non-loopback listen
	// address without api_keys.
	Enabled *bool `toml:"enabled"`
}

// IsEnabled reports whether the admin routes are served (nil means true).
func (a Admin) IsEnabled() bool { return a.Enabled == nil || *a.Enabled }

// ClusterProvider names how cluster members find each other.
type ClusterProvider string

// The cluster providers.
const (
	// ProviderAutomanaged: members gossip with the seeds; no external server.
	ProviderAutomanaged ClusterProvider = "automanaged"
	// ProviderEtcd: membership lives in etcd.
	ProviderEtcd ClusterProvider = "etcd"
)

// Role is a cluster node role, which decides the deployments it may host.
type Role string

// The node roles (see runners.TransportKind.Role).
const (
	// RoleGPU hosts local runtimes (CPU and GPU alike).
	RoleGPU Role = "gpu"
	// RoleEgress hosts remote-provider runtimes.
	RoleEgress Role = "egress"
)

// Cluster is the [cluster] table. A nil *Cluster means one node.
type Cluster struct {
	// Name is the cluster's name; members with different names don't join.
	// Default "actorinfer".
	Name string `toml:"name"`
	// Provider is "automanaged" (default) or "etcd".
	Provider ClusterProvider `toml:"provider"`
	// Listen is this node's actor remoting host:port. Default "127.0.0.1:7400".
	Listen string `toml:"listen"`
	// Seeds are host:port addresses of automanaged peers.
	Seeds []string `toml:"seeds"`
	// EtcdEndpoints are etcd client URLs or host:port (provider "etcd").
	EtcdEndpoints []string `toml:"etcd_endpoints"`
	// Roles are this node's roles. Absent (nil): both "gpu" and "egress".
	// An explicit empty list: no roles (a gateway-only node).
	Roles []Role `toml:"roles"`
}

// HasRole reports whether the node has role r.
func (c *Cluster) HasRole(r Role) bool {
	for _, x := range c.Roles {
		if x == r {
			return true
		}
	}
	return false
}
