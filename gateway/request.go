package gateway

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"math"
	"strconv"
	"strings"

	"github.com/actorinfer/actorinfer/messages"
)

// chatRequest is the subset of OpenAI's chat completion request the gateway
// understands. Fields whose JSON type varies (content, stop) or that are
// passed through opaquely (tools, tool_choice, response_format) are kept raw
// and decoded by hand. Unknown fields are ignored, as OpenAI-compatible
// servers commonly do.
type chatRequest struct {
	Model               string          `json:"model"`
	Messages            []wireMessage   `json:"messages"`
	Temperature         *float64        `json:"temperature"`
	TopP                *float64        `json:"top_p"`
	TopK                *int64          `json:"top_k"`
	MaxTokens           *int64          `json:"max_tokens"`
	MaxCompletionTokens *int64          `json:"max_completion_tokens"`
	Stop                json.RawMessage `json:"stop"`
	PresencePenalty     *float64        `json:"presence_penalty"`
	FrequencyPenalty    *float64        `json:"frequency_penalty"`
	Seed                *int64          `json:"seed"`
	N                   *int64          `json:"n"`
	Stream              *bool           `json:"stream"`
	StreamOptions       *streamOptions  `json:"stream_options"`
	Tools               json.RawMessage `json:"tools"`
	ToolChoice          json.RawMessage `json:"tool_choice"`
	ResponseFormat      json.RawMessage `json:"response_format"`
	User                string          `json:"user"`
}

type streamOptions struct {
	IncludeUsage *bool `json:"include_usage"`
}

type wireMessage struct {
	Role       string          `json:"role"`
	Content    json.RawMessage `json:"content"`
	Name       string          `json:"name"`
	ToolCalls  []wireToolCall  `json:"tool_calls"`
	ToolCallID string          `json:"tool_call_id"`
}

type wireToolCall struct {
	ID       string `json:"id"`
	Type     string `json:"type"`
	Function struct {
		Name      string `json:"name"`
		Arguments string `json:"arguments"`
	} `json:"function"`
}

type wirePart struct {
	Type     string        `json:"type"`
	Text     *string       `json:"text"`
	Refusal  *string       `json:"refusal"`
	ImageURL *wireImageURL `json:"image_url"`
}

type wireImageURL struct {
	URL    string `json:"url"`
	Detail string `json:"detail"`
}

// Limits the decoder enforces beyond what OpenAI documents.
const (
	maxModelNameLen = 256
	maxStopEntries  = 4
)

// decodedRequest is a parsed, validated request: the batch for the backend
// plus what the response writer needs.
type decodedRequest struct {
	batch        *messages.ExecuteBatch
	stream       bool
	includeUsage bool
}

// decodeChatRequest parses an OpenAI chat completion request body into an
// ExecuteBatch. Every failure is a 400 *apiError naming the parameter. The
// batch does not alias body.
func decodeChatRequest(body []byte) (*decodedRequest, *apiError) {
	var req chatRequest
	var d chatDecoder
	if err := d.decode(body, &req); err != nil {
		return nil, err
	}
	return req.toBatch(&handValues)
}

