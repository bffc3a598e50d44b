package openai

import (
	"encoding/base64"
	"encoding/json"
	"net/http"

	"github.com/actorinfer/actorinfer/messages"
	"github.com/actorinfer/actorinfer/runners"
)

// buildRequest translates batch into a Chat Completions request body. The
// model is the configured provider model id, not the batch's (client-facing)
// model name. Errors are bad_request.
func buildRequest(cfg *Config, batch *messages.ExecuteBatch) ([]byte, error) {
	req := chatRequest{
		Model:  cfg.Model,
		Stream: batch.GetStream(),
		User:   batch.GetUser(),
	}
	if req.Stream {
		// Always ask for the usage chunk: it is how streamed usage is
		// accounted. Servers that ignore it get their usage estimated.
		req.StreamOptions = &streamOptions{IncludeUsage: true}
	}
	for i, m := range batch.GetMessages() {
		wm, err := wireMessageOf(m)
		if err != nil {
			return nil, runners.Errorf(runners.CodeBadRequest, "%s: message %d: %v", cfg.Provider, i, err)
		}
		req.Messages = append(req.Messages, wm)
	}
	if len(req.Messages) == 0 {
		return nil, runners.Errorf(runners.CodeBadRequest, "%s: the request has no messages", cfg.Provider)
	}
	s := batch.GetSampling()
	if n := s.GetMaxTokens(); n > 0 {
		if cfg.MaxTokensField == MaxTokens {
			req.MaxTokens = n
		} else {
			req.MaxCompletionTokens = n
		}
	}
	if s != nil {
		req.Temperature = s.Temperature
		req.TopP = s.TopP
		req.PresencePenalty = s.PresencePenalty
		req.FrequencyPenalty = s.FrequencyPenalty
		req.Seed = s.Seed
		req.Stop = s.GetStop()
		if cfg.Runtime == "litellm" {
			req.TopK = s.TopK // OpenAI and Azure reject top_k
		}
	}
	for _, f := range []struct {
		name string
		raw  []byte
		dst  *json.RawMessage
	}{
		{"tools", batch.GetToolsJson(), &req.Tools},
		{"tool_choice", batch.GetToolChoiceJson(), &req.ToolChoice},
		{"response_format", batch.GetResponseFormatJson(), &req.ResponseFormat},
	} {
		if len(f.raw) == 0 {
			continue
		}
		if !json.Valid(f.raw) {
			return nil, runners.Errorf(runners.CodeBadRequest, "%s: %s is not valid JSON", cfg.Provider, f.name)
		}
		*f.dst = f.raw
	}
	b, err := json.Marshal(&req)
	if err != nil {
		return nil, runners.Errorf(runners.CodeBadRequest, "%s: encoding the request: %v", cfg.Provider, err)
	}
	return b, nil
}

type requestError string

func (e requestError) Error() string { return string(e) }

func wireMessageOf(m *messages.ChatMessage) (wireMessage, error) {
	role := m.GetRole().Slug()
	if role == "" {
		return wireMessage{}, requestError("role is unspecified")
	}
	wm := wireMessage{Role: role, Name: m.GetName(), ToolCallID: m.GetToolCallId()}
	for _, tc := range m.GetToolCalls() {
		typ := tc.GetType()
		if typ == "" {
			typ = "function"
		}
		args := tc.GetArguments()
		if args == "" {
			args = "{}"
		}
		wm.ToolCalls = append(wm.ToolCalls, wireToolCall{ID: tc.GetId(), Type: typ,
			Function: wireFunction{Name: tc.GetName(), Arguments: args}})
	}
	switch {
	case len(m.GetParts()) > 0:
		parts := make([]wirePart, 0, len(m.GetParts()))
		for _, p := range m.GetParts() {
			switch v := p.GetPart().(type) {
			case *messages.ContentPart_Text:
				parts = append(parts, wirePart{Type: "text", Text: v.Text})
			case *messages.ContentPart_Image:
				u, err := imageURL(v.Image)
				if err != nil {
					return wireMessage{}, err
				}
				parts = append(parts, wirePart{Type: "image_url", ImageURL: &wireImageURL{URL: u, Detail: v.Image.GetDetail()}})
			default:
				return wireMessage{}, requestError("empty content part")
			}
		}
		wm.Content = parts
	case m.GetContent() == "" && len(wm.ToolCalls) > 0:
		wm.Content = nil // an assistant turn that only called tools
	default:
		wm.Content = m.GetContent()
	}
	return wm, nil
}

// imageURL returns the image's URL, or a data URL of its inline bytes (the
// media type sniffed when not given).
func imageURL(img *messages.Image) (string, error) {
	if img.GetUrl() != "" {
		return img.GetUrl(), nil
	}
	if len(img.GetData()) == 0 {
		return "", requestError("image has neither url nor data")
	}
	mt := img.GetMediaType()
	if mt == "" {
		mt = http.DetectContentType(img.GetData())
	}
	return "data:" + mt + ";base64," + base64.StdEncoding.EncodeToString(img.GetData()), nil
}
