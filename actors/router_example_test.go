package actors_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/actorinfer/actorinfer/actors"
	"github.com/actorinfer/actorinfer/messages"
	"github.com/actorinfer/actorinfer/runners"
	"github.com/actorinfer/actorinfer/runners/fake"
)

// A fallback chain over two deployments: the first is rate limited, so the
// second answers, and the first chunk says so.
func ExampleHost_SpawnRouter() {
	system := actor.NewActorSystem(actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger {
		return slog.New(slog.DiscardHandler)
	}))
	defer system.Shutdown()
	host := actors.NewHost(system, actors.HostOptions{Dispatcher: actor.NewDefaultDispatcher(300)})
	defer host.Stop()

	primary := fake.New(fake.WithReply(func(*messages.ExecuteBatch) string { return "primary" }))
	backup := fake.New(fake.WithReply(func(*messages.ExecuteBatch) string { return "backup answer" }))
	primary.RateLimitNext(1, 20*time.Second)
	for name, r := range map[string]*fake.Runner{"primary": primary, "backup": backup} {
		if _, err := host.Spawn(&actors.DeploymentSpec{Name: name,
			NewRunner: func(int) (runners.ModelRunner, error) { return r, nil }}); err != nil {
			panic(err)
		}
	}
	if _, err := host.SpawnRouter(&actors.RouterSpec{Name: "chat", Kind: actors.RouterFallback,
		Members: []string{"primary", "backup"}}); err != nil {
		panic(err)
	}

	h, err := host.Execute(context.Background(), &messages.ExecuteBatch{Model: "chat", Stream: true,
		Messages: []*messages.ChatMessage{{Role: messages.Role_ROLE_USER, Content: "hello"}}})
	if err != nil {
		panic(err)
	}
	defer h.Close()
	for first := true; ; first = false {
		c, err := h.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			panic(err)
		}
		if first {
			r := c.GetRoutes()[0]
			fmt.Printf("router %s: %s (reason %s)\n", r.GetRouter(), r.GetMember(), r.GetReason())
			for _, s := range r.GetSteps() {
				fmt.Printf("  %s: %s\n", s.GetMember(), s.GetOutcome())
			}
		}
		fmt.Print(c.GetText())
	}
	fmt.Println()
	// Output:
	// router chat: backup (reason rate_limited)
	//   primary: rate_limited
	//   backup: served
	// backup answer
}