func (req *chatRequest) toBatch(vd *valueDecoder) (*decodedRequest, *apiError) {
	if req.Model == "" {
		return nil, &apiError{status: 400, typ: typeInvalidRequest, code: "missing_required_parameter",
			param: "model", message: "you must provide a model parameter"}
	}
	if len(req.Model) > maxModelNameLen {
		return nil, invalidParam("model", "model name is too long")
	}
	if len(req.Messages) == 0 {
		return nil, &apiError{status: 400, typ: typeInvalidRequest, code: "missing_required_parameter",
			param: "messages", message: "messages must be a non-empty array"}
	}
	if req.N != nil && *req.N != 1 {
		if *req.N > 1 {
			return nil, &apiError{status: 400, typ: typeInvalidRequest, code: "unsupported_value",
				param: "n", message: "n > 1 is not supported: one choice per request"}
		}
		return nil, invalidParam("n", "n must be 1")
	}
	b := &messages.ExecuteBatch{Model: req.Model, User: req.User, Sampling: &messages.Sampling{}}
	d := &decodedRequest{batch: b}
	if req.Stream != nil {
		d.stream = *req.Stream
	}
	if req.StreamOptions != nil && req.StreamOptions.IncludeUsage != nil {
		d.includeUsage = *req.StreamOptions.IncludeUsage
	}
	b.Stream = d.stream

	if err := req.sampling(b.Sampling, vd); err != nil {
		return nil, err
	}

	var chars int64
	b.Messages = make([]*messages.ChatMessage, len(req.Messages))
	for i := range req.Messages {
		m, n, err := decodeMessage(i, &req.Messages[i], vd)
		if err != nil {
			return nil, err
		}
		b.Messages[i] = m
		chars += n
	}

	if raw := trimJSON(req.Tools); raw != nil {
		if raw[0] != '[' {
			return nil, invalidParam("tools", "tools must be an array")
		}
		b.ToolsJson = bytes.Clone(raw)
	}
	if raw := trimJSON(req.ToolChoice); raw != nil {
		if raw[0] != '"' && raw[0] != '{' {
			return nil, invalidParam("tool_choice", "tool_choice must be a string or an object")
		}
		b.ToolChoiceJson = bytes.Clone(raw)
	}
	if raw := trimJSON(req.ResponseFormat); raw != nil {
		if raw[0] != '{' {
			return nil, invalidParam("response_format", "response_format must be an object")
		}
		b.ResponseFormatJson = bytes.Clone(raw)
	}
	// A rough token estimate for limiters: about four characters a token,
	// a few tokens of framing per message, plus the output allowance.
	b.EstimatedTokens = chars/4 + 4*int64(len(b.Messages)) + int64(b.Sampling.MaxTokens)
	return d, nil
}

// trimJSON returns raw without surrounding space, or nil when it is absent
// or JSON null.
func trimJSON(raw json.RawMessage) json.RawMessage {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return nil
	}
	return raw
}

func (req *chatRequest) sampling(s *messages.Sampling, vd *valueDecoder) *apiError {
	if v := req.Temperature; v != nil {
		if math.IsNaN(*v) || *v < 0 || *v > 2 {
			return invalidParam("temperature", "temperature must be between 0 and 2")
		}
		f := float32(*v)
		s.Temperature = &f
	}
	if v := req.TopP; v != nil {
		if math.IsNaN(*v) || *v < 0 || *v > 1 {
			return invalidParam("top_p", "top_p must be between 0 and 1")
		}
		f := float32(*v)
		s.TopP = &f
	}
	if v := req.TopK; v != nil {
		if *v < 0 || *v > math.MaxInt32 {
			return invalidParam("top_k", "top_k must be a non-negative integer")
		}
		k := int32(*v)
		s.TopK = &k
	}
	for _, p := range [...]struct {
		name string
		v    *float64
		dst  **float32
	}{{"presence_penalty", req.PresencePenalty, &s.PresencePenalty}, {"frequency_penalty", req.FrequencyPenalty, &s.FrequencyPenalty}} {
		if p.v == nil {
			continue
		}
		if math.IsNaN(*p.v) || *p.v < -2 || *p.v > 2 {
			return invalidParam(p.name, p.name+" must be between -2 and 2")
		}
		f := float32(*p.v)
		*p.dst = &f
	}
	maxTok, name := req.MaxTokens, "max_tokens"
	if req.MaxCompletionTokens != nil {
		maxTok, name = req.MaxCompletionTokens, "max_completion_tokens"
	}
	if maxTok != nil {
		if *maxTok < 1 || *maxTok > math.MaxInt32 {
			return invalidParam(name, name+" must be a positive integer")
		}
		s.MaxTokens = int32(*maxTok)
	}
	if req.Seed != nil {
		seed := *req.Seed
		s.Seed = &seed
	}
	stop, err := decodeStop(req.Stop, vd)
	if err != nil {
		return err
	}
	s.Stop = stop
	return nil
}

