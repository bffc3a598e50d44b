package gateway

import (
	"strconv"
	"strings"
)

// The request decoder proper: a hand-written walk over the document with
// jsonReader that fills chatRequest exactly as json.Unmarshal would (the
// differential fuzz test holds it to that), without reflection and without
// copying what toBatch only reads. Raw fields (content, stop, tools,
// tool_choice, response_format) are sub-slices of the body: toBatch copies
// what it keeps.
//
// As with encoding/json, a syntax error anywhere makes the document
// invalid; otherwise the first value of the wrong type is reported, naming
// its parameter; keys match exactly or, failing that, case-insensitively;
// unknown keys and null values are ignored.

// typeMismatch is the first wrong-typed value of a document.
type typeMismatch struct {
	param, want, got string
}

// chatDecoder decodes one request body.
type chatDecoder struct {
	r        jsonReader
	mismatch *typeMismatch
	dup      bool // a key appeared twice (for the differential tests)
}

func (d *chatDecoder) wrongType(param func() string, want string) {
	if d.mismatch == nil {
		d.mismatch = &typeMismatch{param: param(), want: want}
	}
}

// kindOf names the JSON type starting with c, for messages.
func kindOf(c byte) string {
	switch {
	case c == '"':
		return "a string"
	case c == '{':
		return "an object"
	case c == '[':
		return "an array"
	case c == 't' || c == 'f':
		return "a boolean"
	case c == 'n':
		return "null"
	}
	return "a number"
}

// str decodes a string (null leaves dst alone).
func (d *chatDecoder) str(dst *string, param func() string) {
	switch c := d.r.peek(); c {
	case '"':
		if s, ok := d.r.stringBytes(); ok {
			*dst = string(s)
		}
	case 'n':
		d.r.literal("null")
	default:
		d.skipWrong(c, param, "a string")
	}
}

// role decodes a message role, sharing the strings of the known roles.
func (d *chatDecoder) role(dst *string, param func() string) {
	if d.r.peek() != '"' {
		d.str(dst, param)
		return
	}
	s, ok := d.r.stringBytes()
	if !ok {
		return
	}
	for _, known := range knownRoles {
		if string(s) == known {
			*dst = known
			return
		}
	}
	*dst = string(s)
}

var knownRoles = [...]string{"system", "developer", "user", "assistant", "tool"}

// optStr decodes a string or null into a pointer.
func (d *chatDecoder) optStr(dst **string, param func() string) {
	switch c := d.r.peek(); c {
	case '"':
		if s, ok := d.r.stringBytes(); ok {
			v := string(s)
			*dst = &v
		}
	case 'n':
		if d.r.literal("null") {
			*dst = nil
		}
	default:
		d.skipWrong(c, param, "a string")
	}
}

func (d *chatDecoder) skipWrong(c byte, param func() string, want string) {
	d.r.skip()
	if !d.r.bad && d.mismatch == nil {
		d.mismatch = &typeMismatch{param: param(), want: want, got: kindOf(c)}
	}
}

// optFloat decodes a number or null.
func (d *chatDecoder) optFloat(dst **float64, param func() string) {
	switch c := d.r.peek(); {
	case c == '-' || '0' <= c && c <= '9':
		num := d.r.number()
		if d.r.bad {
			return
		}
		f, ok := parseFloat(num)
		if !ok {
			d.wrongType(param, "a number in range")
			return
		}
		*dst = &f
	case c == 'n':
		if d.r.literal("null") {
			*dst = nil
		}
	default:
		d.skipWrong(c, param, "a number")
	}
}

// optInt decodes an integer or null.
func (d *chatDecoder) optInt(dst **int64, param func() string) {
	switch c := d.r.peek(); {
	case c == '-' || '0' <= c && c <= '9':
		num := d.r.number()
		if d.r.bad {
			return
		}
		v, ok := parseInt(num)
		if !ok {
			d.wrongType(param, "an integer")
			return
		}
		*dst = &v
	case c == 'n':
		if d.r.literal("null") {
			*dst = nil
		}
	default:
		d.skipWrong(c, param, "an integer")
	}
}

// optBool decodes a boolean or null.
func (d *chatDecoder) optBool(dst **bool, param func() string) {
	switch c := d.r.peek(); c {
	case 't', 'f':
		v := c == 't'
		if v {
			d.r.literal("true")
		} else {
			d.r.literal("false")
		}
		if !d.r.bad {
			*dst = &v
		}
	case 'n':
		if d.r.literal("null") {
			*dst = nil
		}
	default:
		d.skipWrong(c, param, "a boolean")
	}
}

