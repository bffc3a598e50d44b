// Command cluster-client is a separate protoactor application that joins an
// actorinfer cluster as a client (no roles, no kinds), resolves a
// deployment by name and streams a completion by message passing: it sends
// messages.Execute with a reply-to PID of its own and prints the
// messages.TokenChunk texts as they arrive. No HTTP is involved.
//
//	cluster-client -seeds 127.0.0.1:7400 -listen 127.0.0.1:7600 -model demo -prompt "Once upon a time"
//
// Every node of the cluster links the same messages package, so the only
// thing a client needs is that package and a cluster member to seed from.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/actorinfer/actorinfer/actors"
	"github.com/actorinfer/actorinfer/cluster"
	"github.com/actorinfer/actorinfer/config"
	"github.com/actorinfer/actorinfer/messages"
)

func main() {
	if err := run(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "cluster-client:", err)
		os.Exit(1)
	}
}

func run(args []string, out io.Writer) error {
	fs := flag.NewFlagSet("cluster-client", flag.ContinueOnError)
	name := fs.String("cluster", config.DefaultClusterName, "cluster name")
	provider := fs.String("provider", "automanaged", "membership provider: automanaged or etcd")
	listen := fs.String("listen", "127.0.0.1:7600", "this client's remoting address (chunks stream back to it)")
	seeds := fs.String("seeds", "127.0.0.1:7400", "comma-separated member addresses (automanaged)")
	etcd := fs.String("etcd", "", "comma-separated etcd endpoints (provider etcd)")
	model := fs.String("model", "demo", "deployment to call")
	prompt := fs.String("prompt", "Hello", "user message")
	maxTokens := fs.Int("max-tokens", 32, "max output tokens")
	timeout := fs.Duration("timeout", 30*time.Second, "deadline of the request")
	if err := fs.Parse(args); err != nil {
		return err
	}

	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	system := actor.NewActorSystem(actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger { return quiet }))
	cfg := &config.Cluster{Name: *name, Provider: config.ClusterProvider(*provider), Listen: *listen, Roles: []config.Role{}}
	if *seeds != "" && cfg.Provider == config.ProviderAutomanaged {
		cfg.Seeds = strings.Split(*seeds, ",")
	}
	if *etcd != "" {
		cfg.EtcdEndpoints = strings.Split(*etcd, ",")
	}
	member, err := cluster.New(system, cfg, cluster.Options{})
	if err != nil {
		return err
	}
	if err := member.StartClient(); err != nil {
		return err
	}
	defer member.Leave(context.Background())

	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	// Resolve finds the deployment's single activation, wherever it runs.
	pid, err := member.Resolve(ctx, *model)
	if err != nil {
		return err
	}
	batch := &messages.ExecuteBatch{
		RequestId:        fmt.Sprintf("client-%d", time.Now().UnixNano()),
		Model:            *model,
		Messages:         []*messages.ChatMessage{{Role: messages.Role_ROLE_USER, Content: *prompt}},
		Sampling:         &messages.Sampling{MaxTokens: int32(*maxTokens)},
		Stream:           true,
		DeadlineUnixNano: time.Now().Add(*timeout).UnixNano(),
	}
	// The stream is a reply process registered in this system; its PID,
	// with this client's address, is the reply-to the runner streams to.
	stream := actors.NewStream(ctx, system, pid, batch.GetRequestId())
	defer stream.Close()
	system.Root.Send(pid, &messages.Execute{Batch: batch, ReplyTo: actors.FromActorPID(stream.PID())})
	for {
		chunk, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		fmt.Fprint(out, chunk.GetText())
		if chunk.GetFinishReason() != messages.FinishReason_FINISH_REASON_UNSPECIFIED {
			fmt.Fprintf(out, "\n[%s by %s on %s: %d tokens out]\n", chunk.GetFinishReason(), chunk.GetDeployment(),
				pid.GetAddress(), chunk.GetUsage().GetOutputTokens())
		}
	}
}
