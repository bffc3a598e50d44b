package anthropic

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"

	"github.com/actorinfer/actorinfer/messages"
	"github.com/actorinfer/actorinfer/runners"
)

// DefaultMaxTokens is the max_tokens sent when neither the request nor the
// Config sets one. The Messages API requires the field.
const DefaultMaxTokens = 4096

// buildRequest maps a batch onto a Messages API request body for model. It
// returns a bad_request or unsupported *messages.Error when the batch cannot
// be expressed.
func buildRequest(b *messages.ExecuteBatch, model string, defaultMaxTokens int) (*request, error) {
	r := &request{Model: model, Stream: b.GetStream()}
	if r.Model == "" {
		r.Model = b.GetModel()
	}
	s := b.GetSampling()
	r.MaxTokens = int(s.GetMaxTokens())
	if r.MaxTokens <= 0 {
		r.MaxTokens = defaultMaxTokens
	}
	if r.MaxTokens <= 0 {
		r.MaxTokens = DefaultMaxTokens
	}
	if s != nil {
		if s.Temperature != nil {
			r.Temperature = widen(s.GetTemperature())
		}
		if s.TopP != nil {
			r.TopP = widen(s.GetTopP())
		}
		if s.TopK != nil {
			v := int(s.GetTopK())
			r.TopK = &v
		}
		r.StopSequences = s.GetStop()
	}
	if u := b.GetUser(); u != "" {
		r.Metadata = &metadata{UserID: u}
	}
	for i, m := range b.GetMessages() {
		switch m.GetRole() {
		case messages.Role_ROLE_SYSTEM:
			if t := m.Text(); t != "" {
				r.System = append(r.System, block{Type: "text", Text: t})
			}
		case messages.Role_ROLE_USER:
			blocks, err := userBlocks(m)
			if err != nil {
				return nil, err
			}
			r.appendTurn("user", blocks)
		case messages.Role_ROLE_ASSISTANT:
			blocks, err := assistantBlocks(m)
			if err != nil {
				return nil, err
			}
			r.appendTurn("assistant", blocks)
		case messages.Role_ROLE_TOOL:
			if m.GetToolCallId() == "" {
				return nil, runners.Errorf(runners.CodeBadRequest, "anthropic: message %d: tool message without tool_call_id", i)
			}
			res := block{Type: "tool_result", ToolUseID: m.GetToolCallId()}
			if t := m.Text(); t != "" {
				res.Content = []block{{Type: "text", Text: t}}
			}
			r.appendTurn("user", []block{res})
		default:
			return nil, runners.Errorf(runners.CodeBadRequest, "anthropic: message %d: unknown role", i)
		}
	}
	if len(r.Messages) == 0 {
		return nil, runners.Errorf(runners.CodeBadRequest, "anthropic: no user or assistant messages")
	}
	tools, err := translateTools(b.GetToolsJson())
	if err != nil {
		return nil, err
	}
	r.Tools = tools
	tc, err := translateToolChoice(b.GetToolChoiceJson())
	if err != nil {
		return nil, err
	}
	if len(tools) > 0 {
		r.ToolChoice = tc // without tools, tool_choice says nothing (and the API refuses it)
	}
	if err := checkResponseFormat(b.GetResponseFormatJson()); err != nil {
		return nil, err
	}
	return r, nil
}

// widen converts a float32 to the float64 with the same shortest decimal
// form, so 0.7 is sent as 0.7 and not 0.699999988079071.
func widen(f float32) *float64 {
	v, _ := strconv.ParseFloat(strconv.FormatFloat(float64(f), 'g', -1, 32), 64)
	return &v
}

// appendTurn adds blocks as a role turn, merging with the previous turn of
// the same role: consecutive tool results (and a user message after them)
// become one user message, as the API expects.
func (r *request) appendTurn(role string, blocks []block) {
	if len(blocks) == 0 {
		return
	}
	if n := len(r.Messages); n > 0 && r.Messages[n-1].Role == role {
		r.Messages[n-1].Content = append(r.Messages[n-1].Content, blocks...)
		return
	}
	r.Messages = append(r.Messages, message{Role: role, Content: blocks})
}

func userBlocks(m *messages.ChatMessage) ([]block, error) {
	if len(m.GetParts()) == 0 {
		if m.GetContent() == "" {
			return nil, nil
		}
		return []block{{Type: "text", Text: m.GetContent()}}, nil
	}
	var out []block
	for _, p := range m.GetParts() {
		switch x := p.GetPart().(type) {
		case *messages.ContentPart_Text:
			if x.Text != "" {
				out = append(out, block{Type: "text", Text: x.Text})
			}
		case *messages.ContentPart_Image:
			src, err := imageSourceOf(x.Image)
			if err != nil {
				return nil, err
			}
			out = append(out, block{Type: "image", Source: src})
		}
	}
	return out, nil
}

// imageSourceOf maps an image to a base64 source (inline bytes or a data
// URL) or a url source (http and https URLs).
func imageSourceOf(img *messages.Image) (*imageSource, error) {
	if len(img.GetData()) > 0 {
		mt := img.GetMediaType()
		if mt == "" {
			mt = http.DetectContentType(img.GetData())
		}
		return &imageSource{Type: "base64", MediaType: mt, Data: base64.StdEncoding.EncodeToString(img.GetData())}, nil
	}
	u := img.GetUrl()
	if rest, ok := strings.CutPrefix(u, "data:"); ok {
		meta, data, ok := strings.Cut(rest, ",")
		mt, isB64 := strings.CutSuffix(meta, ";base64")
		if !ok || !isB64 || mt == "" {
			return nil, runners.Errorf(runners.CodeBadRequest, "anthropic: image data URL must be data:<media type>;base64,<data>")
		}
		return &imageSource{Type: "base64", MediaType: mt, Data: data}, nil
	}
	if strings.HasPrefix(u, "https://") || strings.HasPrefix(u, "http://") {
		return &imageSource{Type: "url", URL: u}, nil
	}
	return nil, runners.Errorf(runners.CodeBadRequest, "anthropic: image needs inline data, a data URL or an http(s) URL")
}

func assistantBlocks(m *messages.ChatMessage) ([]block, error) {
	var out []block
	if t := m.Text(); t != "" {
		out = append(out, block{Type: "text", Text: t})
	}
	for _, tc := range m.GetToolCalls() {
		input := json.RawMessage(strings.TrimSpace(tc.GetArguments()))
		if len(input) == 0 {
			input = json.RawMessage("{}")
		}
		var obj map[string]json.RawMessage
		if err := json.Unmarshal(input, &obj); err != nil || obj == nil {
			return nil, runners.Errorf(runners.CodeBadRequest, "anthropic: tool call %q: arguments are not a JSON object", tc.GetId())
		}
		out = append(out, block{Type: "tool_use", ID: tc.GetId(), Name: tc.GetName(), Input: input})
	}
	return out, nil
}
