// Command hybrid-agent is a support-ticket classifier that tries the local
// model first and escalates to a remote provider when the local answer is
// not a usable label, falling back to a second provider when the first is
// rate limited. It runs with no keys and no network: the local model is the
// small demo model under testdata/models (or a fake when it is absent), and
// the two "providers" are in-process fake runners that stand in for OpenAI
// and Anthropic.
//
//	go run ./cmd/examples/hybrid-agent
//
// The actor graph:
//
//	agent   (cascade)   local -> remote           escalate unless the answer is a label
//	remote  (fallback)  openai -> anthropic       on rate_limited, circuit_open, ...
//
// Every answer's first chunk carries the routers' decisions (RouteInfo),
// which the program prints.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/actorinfer/actorinfer/actors"
	"github.com/actorinfer/actorinfer/messages"
	"github.com/actorinfer/actorinfer/runners"
	"github.com/actorinfer/actorinfer/runners/fake"
	"github.com/actorinfer/actorinfer/runners/local"
)

// labels are the answers the agent accepts.
var labels = []string{"billing", "technical", "account", "other"}

var tickets = []string{
	"I was charged twice for my subscription this month",
	"The app crashes with a segfault when I upload a file",
	"How do I change the email address on my account?",
}

func main() {
	if err := run(os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "hybrid-agent:", err)
		os.Exit(1)
	}
}

func run(out io.Writer) error {
	system := actor.NewActorSystem(actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger {
		return slog.New(slog.DiscardHandler)
	}))
	defer system.Shutdown()
	host := actors.NewHost(system, actors.HostOptions{})
	// Stop, not Close: the process ends here, and Close's dispatcher
	// shutdown can race a stream pump's last send (reported to the lead).
	defer host.Stop()

	localRunner, note := localModel()
	fmt.Fprintln(out, "local model:", note)

	// The "providers": fake runners with prices, answering like a keyword
	// classifier. openai is rate limited once, with a 20 s Retry-After.
	openai := fake.New(fake.WithTransportKind(runners.TransportRemote(runners.ProviderOpenAI)),
		fake.WithPrice(0.15, 0.60), fake.WithModel("gpt-4o-mini"), fake.WithReply(classify))
	anthropic := fake.New(fake.WithTransportKind(runners.TransportRemote(runners.ProviderAnthropic)),
		fake.WithPrice(0.80, 4.00), fake.WithModel("claude-haiku"), fake.WithReply(classify))
	openai.RateLimitNext(1, 20*time.Second)

	for _, spec := range []*actors.DeploymentSpec{
		{Name: "local", Runtime: "local", NewRunner: func(int) (runners.ModelRunner, error) { return localRunner, nil }},
		{Name: "openai", Runtime: "openai", NewRunner: func(int) (runners.ModelRunner, error) { return openai, nil }},
		{Name: "anthropic", Runtime: "anthropic", NewRunner: func(int) (runners.ModelRunner, error) { return anthropic, nil }},
	} {
		if _, err := host.Spawn(spec); err != nil {
			return err
		}
	}
	for _, spec := range []*actors.RouterSpec{
		{Name: "remote", Kind: actors.RouterFallback, Members: []string{"openai", "anthropic"}},
		{Name: "agent", Kind: actors.RouterCascade, Members: []string{"local", "remote"},
			Escalation: actors.Escalation{Empty: true, Check: func(answer string, last *messages.TokenChunk) string {
				if label(answer) == "" {
					rejected.put(last.GetRequestId(), answer)
					return "not_a_label"
				}
				return ""
			}}},
	} {
		if _, err := host.SpawnRouter(spec); err != nil {
			return err
		}
	}

	for i, ticket := range tickets {
		fmt.Fprintf(out, "\nticket %d: %q\n", i+1, ticket)
		if err := ask(out, host, fmt.Sprintf("ticket-%d", i+1), ticket); err != nil {
			return err
		}
	}
	fmt.Fprintf(out, "\nprovider calls: openai %d (1 rate limited), anthropic %d\n", openai.Executes(), anthropic.Executes())
	return nil
}