// rawValue keeps any value as raw JSON.
func (d *chatDecoder) rawValue(dst *[]byte) {
	if v := d.r.raw(); !d.r.bad {
		*dst = v
	}
}

// matchKey returns the field key matches: exactly, or else
// case-insensitively as encoding/json matches; "" when none.
func matchKey(key []byte, fields []string) string {
	for _, f := range fields {
		if string(key) == f {
			return f
		}
	}
	for _, f := range fields {
		if strings.EqualFold(string(key), f) {
			return f
		}
	}
	return ""
}

var requestFields = []string{"model", "messages", "temperature", "top_p", "top_k", "max_tokens",
	"max_completion_tokens", "stop", "presence_penalty", "frequency_penalty", "seed", "n", "stream",
	"stream_options", "tools", "tool_choice", "response_format", "user"}

func constParam(s string) func() string { return func() string { return s } }

// Parameter names for top-level type errors, allocated once.
var (
	pModel, pMessages, pTemperature = constParam("model"), constParam("messages"), constParam("temperature")
	pTopP, pTopK, pMaxTokens        = constParam("top_p"), constParam("top_k"), constParam("max_tokens")
	pMaxCompletionTokens, pStop     = constParam("max_completion_tokens"), constParam("stop")
	pPresence, pFrequency, pSeed    = constParam("presence_penalty"), constParam("frequency_penalty"), constParam("seed")
	pN, pStream, pStreamOptions     = constParam("n"), constParam("stream"), constParam("stream_options")
	pIncludeUsage, pUser            = constParam("stream_options.include_usage"), constParam("user")
)

// decode fills req from body; see the file comment.
func (d *chatDecoder) decode(body []byte, req *chatRequest) *apiError {
	d.r = jsonReader{b: body}
	r := &d.r
	if c := r.peek(); c != '{' {
		if c == 'n' && r.literal("null") {
			// encoding/json leaves the request empty.
			if r.end(); !r.bad {
				return nil
			}
		}
		r.skip()
		r.end()
		if r.bad {
			return errInvalidJSON
		}
		return errNotObject
	}
	r.enter()
	var seen uint32
	for n := 0; ; {
		key, ok := r.member(&n)
		if !ok {
			break
		}
		field := matchKey(key, requestFields)
		if field != "" {
			bit := uint32(1)
			for i, f := range requestFields {
				if f == field {
					bit <<= i
					break
				}
			}
			if seen&bit != 0 {
				d.dup = true
			}
			seen |= bit
		}
		switch field {
		case "model":
			d.str(&req.Model, pModel)
		case "messages":
			d.messages(req)
		case "temperature":
			d.optFloat(&req.Temperature, pTemperature)
		case "top_p":
			d.optFloat(&req.TopP, pTopP)
		case "top_k":
			d.optInt(&req.TopK, pTopK)
		case "max_tokens":
			d.optInt(&req.MaxTokens, pMaxTokens)
		case "max_completion_tokens":
			d.optInt(&req.MaxCompletionTokens, pMaxCompletionTokens)
		case "stop":
			d.rawValue((*[]byte)(&req.Stop))
		case "presence_penalty":
			d.optFloat(&req.PresencePenalty, pPresence)
		case "frequency_penalty":
			d.optFloat(&req.FrequencyPenalty, pFrequency)
		case "seed":
			d.optInt(&req.Seed, pSeed)
		case "n":
			d.optInt(&req.N, pN)
		case "stream":
			d.optBool(&req.Stream, pStream)
		case "stream_options":
			d.streamOptions(req)
		case "tools":
			d.rawValue((*[]byte)(&req.Tools))
		case "tool_choice":
			d.rawValue((*[]byte)(&req.ToolChoice))
		case "response_format":
			d.rawValue((*[]byte)(&req.ResponseFormat))
		case "user":
			d.str(&req.User, pUser)
		default:
			r.skip()
		}
		if r.bad {
			break
		}
	}
	r.end()
	if r.bad {
		return errInvalidJSON
	}
	if m := d.mismatch; m != nil {
		msg := "invalid type for " + m.param + ": expected " + m.want
		if m.got != "" {
			msg += ", got " + m.got
		}
		return &apiError{status: 400, typ: typeInvalidRequest, code: "invalid_type", param: m.param, message: msg}
	}
	return nil
}

