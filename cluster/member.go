package cluster

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	pcluster "github.com/asynkron/protoactor-go/cluster"
	"github.com/asynkron/protoactor-go/cluster/clusterproviders/automanaged"
	"github.com/asynkron/protoactor-go/cluster/clusterproviders/etcd"
	"github.com/asynkron/protoactor-go/cluster/identitylookup/disthash"
	"github.com/asynkron/protoactor-go/eventstream"
	"github.com/asynkron/protoactor-go/remote"
	"github.com/labstack/echo"
	clientv3 "go.etcd.io/etcd/client/v3"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/actorinfer/actorinfer/actors"
	"github.com/actorinfer/actorinfer/config"
	"github.com/actorinfer/actorinfer/messages"
	"github.com/actorinfer/actorinfer/runners"
)

// AutomanagedPortOffset is added to a member's remoting port to get the port
// of its automanaged health endpoint: a member listening on 127.0.0.1:7400
// answers membership probes on :17400, and the seed 127.0.0.1:7401 is
// probed on :17401. Automanaged clusters need remoting ports below 55536.
const AutomanagedPortOffset = 10000

// Options tune a Member. The zero value logs nothing and uses the defaults
// documented on each field.
type Options struct {
	Logger *slog.Logger
	// RefreshInterval is how often automanaged members probe each other,
	// which bounds how long a dead member stays in the topology. 0 means
	// 500 ms.
	RefreshInterval time.Duration
	// ResolveTimeout bounds Resolve (a failover resolves within a few
	// seconds; a deployment no member hosts fails after it). 0 means 10 s.
	ResolveTimeout time.Duration
}

// Member is this process's place in the cluster: a member hosting the
// deployments its roles allow (Start), or a client hosting none
// (StartClient). It implements actors.Placement. The zero value is not
// usable; use New. Place before Start; everything else is safe for
// concurrent use after Start.
type Member struct {
	system *actor.ActorSystem
	cfg    config.Cluster
	opts   Options
	logger *slog.Logger

	kinds  []*pcluster.Kind
	placed map[string]bool // every placed deployment → hosted here
	c      *pcluster.Cluster
	client bool
	sub    *eventstream.Subscription

	mu        sync.Mutex
	pids      map[string]*actor.PID // resolved activations by deployment name
	down      map[string]bool       // addresses whose endpoint terminated
	rdv       *pcluster.Rendezvous
	members   map[string]bool                  // addresses in the current topology
	local     map[string]*actor.PID            // activations on this node
	leaving   map[string]bool                  // addresses of members that announced a graceful leave
	budgets   map[string]*messages.BudgetState // latest gossiped budget snapshot by deployment
	stop      chan struct{}                    // closed by Leave: ends the snapshot publisher
	resolving map[string]bool                  // background resolves under way (Cached)
	keep      map[string]bool                  // names kept resolved (Keep)
	topo      chan struct{}                    // closed and replaced on every topology change
}

var _ actors.Placement = (*Member)(nil)

