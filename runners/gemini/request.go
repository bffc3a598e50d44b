package gemini

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"mime"
	"net/http"
	"path"
	"strconv"
	"strings"

	"github.com/actorinfer/actorinfer/messages"
	"github.com/actorinfer/actorinfer/runners"
)

// buildRequest maps a batch onto a generateContent request body. maxTokens
// is sent as maxOutputTokens when the batch sets none (0: the model's own
// default). It returns a bad_request or unsupported *messages.Error when the
// batch cannot be expressed.
func buildRequest(b *messages.ExecuteBatch, maxTokens int) (*request, error) {
	r := &request{}
	gc := &generationConfig{}
	if s := b.GetSampling(); s != nil {
		if s.Temperature != nil {
			gc.Temperature = widen(s.GetTemperature())
		}
		if s.TopP != nil {
			gc.TopP = widen(s.GetTopP())
		}
		if s.TopK != nil {
			v := int(s.GetTopK())
			gc.TopK = &v
		}
		if s.PresencePenalty != nil {
			gc.PresencePenalty = widen(s.GetPresencePenalty())
		}
		if s.FrequencyPenalty != nil {
			gc.FrequencyPenalty = widen(s.GetFrequencyPenalty())
		}
		if s.Seed != nil {
			v := s.GetSeed()
			gc.Seed = &v
		}
		gc.StopSequences = s.GetStop()
		gc.MaxOutputTokens = int(s.GetMaxTokens())
	}
	if gc.MaxOutputTokens <= 0 {
		gc.MaxOutputTokens = maxTokens
	}
	if err := applyResponseFormat(gc, b.GetResponseFormatJson()); err != nil {
		return nil, err
	}
	if !gc.isZero() {
		r.GenerationConfig = gc
	}

	// Tool results name the function they answer; Gemini wants the name,
	// the batch carries the call id. Calls are resolved against the
	// assistant turns seen so far.
	callNames := map[string]string{}
	for i, m := range b.GetMessages() {
		switch m.GetRole() {
		case messages.Role_ROLE_SYSTEM:
			if t := m.Text(); t != "" {
				if r.SystemInstruction == nil {
					r.SystemInstruction = &content{}
				}
				r.SystemInstruction.Parts = append(r.SystemInstruction.Parts, part{Text: t})
			}
		case messages.Role_ROLE_USER:
			parts, err := userParts(m)
			if err != nil {
				return nil, err
			}
			r.appendTurn("user", parts)
		case messages.Role_ROLE_ASSISTANT:
			var parts []part
			if t := m.Text(); t != "" {
				parts = append(parts, part{Text: t})
			}
			for _, tc := range m.GetToolCalls() {
				args := json.RawMessage(strings.TrimSpace(tc.GetArguments()))
				if len(args) == 0 {
					args = json.RawMessage("{}")
				}
				if !isObject(args) {
					return nil, runners.Errorf(runners.CodeBadRequest, "gemini: tool call %q: arguments are not a JSON object", tc.GetId())
				}
				if tc.GetName() == "" {
					return nil, runners.Errorf(runners.CodeBadRequest, "gemini: message %d: tool call without a name", i)
				}
				callNames[tc.GetId()] = tc.GetName()
				_, sig, _ := strings.Cut(tc.GetId(), thoughtSep)
				parts = append(parts, part{FunctionCall: &functionCall{Name: tc.GetName(), Args: args}, ThoughtSignature: sig})
			}
			r.appendTurn("model", parts)
		case messages.Role_ROLE_TOOL:
			name := callNames[m.GetToolCallId()]
			if name == "" {
				name = m.GetName()
			}
			if name == "" {
				return nil, runners.Errorf(runners.CodeBadRequest, "gemini: message %d: tool result for unknown call %q (and no name)", i, m.GetToolCallId())
			}
			r.appendTurn("user", []part{{FunctionResponse: &functionResponse{Name: name, Response: toolResponse(m.Text())}}})
		default:
			return nil, runners.Errorf(runners.CodeBadRequest, "gemini: message %d: unknown role", i)
		}
	}
	if len(r.Contents) == 0 {
		return nil, runners.Errorf(runners.CodeBadRequest, "gemini: no user or assistant messages")
	}
	tools, names, err := translateTools(b.GetToolsJson())
	if err != nil {
		return nil, err
	}
	r.Tools = tools
	tc, err := translateToolChoice(b.GetToolChoiceJson(), names)
	if err != nil {
		return nil, err
	}
	if len(tools) > 0 {
		r.ToolConfig = tc
	}
	return r, nil
}

// toolResponse is a functionResponse.response: the tool's output when it is
// a JSON object, otherwise {"content": output}.
func toolResponse(out string) json.RawMessage {
	if raw := json.RawMessage(strings.TrimSpace(out)); isObject(raw) {
		return raw
	}
	b, _ := json.Marshal(map[string]string{"content": out})
	return b
}

func isObject(raw json.RawMessage) bool {
	var obj map[string]json.RawMessage
	return json.Unmarshal(raw, &obj) == nil && obj != nil
}

// widen converts a float32 to the float64 with the same shortest decimal
// form, so 0.7 is sent as 0.7 and not 0.699999988079071.
func widen(f float32) *float64 {
	v, _ := strconv.ParseFloat(strconv.FormatFloat(float64(f), 'g', -1, 32), 64)
	return &v
}

