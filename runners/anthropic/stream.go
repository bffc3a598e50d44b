package anthropic

import (
	"encoding/json"

	"github.com/actorinfer/actorinfer/messages"
	"github.com/actorinfer/actorinfer/runners"
	"github.com/actorinfer/actorinfer/runners/httpapi"
)

// streamState maps the SSE events of one streamed Messages response onto
// TokenChunks. It is fed one event at a time, in order, by one goroutine.
//
// Events: message_start (model, input and cache usage), content_block_start
// (text, tool_use with id and name, thinking), content_block_delta
// (text_delta → Text, input_json_delta → a ToolCallDelta fragment,
// thinking_delta → Reasoning, signature_delta ignored), content_block_stop,
// message_delta (stop_reason, cumulative usage), message_stop (the final
// chunk), ping (ignored) and error (a typed error). Unknown events are
// ignored, as the API's versioning policy asks.
type streamState struct {
	model      string
	usage      usage
	stopReason string
	started    bool        // message_start seen
	done       bool        // message_stop seen
	produced   bool        // a chunk with output was returned
	tools      map[int]int // content block index → tool call ordinal
	nTools     int
	argsSeen   map[int]bool // tool call ordinals that received arguments
}

// event handles one event. It returns the chunk to emit (nil when the event
// carries no output) or the error the stream ends with.
func (s *streamState) event(name string, data []byte) (*messages.TokenChunk, error) {
	c, err := s.handle(name, data)
	if c != nil && c.GetFinishReason() == messages.FinishReason_FINISH_REASON_UNSPECIFIED {
		s.produced = true
	}
	return c, err
}

func (s *streamState) handle(name string, data []byte) (*messages.TokenChunk, error) {
	if s.done {
		return nil, nil
	}
	var ev streamEvent
	if err := json.Unmarshal(data, &ev); err != nil {
		if name == "ping" {
			return nil, nil
		}
		return nil, malformed("event %q: data is not JSON", name)
	}
	typ := ev.Type
	if typ == "" {
		typ = name
	}
	switch typ {
	case "ping":
		return nil, nil
	case "error":
		if ev.Error == nil {
			return nil, malformed("error event without an error object")
		}
		return nil, errorTable.FromBody(0, httpapi.ErrorBody{Type: ev.Error.Type, Message: ev.Error.Message})
	case "message_start":
		if ev.Message == nil {
			return nil, malformed("message_start without a message")
		}
		s.started = true
		s.model = ev.Message.Model
		s.usage = ev.Message.Usage
		return nil, nil
	}
	if !s.started {
		return nil, malformed("event %q before message_start", typ)
	}
	switch typ {
	case "content_block_start":
		if ev.ContentBlock == nil {
			return nil, malformed("content_block_start without a content_block")
		}
		switch ev.ContentBlock.Type {
		case "tool_use":
			if s.tools == nil {
				s.tools = make(map[int]int)
			}
			ord := s.nTools
			s.nTools++
			s.tools[ev.Index] = ord
			return &messages.TokenChunk{ToolCalls: []*messages.ToolCallDelta{{
				Index: int32(ord), Id: ev.ContentBlock.ID, Type: "function", Name: ev.ContentBlock.Name,
			}}}, nil
		case "text":
			if ev.ContentBlock.Text != "" {
				return &messages.TokenChunk{Text: ev.ContentBlock.Text}, nil
			}
		case "thinking":
			if ev.ContentBlock.Thinking != "" {
				return &messages.TokenChunk{Reasoning: ev.ContentBlock.Thinking}, nil
			}
		}
		return nil, nil
	case "content_block_delta":
		if ev.Delta == nil {
			return nil, malformed("content_block_delta without a delta")
		}
		switch ev.Delta.Type {
		case "text_delta":
			if ev.Delta.Text != "" {
				return &messages.TokenChunk{Text: ev.Delta.Text}, nil
			}
		case "input_json_delta":
			ord, ok := s.tools[ev.Index]
			if !ok {
				return nil, malformed("input_json_delta for block %d, which is not a tool_use block", ev.Index)
			}
			if ev.Delta.PartialJSON != "" {
				if s.argsSeen == nil {
					s.argsSeen = make(map[int]bool)
				}
				s.argsSeen[ord] = true
				return &messages.TokenChunk{ToolCalls: []*messages.ToolCallDelta{{
					Index: int32(ord), Arguments: ev.Delta.PartialJSON,
				}}}, nil
			}
		case "thinking_delta":
			if ev.Delta.Thinking != "" {
				return &messages.TokenChunk{Reasoning: ev.Delta.Thinking}, nil
			}
		}
		return nil, nil // signature_delta, citations_delta and future deltas
	case "content_block_stop":
		// A tool called without arguments streams no input_json_delta;
		// close it with "{}" so the joined arguments are valid JSON.
		if ord, ok := s.tools[ev.Index]; ok && !s.argsSeen[ord] {
			if s.argsSeen == nil {
				s.argsSeen = make(map[int]bool)
			}
			s.argsSeen[ord] = true
			return &messages.TokenChunk{ToolCalls: []*messages.ToolCallDelta{{Index: int32(ord), Arguments: "{}"}}}, nil
		}
		return nil, nil
	case "message_delta":
		if ev.Delta != nil && ev.Delta.StopReason != "" {
			s.stopReason = ev.Delta.StopReason
		}
		if u := ev.Usage; u != nil {
			// message_delta usage is cumulative; input fields appear only
			// on newer API versions and are kept when absent.
			s.usage.OutputTokens = u.OutputTokens
			if u.InputTokens > 0 {
				s.usage.InputTokens = u.InputTokens
			}
			if u.CacheReadInputTokens > 0 {
				s.usage.CacheReadInputTokens = u.CacheReadInputTokens
			}
			if u.CacheCreationInputTokens > 0 {
				s.usage.CacheCreationInputTokens = u.CacheCreationInputTokens
			}
		}
		return nil, nil
	case "message_stop":
		s.done = true
		if s.stopReason == "refusal" && !s.produced {
			return nil, refused()
		}
		return &messages.TokenChunk{
			FinishReason: finishReason(s.stopReason),
			Usage:        toUsage(s.usage),
			Model:        s.model,
		}, nil
	}
	return nil, nil
}