// New returns a member of the cluster cfg on system; nothing starts until
// Start or StartClient. cfg should have passed config validation (defaults
// applied).
func New(system *actor.ActorSystem, cfg *config.Cluster, opts Options) (*Member, error) {
	if cfg == nil {
		return nil, errors.New("cluster: no [cluster] config")
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if opts.RefreshInterval <= 0 {
		opts.RefreshInterval = 500 * time.Millisecond
	}
	if opts.ResolveTimeout <= 0 {
		opts.ResolveTimeout = 10 * time.Second
	}
	c := *cfg
	if c.Name == "" {
		c.Name = config.DefaultClusterName
	}
	if c.Listen == "" {
		c.Listen = config.DefaultClusterListen
	}
	if c.Provider == "" {
		c.Provider = config.ProviderAutomanaged
	}
	if _, _, err := splitHostPort(c.Listen); err != nil {
		return nil, fmt.Errorf("cluster: listen: %w", err)
	}
	return &Member{
		system: system, cfg: c, opts: opts, logger: opts.Logger,
		placed: map[string]bool{}, pids: map[string]*actor.PID{}, down: map[string]bool{},
		rdv: pcluster.NewRendezvous(), members: map[string]bool{}, local: map[string]*actor.PID{},
		leaving: map[string]bool{}, budgets: map[string]*messages.BudgetState{}, stop: make(chan struct{}),
		resolving: map[string]bool{}, keep: map[string]bool{},
		topo: make(chan struct{}),
	}, nil
}

// Place implements actors.Placement: it registers the deployment's kind
// when this node's roles fit its transport, and remembers the name either
// way so that Resolve finds it on other nodes. It marks spec to start its
// limiter empty (see the package doc).
func (m *Member) Place(spec *actors.DeploymentSpec, props *actor.Props) error {
	if m.c != nil {
		return errors.New("cluster: Place after Start")
	}
	if _, dup := m.placed[spec.Name]; dup {
		return fmt.Errorf("cluster: deployment %q placed twice", spec.Name)
	}
	t := TransportOf(spec.Runtime)
	host := CanHost(m.cfg.Roles, t)
	m.placed[spec.Name] = host
	if !host {
		m.logger.Info("deployment served from other nodes", "deployment", spec.Name, "role", t.Role())
		return nil
	}
	spec.EmptyLimiter = true
	name := spec.Name
	spec.RestoreBudget = func() *messages.BudgetState { return m.budgetSnapshot(name) }
	props.Configure(actor.WithReceiverMiddleware(m.track(name)))
	m.kinds = append(m.kinds, pcluster.NewKind(KindName(name), props))
	return nil
}

// track records the activations of deployment name on this node.
func (m *Member) track(name string) actor.ReceiverMiddleware {
	return func(next actor.ReceiverFunc) actor.ReceiverFunc {
		return func(c actor.ReceiverContext, env *actor.MessageEnvelope) {
			switch env.Message.(type) {
			case *actor.Started:
				m.mu.Lock()
				m.local[name] = c.Self()
				m.mu.Unlock()
				m.logger.Info("deployment activated here", "deployment", name, "address", c.Self().GetAddress())
			case *actor.Stopped:
				m.mu.Lock()
				if p := m.local[name]; p != nil && p.Equal(c.Self()) {
					delete(m.local, name)
				}
				m.mu.Unlock()
			}
			next(c, env)
		}
	}
}

// Hosts reports whether deployment name may be activated on this node.
func (m *Member) Hosts(name string) bool { return m.placed[name] }

// Start joins the cluster as a member hosting the placed kinds. It returns
// once this member has published itself (protoactor waits about a second).
func (m *Member) Start() error { return m.start(false) }

// StartClient joins the cluster as a client: no kinds, not in the
// topology; it resolves and messages deployments on members.
func (m *Member) StartClient() error { return m.start(true) }

func (m *Member) start(client bool) (err error) {
	host, port, _ := splitHostPort(m.cfg.Listen)
	provider, err := m.provider(host, port, client)
	if err != nil {
		return err
	}
	rcfg := remote.Configure(host, port)
	ccfg := pcluster.Configure(m.cfg.Name, provider, disthash.New(), rcfg,
		pcluster.WithKinds(m.kinds...), pcluster.WithRequestTimeout(5*time.Second))
	m.c = pcluster.New(m.system, ccfg)
	m.client = client
	m.sub = m.system.EventStream.Subscribe(m.onEvent)
	defer func() {
		// protoactor panics when a provider cannot start.
		if p := recover(); p != nil {
			err = fmt.Errorf("cluster: start: %v", p)
		}
	}()
	if client {
		m.c.StartClient()
	} else {
		m.c.StartMember()
	}
	if !client && len(m.kinds) > 0 {
		go m.publishBudgets()
	}
	m.warm()
	m.logger.Info("cluster started", "cluster", m.cfg.Name, "provider", string(m.cfg.Provider),
		"address", m.system.Address(), "client", client, "kinds", len(m.kinds))
	return nil
}

func (m *Member) provider(host string, port int, client bool) (pcluster.ClusterProvider, error) {
	switch m.cfg.Provider {
	case config.ProviderEtcd:
		p, err := etcd.NewWithConfig("/actorinfer/"+m.cfg.Name, clientv3.Config{
			Endpoints: m.cfg.EtcdEndpoints, DialTimeout: 5 * time.Second,
		})
		if err != nil {
			return nil, fmt.Errorf("cluster: etcd: %w", err)
		}
		return p, nil
	case config.ProviderAutomanaged:
		var hosts []string
		self := net.JoinHostPort(host, strconv.Itoa(port+AutomanagedPortOffset))
		if !client {
			hosts = append(hosts, self)
		}
		for _, s := range m.cfg.Seeds {
			h, p, err := splitHostPort(s)
			if err != nil {
				return nil, fmt.Errorf("cluster: seed %q: %w", s, err)
			}
			a := net.JoinHostPort(h, strconv.Itoa(p+AutomanagedPortOffset))
			if a != self {
				hosts = append(hosts, a)
			}
		}
		if port+AutomanagedPortOffset > 65535 {
			return nil, fmt.Errorf("cluster: listen port %d leaves no room for the automanaged port (+%d)", port, AutomanagedPortOffset)
		}
		if !client {
			// protoactor starts the health endpoint in the background and
			// only logs a failure; fail here instead.
			ln, err := net.Listen("tcp", net.JoinHostPort("", strconv.Itoa(port+AutomanagedPortOffset)))
			if err != nil {
				return nil, fmt.Errorf("cluster: automanaged health port %d (listen port + %d): %w", port+AutomanagedPortOffset, AutomanagedPortOffset, err)
			}
			ln.Close()
		}
		return automanaged.NewWithTesting(m.opts.RefreshInterval, port+AutomanagedPortOffset, m.healthEndpoint(host, port, client), hosts...), nil
	}
	return nil, fmt.Errorf("cluster: unknown provider %q", m.cfg.Provider)
}

// healthEndpoint is the automanaged health server. protoactor's own prints
// a banner to stdout; this one is silent and answers what protoactor's
// would: this member's node model, with the kinds it registers (the
// deployments placed here and protoactor's pub-sub topic kind).
func (m *Member) healthEndpoint(host string, port int, client bool) *echo.Echo {
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	kinds := make([]string, 0, len(m.kinds)+1)
	for _, k := range m.kinds {
		kinds = append(kinds, k.Kind)
	}
	kinds = append(kinds, pcluster.TopicActorKind)
	node := automanaged.NewNode(m.cfg.Name, m.system.ID, host, port, port+AutomanagedPortOffset, kinds)
	e.GET("/_health", func(c echo.Context) error { return c.JSON(http.StatusOK, node) })
	return e
}

// Cluster returns protoactor's cluster (nil before Start).
func (m *Member) Cluster() *pcluster.Cluster { return m.c }

// Address returns this node's remoting address.
func (m *Member) Address() string { return m.system.Address() }

// Members returns the addresses of the current topology's members.
func (m *Member) Members() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]string, 0, len(m.members))
	for a := range m.members {
		out = append(out, a)
	}
	return out
}