// ask sends one ticket to the agent router and prints the answer and the
// route it took.
func ask(out io.Writer, host *actors.Host, id, ticket string) error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	zero := float32(0)
	h, err := host.Execute(ctx, &messages.ExecuteBatch{RequestId: id, Model: "agent", Stream: true,
		Sampling: &messages.Sampling{MaxTokens: 12, Temperature: &zero},
		Messages: []*messages.ChatMessage{
			{Role: messages.Role_ROLE_SYSTEM, Content: "Classify the ticket as one of: " + strings.Join(labels, ", ") + "."},
			{Role: messages.Role_ROLE_USER, Content: ticket},
		}})
	if err != nil {
		return err
	}
	defer h.Close()
	var text strings.Builder
	var first, last *messages.TokenChunk
	for {
		c, err := h.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			fmt.Fprintf(out, "  failed: %v\n", err)
			return nil
		}
		if first == nil {
			first = c
		}
		last = c
		text.WriteString(c.GetText())
	}
	if a, ok := rejected.get(id); ok {
		fmt.Fprintf(out, "  local model said %q: not a label, escalated\n", strings.TrimSpace(a))
	}
	for _, r := range first.GetRoutes() {
		var steps []string
		for _, s := range r.GetSteps() {
			steps = append(steps, s.GetMember()+": "+s.GetOutcome())
		}
		fmt.Fprintf(out, "  router %-6s (%s) -> %-9s reason %-24s [%s]\n", r.GetRouter(), r.GetKind(), r.GetMember(),
			r.GetReason(), strings.Join(steps, ", "))
	}
	fmt.Fprintf(out, "  answer %q from %s (%s), cost $%.6f\n", strings.TrimSpace(text.String()), last.GetDeployment(),
		last.GetModel(), last.GetCostUsd())
	return nil
}

// rejected keeps the answers the cascade's check rejected, by request id.
// The check runs on the candidate stream's goroutine, hence the lock.
var rejected = &answers{m: map[string]string{}}

type answers struct {
	mu sync.Mutex
	m  map[string]string
}

func (a *answers) put(id, s string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.m[id] = s
}

func (a *answers) get(id string) (string, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	s, ok := a.m[id]
	return s, ok
}

// classify is the providers' answer: a keyword classifier.
func classify(b *messages.ExecuteBatch) string {
	msgs := b.GetMessages()
	t := strings.ToLower(msgs[len(msgs)-1].Text())
	switch {
	case strings.Contains(t, "charged") || strings.Contains(t, "invoice"):
		return "billing"
	case strings.Contains(t, "crash") || strings.Contains(t, "error"):
		return "technical"
	case strings.Contains(t, "email") || strings.Contains(t, "password"):
		return "account"
	}
	return "other"
}

// label returns the label answer is, or "".
func label(answer string) string {
	a := strings.ToLower(strings.Trim(strings.TrimSpace(answer), "."))
	for _, l := range labels {
		if a == l {
			return l
		}
	}
	return ""
}

// localModel returns the pure-Go runner on the bundled demo model, or a
// fake that answers like a small base model when the model is not found.
func localModel() (runners.ModelRunner, string) {
	_, file, _, _ := runtime.Caller(0)
	dir := filepath.Join(filepath.Dir(file), "..", "..", "..", "testdata", "models")
	r, err := local.New(local.Config{ModelPath: filepath.Join(dir, "demo.bin"),
		TokenizerPath: filepath.Join(dir, "tokenizer.bin"), Threads: 2, MaxBatch: 2, Seed: 1})
	if err == nil {
		return r, "testdata/models/demo.bin on the pure-Go CPU runtime"
	}
	return fake.New(fake.WithReply(func(*messages.ExecuteBatch) string { return "Once upon a time there was a" })),
		fmt.Sprintf("a fake standing in for the demo model (%v)", err)
}
