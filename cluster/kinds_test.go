package cluster_test

import (
	"fmt"
	"testing"

	"github.com/actorinfer/actorinfer/cluster"
	"github.com/actorinfer/actorinfer/config"
	"github.com/actorinfer/actorinfer/runners"
)

func TestKindName(t *testing.T) {
	for _, tt := range []struct{ name, want string }{
		{"gpt-4o-mini", "deployment.gpt-4o-mini"},
		{"meta-llama/Llama-3", "deployment.meta-llama%2FLlama-3"},
	} {
		if got := cluster.KindName(tt.name); got != tt.want {
			t.Errorf("KindName(%q) = %q, want %q", tt.name, got, tt.want)
		}
	}
}

func TestCanHost(t *testing.T) {
	gpu, egress, both := []config.Role{config.RoleGPU}, []config.Role{config.RoleEgress}, []config.Role{config.RoleGPU, config.RoleEgress}
	for _, tt := range []struct {
		runtime string
		roles   []config.Role
		want    bool
	}{
		{"local", gpu, true}, {"cuda", gpu, true}, {"fake", gpu, true}, {"openai", gpu, false},
		{"openai", egress, true}, {"anthropic", egress, true}, {"local", egress, false},
		{"gemini", both, true}, {"cuda", both, true}, {"local", nil, false}, {"openai", []config.Role{}, false},
	} {
		if got := cluster.CanHost(tt.roles, cluster.TransportOf(tt.runtime)); got != tt.want {
			t.Errorf("CanHost(%v, TransportOf(%q)) = %v, want %v", tt.roles, tt.runtime, got, tt.want)
		}
	}
}

// Where deployments may run: local runtimes on gpu nodes, remote providers
// on egress nodes.
func ExampleTransportOf() {
	for _, rt := range []runners.RuntimeKind{runners.RuntimeLocal, runners.RuntimeCUDA, runners.RuntimeOpenAI} {
		t := cluster.TransportOf(string(rt))
		fmt.Printf("%s: %s on %q nodes, kind %s\n", rt, t, t.Role(), cluster.KindName("my-"+string(rt)))
	}
	// Output:
	// local: local_cpu on "gpu" nodes, kind deployment.my-local
	// cuda: local_gpu on "gpu" nodes, kind deployment.my-cuda
	// openai: remote_network(openai) on "egress" nodes, kind deployment.my-openai
}
