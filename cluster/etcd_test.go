package cluster_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// startEtcd runs a single-node etcd for the test and returns its client
// URL. Without an etcd binary the test is skipped, except in CI (CI=true),
// where it fails: .ci/run installs etcd-server.
func startEtcd(t *testing.T) string {
	t.Helper()
	bin, err := exec.LookPath("etcd")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("etcd binary not found; CI must install etcd-server")
		}
		t.Skip("etcd binary not found (apt-get install etcd-server); skipping the etcd provider test")
	}
	client := fmt.Sprintf("http://127.0.0.1:%d", freePort(t, false))
	peer := fmt.Sprintf("http://127.0.0.1:%d", freePort(t, false))
	cmd := exec.Command(bin, "--name", "test", "--data-dir", t.TempDir(),
		"--listen-client-urls", client, "--advertise-client-urls", client,
		"--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer,
		"--initial-cluster", "test="+peer)
	log := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGKILL)
		<-exited
		if t.Failed() {
			t.Logf("--- etcd log tail:\n%s", tail(log.String(), 20))
		}
	})
	waitFor(t, 20*time.Second, "etcd /health", func() bool {
		resp, err := http.Get(client + "/health")
		if err != nil {
			return false
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		return strings.Contains(string(b), `"health":"true"`)
	})
	return client
}

// The etcd provider: a gateway-only node serves a deployment placed on one
// of two egress nodes; killing the owner moves the deployment to the other
// once its etcd lease expires, and a request waiting for its first token
// at the time of the kill is moved with it.
func TestEtcdFailover(t *testing.T) {
	t.Parallel()
	binaries(t)
	etcd := startEtcd(t)
	up := newUpstream(t, 0, 0)
	nodes := startCluster(t, clusterSpec{
		provider:    "etcd",
		etcd:        etcd,
		nodes:       []nodeSpec{{roles: `["egress"]`}, {roles: `["egress"]`}, {roles: `[]`}},
		deployments: openaiDeployment("slow", up, ""),
		env:         []string{upstreamKeyEnv},
	})
	gw := nodes[2]
	dead := owner(t, nodes, "slow")
	if dead == gw {
		t.Fatal("the gateway-only node activated the deployment")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	var wg sync.WaitGroup
	var waiting streamResult
	wg.Add(1)
	go func() {
		defer wg.Done()
		waiting = streamChat(ctx, gw.http, "slow", "chunks=3 first=2s", make(chan struct{}))
	}()
	// Let the request reach the owner before the kill.
	waitFor(t, 10*time.Second, "the request at the upstream", func() bool {
		a, _ := up.stats()
		return len(a) > 0
	})
	killedAt := time.Now()
	dead.kill()
	var recovered time.Duration
	waitFor(t, 20*time.Second, "a request served after the kill", func() bool {
		rctx, rcancel := context.WithTimeout(ctx, 5*time.Second)
		defer rcancel()
		code, _, err := chat(rctx, http.DefaultClient, gw.http, "slow", "chunks=1", false)
		recovered = time.Since(killedAt)
		return err == nil && code == http.StatusOK
	})
	wg.Wait()
	t.Logf("etcd: first request served %v after SIGKILL of the owner; the request waiting at the kill finished %v after it",
		recovered.Round(time.Millisecond), waiting.end.Sub(killedAt).Round(time.Millisecond))
	if waiting.status != http.StatusOK || waiting.chunks != 3 || !waiting.done {
		t.Errorf("request in flight at the kill: status %d, %d chunks, done=%v, error %q, %v; want it moved and finished",
			waiting.status, waiting.chunks, waiting.done, waiting.errBody, waiting.err)
	}
	survivor := nodes[0]
	if survivor == dead {
		survivor = nodes[1]
	}
	if !survivor.hosts("slow") {
		t.Error("the surviving egress node did not activate the deployment")
	}
}
