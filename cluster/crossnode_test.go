package cluster_test

import (
	"context"
	"net/http"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// A gateway-only node serves a deployment hosted on a gpu node: the
// request crosses the cluster and the chunks stream back. A separate
// protoactor application joined as a client does the same without HTTP.
func TestCrossNodeStreamingAndClient(t *testing.T) {
	t.Parallel()
	nodes := startCluster(t, clusterSpec{
		nodes: []nodeSpec{{roles: `["gpu"]`}, {roles: `[]`}},
		deployments: `[[deployment]]
name = "echo"
runtime = "fake"
model = "echo-1"

[[deployment]]
name = "echo2"
runtime = "fake"
model = "echo-2"

[[router]]
name = "auto"
kind = "fallback"
members = ["echo", "echo2"]
`,
	})
	gpu, gw := nodes[0], nodes[1]
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()

	code, body, err := chat(ctx, http.DefaultClient, gw.http, "echo", "one two three four", true)
	if err != nil || code != http.StatusOK {
		t.Fatalf("stream via the gateway-only node = %d %q, %v; want 200", code, body, err)
	}
	if n := strings.Count(body, `"content":`); n < 2 || !strings.Contains(body, "data: [DONE]") {
		t.Errorf("stream via the gateway-only node has %d content chunks, done=%v:\n%s", n, strings.Contains(body, "[DONE]"), body)
	}
	if !strings.Contains(strings.ReplaceAll(body, `"`, ""), "four") {
		t.Errorf("stream does not carry the echoed text:\n%s", body)
	}
	if gw.hosts("echo") || !gpu.hosts("echo") {
		t.Errorf("activation placed on gateway-only node = %v, on gpu node = %v; want false, true", gw.hosts("echo"), gpu.hosts("echo"))
	}

	// A router on the gateway-only node reaches its member on the gpu node.
	code, body, err = chat(ctx, http.DefaultClient, gw.http, "auto", "via the router", false)
	if err != nil || code != http.StatusOK || !strings.Contains(body, "via the router") {
		t.Errorf("router via the gateway-only node = %d %q, %v; want 200 with the echo", code, body, err)
	}

	_, client := binaries(t)
	out, err := exec.CommandContext(ctx, client, "-cluster", clusterName(), "-seeds", gpu.remote+","+gw.remote,
		"-listen", "127.0.0.1:"+itoa(freePort(t, false)), "-model", "echo", "-prompt", "hello from a client").CombinedOutput()
	if ours, theirs := races(string(out)); len(ours) > 0 {
		t.Errorf("cluster-client: races in actorinfer code:\n%s", strings.Join(ours, "\n"))
	} else if theirs > 0 && err != nil {
		// A race-built client exits 66 on protoactor's own shutdown race.
		t.Logf("cluster-client: %d race reports inside protoactor (%v)", theirs, err)
		err = nil
	}
	if err != nil {
		t.Fatalf("cluster-client: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "hello from a client") || !strings.Contains(string(out), "FINISH_REASON_STOP by echo on "+gpu.remote) {
		t.Errorf("cluster-client output = %q; want the echoed prompt and a stop from %s", out, gpu.remote)
	}
}
