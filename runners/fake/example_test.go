package fake_test

import (
	"context"
	"fmt"
	"time"

	"github.com/actorinfer/actorinfer/messages"
	"github.com/actorinfer/actorinfer/runners"
	"github.com/actorinfer/actorinfer/runners/fake"
)

func Example() {
	r := fake.New(fake.WithPrice(0.15, 0.60)) // USD per million tokens
	b := &messages.ExecuteBatch{
		Model:    "demo",
		Stream:   true,
		Messages: []*messages.ChatMessage{{Role: messages.Role_ROLE_USER, Content: "the quick brown fox"}},
		Sampling: &messages.Sampling{MaxTokens: 3},
	}
	h, err := r.Execute(context.Background(), b)
	if err != nil {
		panic(err)
	}
	chunks, err := runners.ReadAll(h) // reads to io.EOF and closes h
	if err != nil {
		panic(err)
	}
	for _, c := range chunks {
		fmt.Printf("%q\n", c.GetText())
	}
	last := chunks[len(chunks)-1]
	fmt.Println(last.GetFinishReason().Slug(), last.GetUsage().GetInputTokens(), last.GetUsage().GetOutputTokens())
	fmt.Printf("cost $%.8f, estimated $%.8f\n", last.GetCostUsd(), r.EstimateCostUSD(b))
	// Output:
	// "the"
	// " quick"
	// " brown"
	// length 4 3
	// cost $0.00000240, estimated $0.00000240
}

func ExampleRunner_PoisonContext() {
	ctx := context.Background()
	r := fake.New()
	b := &messages.ExecuteBatch{Messages: []*messages.ChatMessage{{Role: messages.Role_ROLE_USER, Content: "hi"}}}

	r.PoisonContext()
	_, err := r.Execute(ctx, b)
	c := runners.Classify(err)
	fmt.Println(err)
	fmt.Println("session fault:", c.SessionFault, c.Cause)

	// The supervisor restarts the actor, which rebuilds the session.
	if err := r.RebuildSession(ctx, c.Cause); err != nil {
		panic(err)
	}
	h, err := r.Execute(ctx, b)
	if err != nil {
		panic(err)
	}
	chunks, _ := runners.ReadAll(h)
	fmt.Println(chunks[0].GetText(), r.Rebuilds(runners.CudaContextPoisoned))
	// Output:
	// cuda_context_poisoned: fake: CUDA context poisoned
	// session fault: true cuda_context_poisoned
	// hi 1
}

func ExampleRunner_RateLimitNext() {
	r := fake.New()
	r.RateLimitNext(1, 2*time.Second)
	_, err := r.Execute(context.Background(), &messages.ExecuteBatch{})
	c := runners.Classify(err)
	fmt.Println(c.Code.Slug(), c.Retryable, runners.AsError(err).RetryAfter())
	// Output:
	// rate_limited true 2s
}
