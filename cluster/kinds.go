package cluster

import (
	"net/url"

	"github.com/actorinfer/actorinfer/config"
	"github.com/actorinfer/actorinfer/runners"
)

// kindPrefix starts every deployment kind's name.
const kindPrefix = "deployment."

// KindName returns the cluster kind of the deployment called name. The name
// is path-escaped: protoactor splits "kind/identity" keys at the first
// slash, so a kind must not contain one.
func KindName(name string) string { return kindPrefix + url.PathEscape(name) }

// TransportOf returns the transport of a deployment of the given runtime,
// as the config defines it.
func TransportOf(runtime string) runners.TransportKind {
	d := config.Deployment{Runtime: runners.RuntimeKind(runtime)}
	return d.Transport()
}

// CanHost reports whether a node with roles may host a deployment with
// transport t: its role (t.Role()) must be among roles.
func CanHost(roles []config.Role, t runners.TransportKind) bool {
	for _, r := range roles {
		if string(r) == t.Role() {
			return true
		}
	}
	return false
}