var (
	errInvalidJSON = &apiError{status: 400, typ: typeInvalidRequest, code: "invalid_json",
		message: "could not parse the JSON body of the request"}
	errNotObject = &apiError{status: 400, typ: typeInvalidRequest, code: "invalid_json",
		message: "the request body must be a JSON object"}
)

func (d *chatDecoder) streamOptions(req *chatRequest) {
	r := &d.r
	switch c := r.peek(); c {
	case '{':
		if !r.enter() {
			return
		}
		if req.StreamOptions == nil {
			req.StreamOptions = &streamOptions{}
		}
		for n := 0; ; {
			key, ok := r.member(&n)
			if !ok {
				return
			}
			if matchKey(key, streamOptionFields) == "include_usage" {
				d.optBool(&req.StreamOptions.IncludeUsage, pIncludeUsage)
			} else {
				r.skip()
			}
		}
	case 'n':
		if r.literal("null") {
			req.StreamOptions = nil
		}
	default:
		d.skipWrong(c, pStreamOptions, "an object")
	}
}

var streamOptionFields = []string{"include_usage"}

func (d *chatDecoder) messages(req *chatRequest) {
	r := &d.r
	switch c := r.peek(); c {
	case '[':
		if !r.enter() {
			return
		}
		if req.Messages == nil {
			req.Messages = make([]wireMessage, 0, 4)
		}
		req.Messages = req.Messages[:0]
		for n := 0; r.element(&n); {
			i := len(req.Messages)
			if i < cap(req.Messages) {
				// encoding/json decodes into the element already there.
				req.Messages = req.Messages[:i+1]
			} else {
				req.Messages = append(req.Messages, wireMessage{})
			}
			d.message(i, &req.Messages[i])
		}
		if req.Messages == nil && !r.bad {
			req.Messages = []wireMessage{}
		}
	case 'n':
		if r.literal("null") {
			req.Messages = nil
		}
	default:
		d.skipWrong(c, pMessages, "an array")
	}
}

var messageFields = []string{"role", "content", "name", "tool_calls", "tool_call_id"}

func msgParam(i int, field string) func() string {
	return func() string { return "messages[" + strconv.Itoa(i) + "]" + field }
}

func (d *chatDecoder) message(i int, m *wireMessage) {
	r := &d.r
	switch c := r.peek(); c {
	case '{':
	case 'n':
		r.literal("null")
		return
	default:
		d.skipWrong(c, msgParam(i, ""), "an object")
		return
	}
	if !r.enter() {
		return
	}
	for n := 0; ; {
		key, ok := r.member(&n)
		if !ok {
			return
		}
		switch matchKey(key, messageFields) {
		case "role":
			d.role(&m.Role, msgParam(i, ".role"))
		case "content":
			d.rawValue((*[]byte)(&m.Content))
		case "name":
			d.str(&m.Name, msgParam(i, ".name"))
		case "tool_call_id":
			d.str(&m.ToolCallID, msgParam(i, ".tool_call_id"))
		case "tool_calls":
			d.toolCalls(i, m)
		default:
			r.skip()
		}
	}
}

var (
	toolCallFields = []string{"id", "type", "function"}
	functionFields = []string{"name", "arguments"}
)

func (d *chatDecoder) toolCalls(i int, m *wireMessage) {
	r := &d.r
	switch c := r.peek(); c {
	case '[':
	case 'n':
		if r.literal("null") {
			m.ToolCalls = nil
		}
		return
	default:
		d.skipWrong(c, msgParam(i, ".tool_calls"), "an array")
		return
	}
	if !r.enter() {
		return
	}
	m.ToolCalls = m.ToolCalls[:0]
	for n := 0; r.element(&n); {
		j := len(m.ToolCalls)
		if j < cap(m.ToolCalls) {
			m.ToolCalls = m.ToolCalls[:j+1]
		} else {
			m.ToolCalls = append(m.ToolCalls, wireToolCall{})
		}
		d.toolCall(i, j, &m.ToolCalls[j])
	}
	if m.ToolCalls == nil && !r.bad {
		m.ToolCalls = []wireToolCall{}
	}
}

func tcParam(i, j int, field string) func() string {
	return func() string {
		return "messages[" + strconv.Itoa(i) + "].tool_calls[" + strconv.Itoa(j) + "]" + field
	}
}

