package openai_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"

	"github.com/actorinfer/actorinfer/messages"
	"github.com/actorinfer/actorinfer/runners"
	"github.com/actorinfer/actorinfer/runners/httpapi"
	"github.com/actorinfer/actorinfer/runners/openai"
)

func Example() {
	// A stand-in for https://api.openai.com/v1 that streams one answer.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		io.WriteString(w, `data: {"object":"chat.completion.chunk","model":"gpt-4o-mini-2024-07-18","choices":[{"index":0,"delta":{"content":"Hello"},"finish_reason":null}],"usage":null}`+"\n\n")
		io.WriteString(w, `data: {"object":"chat.completion.chunk","model":"gpt-4o-mini-2024-07-18","choices":[{"index":0,"delta":{"content":" there"},"finish_reason":"stop"}],"usage":null}`+"\n\n")
		io.WriteString(w, `data: {"object":"chat.completion.chunk","model":"gpt-4o-mini-2024-07-18","choices":[],"usage":{"prompt_tokens":9,"completion_tokens":2,"total_tokens":11}}`+"\n\n")
		io.WriteString(w, "data: [DONE]\n\n")
	}))
	defer srv.Close()

	r, err := openai.New(openai.Static(openai.Config{Config: httpapi.Config{
		Endpoint: srv.URL + "/v1",
		Model:    "gpt-4o-mini",
		APIKey:   httpapi.Secret{Inline: "sk-example"}, // production: {FromEnv: "OPENAI_API_KEY"}
	}}), openai.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	h, err := r.Execute(context.Background(), &messages.ExecuteBatch{
		Stream:   true,
		Messages: []*messages.ChatMessage{{Role: messages.Role_ROLE_USER, Content: "Say hello"}},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	chunks, err := runners.ReadAll(h)
	for _, c := range chunks {
		fmt.Printf("%q", c.GetText())
	}
	last := chunks[len(chunks)-1]
	fmt.Printf("\n%s, %d+%d tokens, $%.8f, %v\n", last.GetFinishReason().Slug(),
		last.GetUsage().GetInputTokens(), last.GetUsage().GetOutputTokens(), last.GetCostUsd(), err)
	// Output:
	// "Hello"" there"""
	// stop, 9+2 tokens, $0.00000255, <nil>
}