func decodeStop(raw json.RawMessage, vd *valueDecoder) ([]string, *apiError) {
	raw = trimJSON(raw)
	if raw == nil {
		return nil, nil
	}
	list, ok := vd.stop(raw)
	if !ok || raw[0] != '"' && raw[0] != '[' {
		return nil, invalidParam("stop", "stop must be a string or an array of strings")
	}
	if len(list) > maxStopEntries {
		return nil, invalidParam("stop", "stop accepts at most 4 sequences")
	}
	out := list[:0]
	for _, s := range list {
		if s != "" {
			out = append(out, s)
		}
	}
	if len(out) == 0 {
		return nil, nil
	}
	return out, nil
}

// decodeMessage converts messages[i]; it returns the message and its
// character count for the token estimate.
func decodeMessage(i int, w *wireMessage, vd *valueDecoder) (*messages.ChatMessage, int64, *apiError) {
	prefix := func(field string) string { return "messages[" + strconv.Itoa(i) + "]." + field }
	role, ok := messages.RoleFromSlug(w.Role)
	if !ok {
		if w.Role == "" {
			return nil, 0, &apiError{status: 400, typ: typeInvalidRequest, code: "missing_required_parameter",
				param: prefix("role"), message: "each message needs a role"}
		}
		return nil, 0, invalidParam(prefix("role"),
			"role must be one of system, developer, user, assistant, tool")
	}
	m := &messages.ChatMessage{Role: role, Name: w.Name, ToolCallId: w.ToolCallID}
	chars := int64(len(w.Name))

	raw := trimJSON(w.Content)
	switch {
	case raw == nil:
		if role != messages.Role_ROLE_ASSISTANT || len(w.ToolCalls) == 0 {
			return nil, 0, &apiError{status: 400, typ: typeInvalidRequest, code: "missing_required_parameter",
				param: prefix("content"), message: "content is required"}
		}
	case raw[0] == '"':
		s, ok := vd.str(raw)
		if !ok {
			return nil, 0, invalidParam(prefix("content"), "content must be a string or an array of content parts")
		}
		m.Content = s
		chars += int64(len(s))
	case raw[0] == '[':
		parts, n, err := decodeParts(i, raw, vd)
		if err != nil {
			return nil, 0, err
		}
		m.Parts = parts
		chars += n
	default:
		return nil, 0, invalidParam(prefix("content"), "content must be a string or an array of content parts")
	}

	if len(w.ToolCalls) > 0 {
		if role != messages.Role_ROLE_ASSISTANT {
			return nil, 0, invalidParam(prefix("tool_calls"), "only assistant messages carry tool_calls")
		}
		m.ToolCalls = make([]*messages.ToolCall, len(w.ToolCalls))
		for j, tc := range w.ToolCalls {
			p := prefix("tool_calls[" + strconv.Itoa(j) + "]")
			if tc.ID == "" {
				return nil, 0, invalidParam(p+".id", "a tool call needs an id")
			}
			if tc.Type != "" && tc.Type != "function" {
				return nil, 0, invalidParam(p+".type", "tool call type must be function")
			}
			if tc.Function.Name == "" {
				return nil, 0, invalidParam(p+".function.name", "a tool call needs a function name")
			}
			m.ToolCalls[j] = &messages.ToolCall{Id: tc.ID, Type: "function",
				Name: tc.Function.Name, Arguments: tc.Function.Arguments}
			chars += int64(len(tc.Function.Name) + len(tc.Function.Arguments))
		}
	}
	if role == messages.Role_ROLE_TOOL && w.ToolCallID == "" {
		return nil, 0, &apiError{status: 400, typ: typeInvalidRequest, code: "missing_required_parameter",
			param: prefix("tool_call_id"), message: "tool messages need the tool_call_id they answer"}
	}
	return m, chars, nil
}