// finishReason maps a stop_reason: end_turn, stop_sequence and pause_turn
// → stop; max_tokens and model_context_window_exceeded → length; tool_use →
// tool_calls; refusal → content_filter. Unknown reasons read as stop.
func finishReason(r string) messages.FinishReason {
	switch r {
	case "max_tokens", "model_context_window_exceeded":
		return messages.FinishReason_FINISH_REASON_LENGTH
	case "tool_use":
		return messages.FinishReason_FINISH_REASON_TOOL_CALLS
	case "refusal":
		return messages.FinishReason_FINISH_REASON_CONTENT_FILTER
	}
	return messages.FinishReason_FINISH_REASON_STOP
}

// toUsage converts Anthropic usage, whose input_tokens excludes cache reads
// and writes, to messages.Usage as httpapi.Price.Cost reads it: cached input
// is a subset of InputTokens, cache writes are counted beside it.
// InputTokens = input + cache read, CachedInputTokens = cache read,
// CacheWriteTokens = cache write (so the whole prompt is InputTokens +
// CacheWriteTokens).
func toUsage(u usage) *messages.Usage {
	return &messages.Usage{
		InputTokens:       u.InputTokens + u.CacheReadInputTokens,
		OutputTokens:      u.OutputTokens,
		CachedInputTokens: u.CacheReadInputTokens,
		CacheWriteTokens:  u.CacheCreationInputTokens,
	}
}

// refused is the error of a refusal that produced no output: content
// filtered, so that a fallback can take the request.
func refused() *messages.Error {
	e := runners.Errorf(runners.CodeContentFiltered, "anthropic: the model refused to answer (stop_reason refusal)")
	e.Provider = string(runners.ProviderAnthropic)
	return e
}

// malformed is the error for a provider response this runner cannot read:
// a server error, since the fault is upstream.
func malformed(format string, args ...any) *messages.Error {
	e := runners.Errorf(runners.CodeServerError, "anthropic: malformed response: "+format, args...)
	e.Provider = string(runners.ProviderAnthropic)
	return e
}

// responseChunk maps a non-streaming response onto the one chunk of a unary
// answer: text blocks joined, thinking blocks as reasoning, tool_use blocks
// as complete tool calls, with finish reason and usage.
func responseChunk(r *response) (*messages.TokenChunk, error) {
	if r.Type != "" && r.Type != "message" {
		return nil, malformed("response type %q", r.Type)
	}
	c := &messages.TokenChunk{Model: r.Model, FinishReason: finishReason(r.StopReason), Usage: toUsage(r.Usage)}
	for _, b := range r.Content {
		switch b.Type {
		case "text":
			c.Text += b.Text
		case "thinking":
			c.Reasoning += b.Thinking
		case "tool_use":
			args := string(b.Input)
			if args == "" || args == "null" {
				args = "{}"
			}
			c.ToolCalls = append(c.ToolCalls, &messages.ToolCallDelta{
				Index: int32(len(c.ToolCalls)), Id: b.ID, Type: "function", Name: b.Name, Arguments: args,
			})
		}
	}
	if r.StopReason == "refusal" && c.Text == "" && c.Reasoning == "" && len(c.ToolCalls) == 0 {
		return nil, refused()
	}
	return c, nil
}

// decodeResponse reads a non-streaming response body.
func decodeResponse(body []byte) (*response, error) {
	var r response
	if err := json.Unmarshal(body, &r); err != nil {
		return nil, malformed("response body is not a Messages API message")
	}
	return &r, nil
}
