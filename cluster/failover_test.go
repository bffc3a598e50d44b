package cluster_test

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// streamResult is what a streaming client saw.
type streamResult struct {
	status  int
	chunks  int       // content chunks received
	first   time.Time // first content chunk
	end     time.Time
	done    bool   // [DONE] seen
	errBody string // in-band error event or error body
	err     error
}

// streamChat runs one streaming request and reports what it saw; started
// is closed when the first content chunk (or the end) arrives.
func streamChat(ctx context.Context, addr, model, content string, started chan<- struct{}) streamResult {
	var r streamResult
	once := sync.Once{}
	defer once.Do(func() { close(started) })
	body := fmt.Sprintf(`{"model":%q,"stream":true,"messages":[{"role":"user","content":%q}]}`, model, content)
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+addr+"/v1/chat/completions", strings.NewReader(body))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		r.err, r.end = err, time.Now()
		return r
	}
	defer resp.Body.Close()
	r.status = resp.StatusCode
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, `data: {"error"`), resp.StatusCode != http.StatusOK && line != "":
			r.errBody += line
		case line == "data: [DONE]":
			r.done = true
		case strings.Contains(line, `"content":"t`):
			r.chunks++
			if r.chunks == 1 {
				r.first = time.Now()
				once.Do(func() { close(started) })
			}
		}
	}
	r.err, r.end = sc.Err(), time.Now()
	return r
}

// Killing the node that owns a deployment under load: streams that had
// started end at once with an in-band error (not at their deadline);
// requests that had not received a token yet are retried on the new
// activation and succeed; new requests succeed on the survivors.
func TestFailoverKillOwner(t *testing.T) {
	t.Parallel()
	up := newUpstream(t, 0, 0)
	nodes := startCluster(t, clusterSpec{
		nodes:       []nodeSpec{{roles: `["egress"]`}, {roles: `["egress"]`}, {roles: `["egress"]`}},
		deployments: openaiDeployment("slow", up, ""),
		env:         []string{upstreamKeyEnv},
	})
	dead := owner(t, nodes, "slow")
	var gw *node
	for _, n := range nodes {
		if n != dead {
			gw = n
			break
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	const n = 4
	results := make([]streamResult, 2*n)
	var wg sync.WaitGroup
	var started []chan struct{}
	for i := range 2 * n {
		// Half stream for 10 s; half wait 3 s for their first token.
		content := "chunks=200 delay=50ms"
		if i >= n {
			content = "chunks=3 first=3s"
		}
		s := make(chan struct{})
		if i < n {
			started = append(started, s)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i] = streamChat(ctx, gw.http, "slow", content, s)
		}()
	}
	for _, s := range started {
		select {
		case <-s:
		case <-ctx.Done():
			t.Fatal("streams did not start")
		}
	}
	killedAt := time.Now()
	dead.kill()
	wg.Wait()

	for i, r := range results[:n] {
		if r.chunks == 0 || r.done || !strings.Contains(r.errBody, `"error"`) {
			t.Errorf("started stream %d: %d chunks, done=%v, error %q; want chunks, then an in-band error and no [DONE]", i, r.chunks, r.done, r.errBody)
		}
		if d := r.end.Sub(killedAt); d > 3*time.Second {
			t.Errorf("started stream %d ended %v after the kill; want < 3s", i, d)
		} else {
			t.Logf("started stream %d: %d chunks, ended with an in-band error %v after the kill", i, r.chunks, d.Round(time.Millisecond))
		}
	}
	for i, r := range results[n:] {
		if r.status != http.StatusOK || r.chunks != 3 || !r.done {
			t.Errorf("waiting request %d: status %d, %d chunks, done=%v, error %q, %v; want 200, 3 chunks, [DONE] (moved to the new activation)",
				i, r.status, r.chunks, r.done, r.errBody, r.err)
		} else {
			t.Logf("waiting request %d: moved to the new activation, finished %v after the kill", i, r.end.Sub(killedAt).Round(time.Millisecond))
		}
	}
	code, body, err := chat(ctx, http.DefaultClient, gw.http, "slow", "chunks=2", false)
	if err != nil || code != http.StatusOK {
		t.Errorf("request after failover = %d %q, %v; want 200", code, body, err)
	}
	if owner(t, nodes, "slow") == dead {
		// owner returns the first node with an activation log line; the
		// dead one logged first. Look for a survivor's.
		found := false
		for _, n := range nodes {
			found = found || (n != dead && n.hosts("slow"))
		}
		if !found {
			t.Error("no survivor activated the deployment")
		}
	}
}

// A node leaving gracefully (SIGTERM) drains first: a stream it is serving
// for another node's gateway finishes completely, and the deployment moves
// to a survivor.
func TestGracefulLeaveDrains(t *testing.T) {
	t.Parallel()
	t.Run("automanaged", func(t *testing.T) { t.Parallel(); testGracefulLeave(t, "", "") })
	t.Run("etcd", func(t *testing.T) {
		t.Parallel()
		binaries(t)
		testGracefulLeave(t, "etcd", startEtcd(t))
	})
}

func testGracefulLeave(t *testing.T, provider, etcd string) {
	up := newUpstream(t, 0, 0)
	nodes := startCluster(t, clusterSpec{
		provider:    provider,
		etcd:        etcd,
		nodes:       []nodeSpec{{roles: `["egress"]`}, {roles: `["egress"]`}},
		deployments: openaiDeployment("slow", up, ""),
		env:         []string{upstreamKeyEnv},
	})
	leaving := owner(t, nodes, "slow")
	gw := nodes[0]
	if gw == leaving {
		gw = nodes[1]
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	started := make(chan struct{})
	res := make(chan streamResult, 1)
	go func() { res <- streamChat(ctx, gw.http, "slow", "chunks=40 delay=50ms", started) }()
	<-started
	leaving.terminate()
	r := <-res
	if r.status != http.StatusOK || r.chunks != 40 || !r.done || r.errBody != "" {
		t.Errorf("stream during graceful leave: status %d, %d chunks, done=%v, error %q; want all 40 chunks and [DONE]", r.status, r.chunks, r.done, r.errBody)
	}
	select {
	case <-leaving.exited:
	case <-time.After(30 * time.Second):
		t.Fatal("the leaving node did not exit")
	}
	code, body, err := chat(ctx, http.DefaultClient, gw.http, "slow", "chunks=2", false)
	if err != nil || code != http.StatusOK {
		t.Errorf("request after the leave = %d %q, %v; want 200", code, body, err)
	}
	if !gw.hosts("slow") {
		t.Error("the survivor did not activate the deployment")
	}
}