func (m *Member) onEvent(ev any) {
	switch e := ev.(type) {
	case *pcluster.ClusterTopology:
		m.mu.Lock()
		m.members = map[string]bool{}
		for _, mem := range e.GetMembers() {
			m.members[mem.Address()] = true
		}
		m.rdv = pcluster.NewRendezvous()
		m.rdv.UpdateMembers(e.GetMembers())
		for _, mem := range e.GetJoined() {
			delete(m.leaving, mem.Address()) // (re)joined: not leaving any more
		}
		for a := range m.down {
			if !m.members[a] {
				delete(m.down, a) // gone from the topology: nothing routes there any more
			}
		}
		for n, p := range m.pids {
			// Gone, or the identity moved to another member (a join): its
			// old activation is being stopped.
			if !m.members[p.GetAddress()] || m.rdv.GetByClusterIdentity(pcluster.NewClusterIdentity(n, KindName(n))) != p.GetAddress() {
				delete(m.pids, n)
			}
		}
		close(m.topo)
		m.topo = make(chan struct{})
		m.mu.Unlock()
		go m.warm()
		m.logger.Info("cluster topology", "members", len(e.GetMembers()), "joined", len(e.GetJoined()), "left", len(e.GetLeft()))
	case *remote.EndpointTerminatedEvent:
		m.mu.Lock()
		if m.members[e.Address] {
			m.down[e.Address] = true
		}
		for n, p := range m.pids {
			if p.GetAddress() == e.Address {
				delete(m.pids, n)
			}
		}
		m.mu.Unlock()
		go m.warm()
	case *remote.EndpointConnectedEvent:
		m.mu.Lock()
		delete(m.down, e.Address)
		m.mu.Unlock()
	case *pcluster.GossipUpdate:
		m.onGossip(e)
	}
}

