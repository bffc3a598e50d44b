// Package cluster runs actorinfer deployments across nodes on protoactor's
// cluster: it starts a member from the [cluster] section of the config,
// registers every deployment the node's roles allow as a cluster kind, and
// resolves deployment names to the PID of their single activation anywhere
// in the cluster.
//
// Membership comes from protoactor's automanaged provider (the default; no
// external server: members poll each other's health endpoint) or from etcd
// (production: a lease-backed key per member). Identity lookup is
// disthash: rendezvous hashing of the identity over the members that
// advertise the kind, so every member computes the same owner without a
// round trip.
//
// # Kinds and placement
//
// Each deployment is the kind KindName(name) with the identity name; its
// activation is the DeploymentActor from actors.Host.DeploymentProps. A
// member registers the kind only when one of its roles fits the
// deployment's transport (runners.TransportKind.Role): local runtimes
// (LocalCPU, LocalGPU) on "gpu" nodes, remote providers (RemoteNetwork) on
// "egress" nodes. A node that cannot host a deployment still serves it:
// Resolve finds the owner and the caller's actors.Stream receives the
// TokenChunks across the network.
//
// # Cluster-wide limits
//
// With one activation per deployment, its RateLimiterActor and BudgetActor
// are the single owner of the deployment's limits cluster-wide: admission is
// exact while the owner lives. A new activation (after the owner's node
// died, or after a graceful move) starts with empty rate buckets, so it
// admits nothing on top of what the previous one granted beyond the
// configured rate, and restores its budget spend from the snapshot the
// previous owner gossiped (every second). docs/cluster.md states the model
// and its overshoot bounds, and the measurements.
//
// # Failures and leaving
//
// A caller whose deployment's node dies sees its Stream end with a
// *messages.Error of code network and scope actors.ScopeOwner as soon as
// the remote endpoint terminates; the Host moves a request that had not
// received a chunk yet to the next activation (idempotent deployments).
// Leave announces the departure by gossip, hands off (the activations
// bounce what they have not admitted, scope actors.ScopeMoved, and callers
// place it on the next activation), leaves the membership, drains what was
// admitted, and shuts down.
//
// Routers and fallbacks look deployments up inside actors through Cached,
// which never blocks; Keep keeps the names they use resolved.
//
// A Member is safe for concurrent use once started.
package cluster
