package local_test

import (
	"context"
	"fmt"
	"log"

	"github.com/actorinfer/actorinfer/messages"
	"github.com/actorinfer/actorinfer/runners"
	"github.com/actorinfer/actorinfer/runners/local"
)

// A base model continues the user's text; temperature 0 is greedy.
func ExampleNew() {
	r, err := local.New(local.Config{
		ModelPath:     "models/stories15M.bin",
		TokenizerPath: "models/tokenizer.bin",
		Threads:       2,
		MaxBatch:      8,
	})
	if err != nil {
		log.Fatal(err)
	}
	defer r.Close()
	greedy := float32(0)
	h, err := r.Execute(context.Background(), &messages.ExecuteBatch{
		Messages: []*messages.ChatMessage{{Role: messages.Role_ROLE_USER, Content: "Once upon a time"}},
		Sampling: &messages.Sampling{Temperature: &greedy, MaxTokens: 64},
	})
	if err != nil {
		log.Fatal(err)
	}
	chunks, err := runners.ReadAll(h)
	if err != nil {
		log.Fatal(err)
	}
	for _, c := range chunks {
		fmt.Print(c.GetText())
	}
	last := chunks[len(chunks)-1]
	fmt.Println("\nfinish:", last.GetFinishReason(), "usage:", last.GetUsage())
}