// leavingKey is the gossip key a member sets, to its own address, when it
// starts a graceful leave.
const leavingKey = "actorinfer.leaving"

func (m *Member) onGossip(u *pcluster.GossipUpdate) {
	if u.Value == nil {
		return
	}
	if name, ok := strings.CutPrefix(u.Key, budgetKeyPrefix); ok {
		var st messages.BudgetState
		if err := u.Value.UnmarshalTo(&st); err == nil {
			m.noteBudget(name, &st)
		}
		return
	}
	if u.Key != leavingKey {
		return
	}
	var addr wrapperspb.StringValue
	if err := u.Value.UnmarshalTo(&addr); err != nil || addr.GetValue() == "" {
		return
	}
	m.mu.Lock()
	m.leaving[addr.GetValue()] = true
	for n, p := range m.pids {
		if p.GetAddress() == addr.GetValue() {
			delete(m.pids, n)
		}
	}
	m.mu.Unlock()
}

// budgetKeyPrefix starts the gossip key of a deployment's budget snapshot.
const budgetKeyPrefix = "actorinfer.budget/"

// budgetInterval is how often an owner gossips its budgets' state.
const budgetInterval = time.Second

// publishBudgets gossips the budget state of every activation on this node
// every budgetInterval, until Leave.
func (m *Member) publishBudgets() {
	tick := time.NewTicker(budgetInterval)
	defer tick.Stop()
	for {
		select {
		case <-m.stop:
			return
		case <-tick.C:
		}
		m.mu.Lock()
		local := make(map[string]*actor.PID, len(m.local))
		for n, p := range m.local {
			local[n] = p
		}
		m.mu.Unlock()
		for name, pid := range local {
			res, err := m.system.Root.RequestFuture(pid, &messages.StateQuery{}, budgetInterval).Result()
			st, ok := res.(*messages.DeploymentState)
			if err != nil || !ok || st.GetBudget() == nil {
				continue
			}
			m.noteBudget(name, st.GetBudget())
			m.c.Gossip.SetState(budgetKeyPrefix+name, st.GetBudget())
		}
	}
}

// noteBudget keeps the snapshot with the most spend for the latest window.
func (m *Member) noteBudget(name string, st *messages.BudgetState) {
	m.mu.Lock()
	defer m.mu.Unlock()
	old := m.budgets[name]
	if old == nil || st.GetDayResetsAtUnixNano() > old.GetDayResetsAtUnixNano() ||
		st.GetHourResetsAtUnixNano() > old.GetHourResetsAtUnixNano() ||
		(st.GetHourResetsAtUnixNano() == old.GetHourResetsAtUnixNano() &&
			st.GetSpentHourUsd()+st.GetReservedUsd() >= old.GetSpentHourUsd()+old.GetReservedUsd()) {
		m.budgets[name] = st
	}
}

// budgetSnapshot returns the latest known budget state of deployment name,
// or nil.
func (m *Member) budgetSnapshot(name string) *messages.BudgetState {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.budgets[name]
}

// Draining implements actors.Placement: address announced a graceful
// leave, so losing the connection to it does not end its streams.
func (m *Member) Draining(address string) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.leaving[address]
}

// owner returns the address that owns deployment name in the current
// topology ("" when no member hosts its kind) and whether that address is
// known to be down or leaving, with the channel closed at the next topology
// change.
func (m *Member) owner(name string) (addr string, down bool, changed <-chan struct{}) {
	m.mu.Lock()
	defer m.mu.Unlock()
	addr = m.rdv.GetByClusterIdentity(pcluster.NewClusterIdentity(name, KindName(name)))
	return addr, m.down[addr] || m.leaving[addr], m.topo
}