func (d *chatDecoder) toolCall(i, j int, tc *wireToolCall) {
	r := &d.r
	switch c := r.peek(); c {
	case '{':
	case 'n':
		r.literal("null")
		return
	default:
		d.skipWrong(c, tcParam(i, j, ""), "an object")
		return
	}
	if !r.enter() {
		return
	}
	for n := 0; ; {
		key, ok := r.member(&n)
		if !ok {
			return
		}
		switch matchKey(key, toolCallFields) {
		case "id":
			d.str(&tc.ID, tcParam(i, j, ".id"))
		case "type":
			d.str(&tc.Type, tcParam(i, j, ".type"))
		case "function":
			d.function(i, j, tc)
		default:
			r.skip()
		}
	}
}

func (d *chatDecoder) function(i, j int, tc *wireToolCall) {
	r := &d.r
	switch c := r.peek(); c {
	case '{':
	case 'n':
		r.literal("null")
		return
	default:
		d.skipWrong(c, tcParam(i, j, ".function"), "an object")
		return
	}
	if !r.enter() {
		return
	}
	for n := 0; ; {
		key, ok := r.member(&n)
		if !ok {
			return
		}
		switch matchKey(key, functionFields) {
		case "name":
			d.str(&tc.Function.Name, tcParam(i, j, ".function.name"))
		case "arguments":
			d.str(&tc.Function.Arguments, tcParam(i, j, ".function.arguments"))
		default:
			r.skip()
		}
	}
}

// valueDecoder decodes the raw values toBatch interprets: message content
// strings and parts, and stop. The hand-written one is used in production;
// the tests also run toBatch with an encoding/json one and compare.
type valueDecoder struct {
	str   func(raw []byte) (string, bool)
	parts func(raw []byte) ([]wirePart, bool)
	stop  func(raw []byte) ([]string, bool)
}

var handValues = valueDecoder{str: handString, parts: handParts, stop: handStop}

// handString decodes a raw JSON string.
func handString(raw []byte) (string, bool) {
	r := jsonReader{b: raw}
	if r.peek() != '"' {
		return "", false
	}
	s, ok := r.stringBytes()
	r.end()
	return string(s), ok && !r.bad
}

// handStop decodes a raw string or array of strings (null elements are "").
func handStop(raw []byte) ([]string, bool) {
	r := jsonReader{b: raw}
	switch r.peek() {
	case '"':
		s, ok := handString(raw)
		return []string{s}, ok
	case '[':
	default:
		return nil, false
	}
	r.enter()
	list := []string{}
	for n := 0; r.element(&n); {
		switch r.peek() {
		case '"':
			s, _ := r.stringBytes()
			list = append(list, string(s))
		case 'n':
			r.literal("null")
			list = append(list, "")
		default:
			return nil, false
		}
	}
	r.end()
	return list, !r.bad
}

var (
	partFields  = []string{"type", "text", "refusal", "image_url"}
	imageFields = []string{"url", "detail"}
)

// handParts decodes a raw array of content parts; false on any syntax or
// type error.
func handParts(raw []byte) ([]wirePart, bool) {
	d := chatDecoder{r: jsonReader{b: raw}}
	r := &d.r
	if r.peek() != '[' {
		return nil, false
	}
	r.enter()
	parts := []wirePart{}
	none := constParam("")
	for n := 0; r.element(&n); {
		parts = append(parts, wirePart{})
		p := &parts[len(parts)-1]
		switch r.peek() {
		case '{':
		case 'n':
			r.literal("null")
			continue
		default:
			return nil, false
		}
		r.enter()
		for m := 0; ; {
			key, ok := r.member(&m)
			if !ok {
				break
			}
			switch matchKey(key, partFields) {
			case "type":
				d.str(&p.Type, none)
			case "text":
				d.optStr(&p.Text, none)
			case "refusal":
				d.optStr(&p.Refusal, none)
			case "image_url":
				d.imageURL(p)
			default:
				r.skip()
			}
		}
	}
	r.end()
	return parts, !r.bad && d.mismatch == nil
}

func (d *chatDecoder) imageURL(p *wirePart) {
	r := &d.r
	none := constParam("")
	switch c := r.peek(); c {
	case '{':
	case 'n':
		if r.literal("null") {
			p.ImageURL = nil
		}
		return
	default:
		d.skipWrong(c, none, "an object")
		return
	}
	r.enter()
	if p.ImageURL == nil {
		p.ImageURL = &wireImageURL{}
	}
	for n := 0; ; {
		key, ok := r.member(&n)
		if !ok {
			return
		}
		switch matchKey(key, imageFields) {
		case "url":
			d.str(&p.ImageURL.URL, none)
		case "detail":
			d.str(&p.ImageURL.Detail, none)
		default:
			r.skip()
		}
	}
}
