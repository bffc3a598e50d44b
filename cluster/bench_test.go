package cluster_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/actorinfer/actorinfer/actors"
	"github.com/actorinfer/actorinfer/cluster"
	"github.com/actorinfer/actorinfer/config"
	"github.com/actorinfer/actorinfer/messages"
	"github.com/actorinfer/actorinfer/runners"
	"github.com/actorinfer/actorinfer/runners/fake"
)

// target is where a benchmark sends Execute: a deployment in this process
// or on a member process reached through the cluster.
type target struct {
	system *actor.ActorSystem
	pid    *actor.PID
}

func quietSystem() *actor.ActorSystem {
	quiet := slog.New(slog.DiscardHandler)
	return actor.NewActorSystem(actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger { return quiet }))
}

// inProcess spawns the fake deployment "echo" in this process.
func inProcess(b *testing.B) target {
	system := quietSystem()
	host := actors.NewHost(system, actors.HostOptions{})
	pid, err := host.Spawn(&actors.DeploymentSpec{Name: "echo", Runtime: "fake",
		NewRunner: func(int) (runners.ModelRunner, error) { return fake.New(fake.WithModel("echo-1")), nil }})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { host.Close(); system.Shutdown() })
	return target{system, pid}
}

// crossNode starts one member process hosting "echo" and joins this
// process to its cluster as a client.
func crossNode(b *testing.B) target {
	nodes := startCluster(b, clusterSpec{
		nodes:       []nodeSpec{{roles: `["gpu"]`}},
		deployments: "[[deployment]]\nname = \"echo\"\nruntime = \"fake\"\nmodel = \"echo-1\"\n",
	})
	system := quietSystem()
	m, err := cluster.New(system, &config.Cluster{Name: clusterName(), Listen: fmt.Sprintf("127.0.0.1:%d", freePort(b, false)),
		Seeds: []string{nodes[0].remote}, Roles: []config.Role{}}, cluster.Options{})
	if err != nil {
		b.Fatal(err)
	}
	if err := m.StartClient(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = m.Leave(context.Background()) })
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	pid, err := m.Resolve(ctx, "echo")
	if err != nil {
		b.Fatal(err)
	}
	return target{system, pid}
}

// run sends one Execute and drains its stream, returning the chunks.
func (tg target) run(ctx context.Context, i int, prompt string) (int, error) {
	id := fmt.Sprintf("bench-%d", i)
	s := actors.NewStream(ctx, tg.system, tg.pid, id)
	defer s.Close()
	tg.system.Root.Send(tg.pid, &messages.Execute{ReplyTo: actors.FromActorPID(s.PID()), Batch: &messages.ExecuteBatch{
		RequestId: id, Model: "echo", Stream: true,
		Messages: []*messages.ChatMessage{{Role: messages.Role_ROLE_USER, Content: prompt}},
	}})
	n := 0
	for {
		_, err := s.Recv()
		if errors.Is(err, io.EOF) {
			return n, nil
		}
		if err != nil {
			return n, err
		}
		n++
	}
}

func benchRoundTrip(b *testing.B, tg target) {
	ctx := context.Background()
	b.ResetTimer()
	for i := range b.N {
		if _, err := tg.run(ctx, i, "ping"); err != nil {
			b.Fatal(err)
		}
	}
}

func benchStream(b *testing.B, tg target) {
	ctx := context.Background()
	const words = 2000
	prompt := strings.TrimSpace(strings.Repeat("tok ", words))
	b.ResetTimer()
	chunks := 0
	for i := range b.N {
		n, err := tg.run(ctx, i, prompt)
		if err != nil {
			b.Fatal(err)
		}
		chunks += n
	}
	b.ReportMetric(float64(chunks)/b.Elapsed().Seconds(), "chunks/s")
}

// BenchmarkExecuteRoundTrip: one Execute of a one-token answer, sent and
// answered: in this process, and to a deployment on another process
// through the cluster (remote send, chunk back over the connection).
func BenchmarkExecuteRoundTrip(b *testing.B) {
	b.Run("in-process", func(b *testing.B) { benchRoundTrip(b, inProcess(b)) })
	b.Run("cross-node", func(b *testing.B) { benchRoundTrip(b, crossNode(b)) })
}

// BenchmarkStreamThroughput: a 2000-chunk answer streamed to the caller.
func BenchmarkStreamThroughput(b *testing.B) {
	b.Run("in-process", func(b *testing.B) { benchStream(b, inProcess(b)) })
	b.Run("cross-node", func(b *testing.B) { benchStream(b, crossNode(b)) })
}