// Resolve implements actors.Placement: it returns the PID of name's
// activation, activating it on its owner if needed. While the owner is
// known to be down (its endpoint terminated but the topology still lists
// it) or no member hosts the kind yet, it waits for the next topology
// change, up to ctx's deadline or Options.ResolveTimeout, whichever is
// first.
func (m *Member) Resolve(ctx context.Context, name string) (*actor.PID, error) {
	if m.c == nil {
		return nil, &messages.Error{Code: runners.CodeServerError, Deployment: name, Scope: "placement", Message: "cluster not started"}
	}
	m.mu.Lock()
	pid := m.pids[name]
	m.mu.Unlock()
	if pid != nil {
		return pid, nil
	}
	ctx, cancel := context.WithTimeout(ctx, m.opts.ResolveTimeout)
	defer cancel()
	kind := KindName(name)
	retry := time.NewTicker(100 * time.Millisecond)
	defer retry.Stop()
	for {
		addr, down, changed := m.owner(name)
		if addr != "" && !down {
			if pid := m.get(ctx, addr, name, kind); pid != nil {
				m.mu.Lock()
				if m.members[pid.GetAddress()] && !m.down[pid.GetAddress()] {
					m.pids[name] = pid
				}
				m.mu.Unlock()
				return pid, nil
			}
		}
		select {
		case <-ctx.Done():
			if addr == "" {
				return nil, &messages.Error{Code: runners.CodeServerError, Deployment: name, Scope: "placement",
					Message: fmt.Sprintf("no cluster member hosts deployment %q", name)}
			}
			return nil, &messages.Error{Code: runners.CodeTimeout, Deployment: name, Scope: "placement",
				Message: fmt.Sprintf("deployment %q: its owner %s did not activate it in time", name, addr)}
		case <-changed:
		case <-retry.C:
		}
	}
}

// activationTimeout bounds one activation request to an owner.
const activationTimeout = 2 * time.Second

// get asks the owner at addr for the activation of name, as disthash does,
// but with this member's view of the topology: disthash's own view may lag
// it by an event, and would send the request to a dead owner.
func (m *Member) get(ctx context.Context, addr, name, kind string) *actor.PID {
	timeout := activationTimeout
	if dl, ok := ctx.Deadline(); ok && time.Until(dl) < timeout {
		timeout = time.Until(dl)
	}
	if timeout <= 0 {
		return nil
	}
	req := &pcluster.ActivationRequest{ClusterIdentity: pcluster.NewClusterIdentity(name, kind)}
	res, err := m.system.Root.RequestFuture(actor.NewPID(addr, disthash.PartitionActivatorActorName), req, timeout).Result()
	if err != nil {
		return nil
	}
	if r, ok := res.(*pcluster.ActivationResponse); ok {
		return r.GetPid()
	}
	return nil
}

// Cached implements actors.Placement: the cached activation of name, or
// nil after starting a background Resolve that fills the cache.
func (m *Member) Cached(name string) *actor.PID {
	m.mu.Lock()
	pid := m.pids[name]
	_, placed := m.placed[name]
	busy := m.resolving[name]
	if pid == nil && placed && !busy && m.c != nil {
		m.resolving[name] = true
	}
	m.mu.Unlock()
	if pid == nil && placed && !busy && m.c != nil {
		go func() {
			_, _ = m.Resolve(context.Background(), name)
			m.mu.Lock()
			delete(m.resolving, name)
			m.mu.Unlock()
		}()
	}
	return pid
}

// Keep keeps names resolved in the background: after Start and after
// every topology change, so that actors looking them up with Cached
// (routers, fallbacks) find them without waiting. It activates them.
func (m *Member) Keep(names ...string) {
	m.mu.Lock()
	for _, n := range names {
		if _, ok := m.placed[n]; ok {
			m.keep[n] = true
		}
	}
	m.mu.Unlock()
	m.warm()
}