// appendTurn adds parts as a role turn, merging with the previous turn of
// the same role (several tool results, or tool results and a user message,
// become one user turn).
func (r *request) appendTurn(role string, parts []part) {
	if len(parts) == 0 {
		return
	}
	if n := len(r.Contents); n > 0 && r.Contents[n-1].Role == role {
		r.Contents[n-1].Parts = append(r.Contents[n-1].Parts, parts...)
		return
	}
	r.Contents = append(r.Contents, content{Role: role, Parts: parts})
}

func userParts(m *messages.ChatMessage) ([]part, error) {
	if len(m.GetParts()) == 0 {
		if m.GetContent() == "" {
			return nil, nil
		}
		return []part{{Text: m.GetContent()}}, nil
	}
	var out []part
	for _, p := range m.GetParts() {
		switch x := p.GetPart().(type) {
		case *messages.ContentPart_Text:
			if x.Text != "" {
				out = append(out, part{Text: x.Text})
			}
		case *messages.ContentPart_Image:
			ip, err := imagePart(x.Image)
			if err != nil {
				return nil, err
			}
			out = append(out, ip)
		}
	}
	return out, nil
}

// imagePart maps inline bytes and data URLs to inlineData, and http(s) and
// gs:// URLs to fileData. fileData needs a MIME type: the image's
// media_type, else one guessed from the URL's extension.
func imagePart(img *messages.Image) (part, error) {
	if len(img.GetData()) > 0 {
		mt := img.GetMediaType()
		if mt == "" {
			mt = http.DetectContentType(img.GetData())
		}
		return part{InlineData: &blob{MimeType: mt, Data: base64.StdEncoding.EncodeToString(img.GetData())}}, nil
	}
	u := img.GetUrl()
	if rest, ok := strings.CutPrefix(u, "data:"); ok {
		meta, data, ok := strings.Cut(rest, ",")
		mt, isB64 := strings.CutSuffix(meta, ";base64")
		if !ok || !isB64 || mt == "" {
			return part{}, runners.Errorf(runners.CodeBadRequest, "gemini: image data URL must be data:<media type>;base64,<data>")
		}
		return part{InlineData: &blob{MimeType: mt, Data: data}}, nil
	}
	if strings.HasPrefix(u, "https://") || strings.HasPrefix(u, "http://") || strings.HasPrefix(u, "gs://") {
		mt := img.GetMediaType()
		if mt == "" {
			p := u
			if i := strings.IndexAny(p, "?#"); i >= 0 {
				p = p[:i]
			}
			mt = mime.TypeByExtension(strings.ToLower(path.Ext(p)))
			if i := strings.IndexByte(mt, ';'); i >= 0 {
				mt = mt[:i]
			}
		}
		if mt == "" {
			return part{}, runners.Errorf(runners.CodeBadRequest, "gemini: image URL %q: cannot tell its media type; set media_type", clipURL(u))
		}
		return part{FileData: &fileData{MimeType: mt, FileURI: u}}, nil
	}
	return part{}, runners.Errorf(runners.CodeBadRequest, "gemini: image needs inline data, a data URL, or an http(s) or gs:// URL")
}

// clipURL drops the query of a URL quoted in an error (it may carry a
// signature).
func clipURL(u string) string {
	if i := strings.IndexAny(u, "?#"); i >= 0 {
		u = u[:i]
	}
	if len(u) > 120 {
		u = u[:120] + "…"
	}
	return u
}

// applyResponseFormat maps response_format: json_object → responseMimeType
// application/json; json_schema → the same plus responseSchema (the schema
// reduced to the OpenAPI subset Gemini accepts); text → nothing.
func applyResponseFormat(gc *generationConfig, raw []byte) error {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return nil
	}
	var f struct {
		Type       string `json:"type"`
		JSONSchema *struct {
			Schema json.RawMessage `json:"schema"`
		} `json:"json_schema"`
	}
	if err := json.Unmarshal(raw, &f); err != nil {
		return runners.Errorf(runners.CodeBadRequest, "gemini: response_format must be an object")
	}
	switch f.Type {
	case "", "text":
		return nil
	case "json_object":
		gc.ResponseMimeType = "application/json"
		return nil
	case "json_schema":
		gc.ResponseMimeType = "application/json"
		if f.JSONSchema != nil && len(f.JSONSchema.Schema) > 0 {
			s, err := cleanSchema(f.JSONSchema.Schema)
			if err != nil {
				return runners.Errorf(runners.CodeBadRequest, "gemini: response_format.json_schema.schema: %v", err)
			}
			gc.ResponseSchema = s
		}
		return nil
	}
	return runners.Errorf(runners.CodeUnsupported, "gemini: response_format %q is not supported", f.Type)
}

func (gc *generationConfig) isZero() bool {
	return gc.Temperature == nil && gc.TopP == nil && gc.TopK == nil && gc.MaxOutputTokens == 0 &&
		len(gc.StopSequences) == 0 && gc.Seed == nil && gc.PresencePenalty == nil &&
		gc.FrequencyPenalty == nil && gc.ResponseMimeType == "" && len(gc.ResponseSchema) == 0
}