// imageTokenEstimate is what one image counts for in the token estimate
// (OpenAI's low-detail cost).
const imageTokenEstimate = 85 * 4

func decodeParts(i int, raw []byte, vd *valueDecoder) ([]*messages.ContentPart, int64, *apiError) {
	wparts, ok := vd.parts(raw)
	if !ok {
		return nil, 0, invalidParam("messages["+strconv.Itoa(i)+"].content",
			"content parts must be objects with a type")
	}
	parts := make([]*messages.ContentPart, 0, len(wparts))
	var chars int64
	for j := range wparts {
		wp := &wparts[j]
		p := "messages[" + strconv.Itoa(i) + "].content[" + strconv.Itoa(j) + "]"
		switch wp.Type {
		case "text", "refusal":
			t := wp.Text
			if wp.Type == "refusal" {
				t = wp.Refusal
			}
			if t == nil {
				return nil, 0, &apiError{status: 400, typ: typeInvalidRequest, code: "missing_required_parameter",
					param: p + "." + wp.Type, message: "a " + wp.Type + " part needs " + wp.Type}
			}
			parts = append(parts, &messages.ContentPart{Part: &messages.ContentPart_Text{Text: *t}})
			chars += int64(len(*t))
		case "image_url":
			if wp.ImageURL == nil || wp.ImageURL.URL == "" {
				return nil, 0, &apiError{status: 400, typ: typeInvalidRequest, code: "missing_required_parameter",
					param: p + ".image_url.url", message: "an image_url part needs a url"}
			}
			img, err := decodeImage(wp.ImageURL)
			if err != nil {
				err.param = p + ".image_url." + err.param
				return nil, 0, err
			}
			parts = append(parts, &messages.ContentPart{Part: &messages.ContentPart_Image{Image: img}})
			chars += imageTokenEstimate
		case "":
			return nil, 0, &apiError{status: 400, typ: typeInvalidRequest, code: "missing_required_parameter",
				param: p + ".type", message: "each content part needs a type"}
		default:
			return nil, 0, &apiError{status: 400, typ: typeInvalidRequest, code: "unsupported_value",
				param: p + ".type", message: "unsupported content part type " + strconv.Quote(wp.Type) +
					": use text or image_url"}
		}
	}
	return parts, chars, nil
}

// decodeImage turns an image_url into an Image: a data URL becomes inline
// bytes with their media type; an http(s) URL is passed on as is. A
// returned error's param is relative to image_url.
func decodeImage(u *wireImageURL) (*messages.Image, *apiError) {
	switch u.Detail {
	case "", "auto", "low", "high":
	default:
		return nil, invalidParam("detail", "detail must be auto, low or high")
	}
	img := &messages.Image{Detail: u.Detail}
	rest, isData := strings.CutPrefix(u.URL, "data:")
	if !isData {
		if !strings.HasPrefix(u.URL, "https://") && !strings.HasPrefix(u.URL, "http://") {
			return nil, invalidParam("url", "image url must be http(s) or a base64 data URL")
		}
		img.Url = u.URL
		return img, nil
	}
	meta, payload, ok := strings.Cut(rest, ",")
	mediaType, isB64 := strings.CutSuffix(meta, ";base64")
	if !ok || !isB64 {
		return nil, invalidParam("url", "data URLs must be base64: data:image/png;base64,...")
	}
	if !strings.HasPrefix(mediaType, "image/") {
		return nil, invalidParam("url", "data URL media type must be image/*")
	}
	enc := base64.StdEncoding
	if len(payload)%4 != 0 {
		enc = base64.RawStdEncoding
	}
	data, err := enc.DecodeString(payload)
	if err != nil || len(data) == 0 {
		return nil, invalidParam("url", "data URL payload is not valid base64")
	}
	img.Data, img.MediaType = data, mediaType
	return img, nil
}