// warm starts background resolves of the kept names that are not cached.
func (m *Member) warm() {
	if m.c == nil {
		return
	}
	m.mu.Lock()
	var names []string
	for n := range m.keep {
		names = append(names, n)
	}
	m.mu.Unlock()
	for _, n := range names {
		m.Cached(n)
	}
}

// Invalidate implements actors.Placement: pid no longer serves name.
func (m *Member) Invalidate(name string, pid *actor.PID) {
	m.mu.Lock()
	if p := m.pids[name]; p != nil && p.Equal(pid) {
		delete(m.pids, name)
	}
	m.mu.Unlock()
	if m.c != nil {
		m.c.PidCache.RemoveByValue(name, KindName(name), pid)
	}
}

// Leave leaves the cluster gracefully, in order:
//
//  1. it announces the leave by gossip, so that callers keep the streams
//     this node serves when their connection to it is reported gone, and
//     stop resolving deployments to it;
//  2. it hands off (actors.Handoff): its activations fail what they have
//     not admitted yet, and every new request, with scope "moved"; callers
//     hold those requests until their topology has dropped this node;
//  3. it stops announcing itself to the membership provider: the others
//     drop it from their topology and place those requests, and new ones,
//     on the next activations (empty buckets), so that at no time do two
//     limiters admit new work;
//  4. it waits until the activations here have finished the requests they
//     admitted (or ctx ends);
//  5. it shuts the cluster and the actor system down.
func (m *Member) Leave(ctx context.Context) error {
	if m.c == nil {
		return nil
	}
	if m.client {
		// A client hosts nothing and is in no one's topology.
		m.system.EventStream.Unsubscribe(m.sub)
		m.c.Remote.Shutdown(true)
		m.system.Shutdown()
		return nil
	}
	close(m.stop)
	m.c.Gossip.SetState(leavingKey, wrapperspb.String(m.system.Address()))
	select { // a few gossip rounds (300 ms each)
	case <-time.After(gossipSpread):
	case <-ctx.Done():
	}
	m.handoff()
	_ = m.c.Config.ClusterProvider.Shutdown(true)
	m.drain(ctx)
	if m.sub != nil {
		m.system.EventStream.Unsubscribe(m.sub)
	}
	m.c.Shutdown(true)
	return nil
}

// gossipSpread is how long a gossiped value takes to reach every member.
const gossipSpread = 1200 * time.Millisecond

// handoff tells the activations here to stop admitting (actors.Handoff):
// their backlog moves to the next activations.
func (m *Member) handoff() {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, p := range m.local {
		m.system.Root.Send(p, &actors.Handoff{})
	}
}

// drain waits until every activation on this node is idle, and has stayed
// idle for a refresh interval (a caller with a stale view may still send
// one request; it is answered with scope "moved").
func (m *Member) drain(ctx context.Context) {
	quiet := m.opts.RefreshInterval
	var idleSince time.Time
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		if m.idle() {
			if idleSince.IsZero() {
				idleSince = time.Now()
			}
			if time.Since(idleSince) >= quiet {
				return
			}
		} else {
			idleSince = time.Time{}
		}
		select {
		case <-ctx.Done():
			m.logger.Warn("cluster leave: drain deadline passed with requests in flight")
			return
		case <-tick.C:
		}
	}
}

func (m *Member) idle() bool {
	m.mu.Lock()
	local := make([]*actor.PID, 0, len(m.local))
	for _, p := range m.local {
		local = append(local, p)
	}
	m.mu.Unlock()
	for _, p := range local {
		res, err := m.system.Root.RequestFuture(p, &messages.StateQuery{}, time.Second).Result()
		if err != nil {
			continue // stopped
		}
		if st, ok := res.(*messages.DeploymentState); ok && st.GetInFlight()+st.GetQueueDepth() > 0 {
			return false
		}
	}
	return true
}

func splitHostPort(addr string) (string, int, error) {
	h, p, err := net.SplitHostPort(addr)
	if err != nil {
		return "", 0, err
	}
	n, err := strconv.Atoi(p)
	if err != nil || n < 0 || n > 65535 {
		return "", 0, fmt.Errorf("bad port in %q", addr)
	}
	return h, n, nil
}
