package cluster_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/actorinfer/actorinfer/cluster"
)

// The binaries under test, built once per test run (see binaries).
var (
	buildOnce sync.Once
	buildDir  string
	buildErr  error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if buildDir != "" {
		os.RemoveAll(buildDir)
	}
	os.Exit(code)
}

// binaries builds the actorinfer binary and the cluster-client example
// once per test run and returns their paths.
func binaries(t testing.TB) (server, client string) {
	t.Helper()
	if testing.Short() {
		t.Skip("multi-process cluster test: skipped with -short")
	}
	buildOnce.Do(func() {
		buildDir, buildErr = os.MkdirTemp("", "actorinfer-cluster-test")
		if buildErr != nil {
			return
		}
		root, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}").Output()
		if err != nil {
			buildErr = fmt.Errorf("go list -m: %w", err)
			return
		}
		for _, b := range [][2]string{{"actorinfer", "./cmd/actorinfer"}, {"cluster-client", "./cmd/examples/cluster-client"}} {
			args := []string{"build", "-o", filepath.Join(buildDir, b[0])}
			if os.Getenv("ACTORINFER_CLUSTER_RACE") != "" {
				args = append(args, "-race") // members under the race detector too
			}
			cmd := exec.Command("go", append(args, b[1])...)
			cmd.Dir = strings.TrimSpace(string(root))
			if out, err := cmd.CombinedOutput(); err != nil {
				buildErr = fmt.Errorf("go build %s: %v\n%s", b[1], err, out)
				return
			}
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return filepath.Join(buildDir, "actorinfer"), filepath.Join(buildDir, "cluster-client")
}

// freePort returns a port on 127.0.0.1 that is free now. With automanaged
// set, port+AutomanagedPortOffset is free too. Ports come from below the
// kernel's ephemeral range: a port in it can be taken, between this probe
// and the member's listen, by any outgoing connection (seen in CI: one
// member's connection to another took a later member's port).
func freePort(t testing.TB, automanaged bool) int {
	t.Helper()
	hi := ephemeralLow()
	if automanaged {
		hi -= cluster.AutomanagedPortOffset
	}
	const lo = 10000
	if hi-lo < 1000 {
		t.Fatalf("no room for test ports below the ephemeral range (%d)", ephemeralLow())
	}
	for range 200 {
		p := lo + rand.IntN(hi-lo)
		if !portFree(p) || (automanaged && !portFree(p+cluster.AutomanagedPortOffset)) {
			continue
		}
		return p
	}
	t.Fatal("no free port")
	return 0
}

// ephemeralLow is the first port of the kernel's ephemeral range (Linux's
// default when it cannot be read).
func ephemeralLow() int {
	b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range")
	if err == nil {
		if f := strings.Fields(string(b)); len(f) == 2 {
			if n, err := strconv.Atoi(f[0]); err == nil && n > 0 {
				return n
			}
		}
	}
	return 32768
}

func portFree(p int) bool {
	ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(p)))
	if err != nil {
		return false
	}
	ln.Close()
	return true
}

// nodeSpec describes one member process.
type nodeSpec struct {
	roles string // TOML array, e.g. `["gpu", "egress"]`; "" means the default (both)
}

// clusterSpec describes a cluster of member processes.
type clusterSpec struct {
	provider    string // automanaged (default) or etcd
	etcd        string // etcd client URL
	nodes       []nodeSpec
	deployments string // [[deployment]] tables, TOML
	env         []string
	// lazy: wait for the full topology instead of /readyz, so that no
	// deployment is activated before the test's first request.
	lazy bool
}

