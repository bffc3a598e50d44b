package anthropic_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"

	"github.com/actorinfer/actorinfer/messages"
	"github.com/actorinfer/actorinfer/runners"
	"github.com/actorinfer/actorinfer/runners/anthropic"
	"github.com/actorinfer/actorinfer/runners/httpapi"
)

func Example() {
	// A stand-in for https://api.anthropic.com answering one message.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"id":"msg_01","type":"message","role":"assistant","model":"claude-sonnet-4-20250514",
			"content":[{"type":"text","text":"Hello! How can I help?"}],"stop_reason":"end_turn","stop_sequence":null,
			"usage":{"input_tokens":12,"output_tokens":8}}`)
	}))
	defer srv.Close()

	r, err := anthropic.New((anthropic.Config{Config: httpapi.Config{
		Endpoint: srv.URL, // default https://api.anthropic.com
		Model:    "claude-sonnet-4-20250514",
		APIKey:   httpapi.Secret{Inline: "sk-ant-example"}, // { from_env = "ANTHROPIC_API_KEY" } in production
	}}), anthropic.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	h, err := r.Execute(context.Background(), &messages.ExecuteBatch{
		Messages: []*messages.ChatMessage{
			{Role: messages.Role_ROLE_SYSTEM, Content: "Be brief."},
			{Role: messages.Role_ROLE_USER, Content: "Hi"},
		},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	chunks, err := runners.ReadAll(h)
	if err != nil {
		fmt.Println(err)
		return
	}
	last := chunks[len(chunks)-1]
	fmt.Println(last.GetText())
	fmt.Println(last.GetFinishReason().Slug(), last.GetUsage().GetInputTokens(), last.GetUsage().GetOutputTokens())
	fmt.Printf("$%.6f\n", last.GetCostUsd())
	// Output:
	// Hello! How can I help?
	// stop 12 8
	// $0.000156
}
