package gemini_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/actorinfer/actorinfer/messages"
	"github.com/actorinfer/actorinfer/runners/gemini"
	"github.com/actorinfer/actorinfer/runners/httpapi"
)

func Example() {
	// A stand-in for https://generativelanguage.googleapis.com streaming
	// one answer in two events.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		io.WriteString(w, "data: {\"candidates\":[{\"content\":{\"role\":\"model\",\"parts\":[{\"text\":\"Hello\"}]}}]}\r\n\r\n"+
			"data: {\"candidates\":[{\"content\":{\"role\":\"model\",\"parts\":[{\"text\":\" there!\"}]},\"finishReason\":\"STOP\"}],"+
			"\"usageMetadata\":{\"promptTokenCount\":4,\"candidatesTokenCount\":3,\"totalTokenCount\":7},\"modelVersion\":\"gemini-2.0-flash\"}\r\n\r\n")
	}))
	defer srv.Close()

	r, err := gemini.New((gemini.Config{Config: httpapi.Config{
		Endpoint: srv.URL, // default https://generativelanguage.googleapis.com
		Model:    "gemini-2.0-flash",
		APIKey:   httpapi.Secret{Inline: "AIza-example"}, // { from_env = "GEMINI_API_KEY" } in production
	}}), gemini.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	h, err := r.Execute(context.Background(), &messages.ExecuteBatch{
		Stream:   true,
		Messages: []*messages.ChatMessage{{Role: messages.Role_ROLE_USER, Content: "Hi"}},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer h.Close()
	var text strings.Builder
	for {
		c, err := h.Recv()
		if err == io.EOF {
			break
		}
		if err != nil {
			fmt.Println(err)
			return
		}
		text.WriteString(c.GetText())
		if f := c.GetFinishReason(); f != messages.FinishReason_FINISH_REASON_UNSPECIFIED {
			fmt.Println(text.String())
			fmt.Println(f.Slug(), c.GetUsage().GetInputTokens(), c.GetUsage().GetOutputTokens(), c.GetModel())
		}
	}
	// Output:
	// Hello there!
	// stop 4 3 gemini-2.0-flash
}