// node is one running member process.
type node struct {
	name   string
	http   string // gateway host:port
	remote string // remoting host:port
	cmd    *exec.Cmd
	log    *syncBuffer
	exited chan struct{}
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// startCluster starts one process per node with a generated config and
// waits until every gateway answers /readyz with 200 (every deployment
// resolved and healthy). The processes are killed when the test ends.
func startCluster(t testing.TB, spec clusterSpec) []*node {
	t.Helper()
	bin, _ := binaries(t)
	dir := t.TempDir()
	am := spec.provider == "" || spec.provider == "automanaged"
	nodes := make([]*node, len(spec.nodes))
	var seeds []string
	for i := range spec.nodes {
		nodes[i] = &node{
			name:   fmt.Sprintf("node%d", i),
			http:   fmt.Sprintf("127.0.0.1:%d", freePort(t, false)),
			remote: fmt.Sprintf("127.0.0.1:%d", freePort(t, am)),
			log:    &syncBuffer{},
			exited: make(chan struct{}),
		}
		seeds = append(seeds, strconv.Quote(nodes[i].remote))
	}
	for i, n := range nodes {
		var c strings.Builder
		fmt.Fprintf(&c, "[server]\nlisten = %q\nshutdown_timeout = \"20s\"\n\n[cluster]\nname = %q\nlisten = %q\n",
			n.http, clusterName(), n.remote)
		if am {
			fmt.Fprintf(&c, "seeds = [%s]\n", strings.Join(seeds, ", "))
		} else {
			fmt.Fprintf(&c, "provider = \"etcd\"\netcd_endpoints = [%q]\n", spec.etcd)
		}
		if r := spec.nodes[i].roles; r != "" {
			fmt.Fprintf(&c, "roles = %s\n", r)
		}
		c.WriteString("\n" + spec.deployments)
		path := filepath.Join(dir, n.name+".toml")
		if err := os.WriteFile(path, []byte(c.String()), 0o600); err != nil {
			t.Fatal(err)
		}
		n.cmd = exec.Command(bin, "serve", "--config", path)
		n.cmd.Env = append(os.Environ(), spec.env...)
		n.cmd.Stderr = n.log
		stdout, err := n.cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := n.cmd.Start(); err != nil {
			t.Fatal(err)
		}
		listening := make(chan struct{})
		go func() {
			sc := bufio.NewScanner(stdout)
			once := sync.Once{}
			for sc.Scan() {
				if strings.HasPrefix(sc.Text(), "actorinfer listening on") {
					once.Do(func() { close(listening) })
				}
			}
		}()
		go func() {
			_ = n.cmd.Wait()
			close(n.exited)
		}()
		t.Cleanup(func() {
			n.kill()
			if ours, theirs := races(n.log.String()); len(ours) > 0 {
				t.Errorf("%s: the race detector reported races in actorinfer code:\n%s", n.name, strings.Join(ours, "\n"))
			} else if theirs > 0 {
				t.Logf("%s: %d race reports inside protoactor/grpc (not ours; see docs/cluster.md)", n.name, theirs)
			}
			if t.Failed() || os.Getenv("ACTORINFER_CLUSTER_LOGS") != "" {
				t.Logf("--- %s (%s) log tail:\n%s", n.name, n.remote, tail(n.log.String(), 60))
			}
		})
		waitFor(t, 30*time.Second, n.name+" listening", func() bool {
			select {
			case <-listening:
				return true
			case <-n.exited:
				t.Fatalf("%s exited during start:\n%s", n.name, tail(n.log.String(), 40))
			default:
			}
			return false
		})
	}
	for _, n := range nodes {
		if spec.lazy {
			members := fmt.Sprintf(`msg="cluster topology" component=cluster members=%d `, len(nodes))
			waitFor(t, 30*time.Second, n.name+" topology", func() bool { return strings.Contains(n.log.String(), members) })
			continue
		}
		waitFor(t, 30*time.Second, n.name+" /readyz", func() bool { return n.ready() })
	}
	return nodes
}

// clusterName is the name of the clusters this test process starts.
func clusterName() string { return "test-" + strconv.Itoa(os.Getpid()) }

func itoa(i int) string { return strconv.Itoa(i) }

func (n *node) ready() bool {
	resp, err := http.Get("http://" + n.http + "/readyz")
	if err != nil {
		return false
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

// kill ends the process with SIGKILL and waits for it.
func (n *node) kill() {
	select {
	case <-n.exited:
		return
	default:
	}
	_ = n.cmd.Process.Signal(syscall.SIGKILL)
	<-n.exited
}

// terminate asks the process to shut down gracefully (SIGTERM).
func (n *node) terminate() { _ = n.cmd.Process.Signal(syscall.SIGTERM) }

// hosts reports whether deployment name has been activated on n.
func (n *node) hosts(name string) bool {
	return strings.Contains(n.log.String(), `msg="deployment activated here" component=cluster deployment=`+name+" ")
}

// owner returns the node that activated deployment name.
func owner(t *testing.T, nodes []*node, name string) *node {
	t.Helper()
	var o *node
	waitFor(t, 10*time.Second, "an activation of "+name, func() bool {
		for _, n := range nodes {
			if n.hosts(name) {
				o = n
				return true
			}
		}
		return false
	})
	return o
}

// waitFor polls cond every 50 ms until it holds or d passes.
func waitFor(t testing.TB, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.After(d)
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		select {
		case <-deadline:
			t.Fatalf("timed out after %v waiting for %s", d, what)
		case <-tick.C:
		}
	}
}

// races splits a race-built member's race reports into those whose racing
// accesses are in actorinfer code (returned whole) and the count of those
// entirely inside dependencies (protoactor's BlockList, grpc's logger).
func races(log string) (ours []string, theirs int) {
	reports := strings.Split(log, "WARNING: DATA RACE")
	for _, r := range reports[1:] {
		lines := strings.Split(r, "\n")
		mine := false
		for i, l := range lines {
			l = strings.TrimSpace(l)
			if (strings.HasPrefix(l, "Read at") || strings.HasPrefix(l, "Write at") ||
				strings.HasPrefix(l, "Previous read at") || strings.HasPrefix(l, "Previous write at")) && i+1 < len(lines) {
				mine = mine || strings.Contains(lines[i+1], "github.com/actorinfer/")
			}
		}
		if mine {
			ours = append(ours, tail(r, 60))
		} else {
			theirs++
		}
	}
	return ours, theirs
}

func tail(s string, lines int) string {
	parts := strings.Split(s, "\n")
	if len(parts) > lines {
		parts = parts[len(parts)-lines:]
	}
	return strings.Join(parts, "\n")
}

// chat posts a chat completion to a node's gateway and returns the status
// and body. A streaming request's body is the raw SSE text.
func chat(ctx context.Context, client *http.Client, addr, model, content string, stream bool) (int, string, error) {
	body := fmt.Sprintf(`{"model":%q,"stream":%v,"messages":[{"role":"user","content":%q}]}`, model, stream, content)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+addr+"/v1/chat/completions", strings.NewReader(body))
	if err != nil {
		return 0, "", err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), err
}
