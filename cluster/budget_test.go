package cluster_test

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"
	"time"
)

// hourSpend reads a deployment's spend this hour through a node's admin API.
func hourSpend(t *testing.T, n *node, name string) float64 {
	t.Helper()
	resp, err := http.Get("http://" + n.http + "/admin/deployments/" + name)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var st struct {
		Budget struct {
			Hour struct {
				Spent float64 `json:"spent_usd"`
			} `json:"hour"`
		} `json:"budget"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		t.Fatalf("admin state of %s on %s: %v", name, n.name, err)
	}
	return st.Budget.Hour.Spent
}

// A deployment's budget survives the death of its owner: the owner gossips
// its budget state every second, and the activation that replaces it
// starts from the last snapshot (reservations counted as spent) instead of
// from zero.
func TestBudgetRecoveredAfterFailover(t *testing.T) {
	t.Parallel()
	up := newUpstream(t, 0, 0)
	nodes := startCluster(t, clusterSpec{
		nodes: []nodeSpec{{roles: `["egress"]`}, {roles: `["egress"]`}},
		// $0.01 per token: each request below costs (3 + 2) x $0.01 = $0.05.
		deployments: openaiDeployment("capped", up, `[deployment.pricing]
input = 10000.0
output = 10000.0
[deployment.budget]
max_spend_per_hour = 1000.0
`),
		env: []string{upstreamKeyEnv},
	})
	dead := owner(t, nodes, "capped")
	gw := nodes[0]
	if gw == dead {
		gw = nodes[1]
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	for range 5 {
		if code, body, err := chat(ctx, http.DefaultClient, gw.http, "capped", "chunks=2", false); err != nil || code != http.StatusOK {
			t.Fatalf("request = %d %q, %v; want 200", code, body, err)
		}
	}
	before := hourSpend(t, gw, "capped")
	if before < 0.25-1e-9 {
		t.Fatalf("spend before the kill = $%.2f; want >= $0.25", before)
	}
	// Gossip has no completion signal visible from here: give the owner
	// three publish intervals to spread its snapshot.
	<-time.After(3 * time.Second)
	dead.kill()
	var after float64
	waitFor(t, 20*time.Second, "the budget on the new activation", func() bool {
		code, _, err := chat(ctx, http.DefaultClient, gw.http, "capped", "chunks=2", false)
		if err != nil || code != http.StatusOK {
			return false
		}
		after = hourSpend(t, gw, "capped")
		return true
	})
	t.Logf("spend this hour: $%.2f on the dead owner, $%.2f on the new activation after one more $0.05 request", before, after)
	if after < before+0.05-1e-9 {
		t.Errorf("spend after failover = $%.2f; want >= $%.2f (the dead owner's $%.2f plus the new request)", after, before+0.05, before)
	}
}
