package gateway

import (
	"strings"

	"github.com/actorinfer/actorinfer/messages"
)

// answer accumulates a whole answer for a non-stream response.
type answer struct {
	text      strings.Builder
	reasoning strings.Builder
	calls     []*toolCall
	finish    messages.FinishReason
	usage     *messages.Usage
	cost      float64
}

// toolCall is one tool call assembled from its deltas.
type toolCall struct {
	index     int32
	id, typ   string
	name      string
	arguments strings.Builder
}

func (a *answer) add(c *messages.TokenChunk) {
	a.text.WriteString(c.GetText())
	a.reasoning.WriteString(c.GetReasoning())
	for _, d := range c.GetToolCalls() {
		tc := a.call(d.GetIndex())
		if d.GetId() != "" {
			tc.id = d.GetId()
		}
		if d.GetType() != "" {
			tc.typ = d.GetType()
		}
		tc.name += d.GetName()
		tc.arguments.WriteString(d.GetArguments())
	}
	if f := c.GetFinishReason(); f != messages.FinishReason_FINISH_REASON_UNSPECIFIED {
		a.finish = f
	}
	if c.GetUsage() != nil {
		a.usage = c.GetUsage()
	}
	a.cost += c.GetCostUsd()
}

func (a *answer) call(index int32) *toolCall {
	for _, tc := range a.calls {
		if tc.index == index {
			return tc
		}
	}
	tc := &toolCall{index: index}
	a.calls = append(a.calls, tc)
	return tc
}

// appendCompletion appends the chat.completion object for a.
func appendCompletion(b []byte, id string, created int64, model string, a *answer) []byte {
	b = append(b, `{"id":`...)
	b = appendString(b, id)
	b = append(b, `,"object":"chat.completion","created":`...)
	b = appendInt(b, created)
	b = append(b, `,"model":`...)
	b = appendString(b, model)
	b = append(b, `,"choices":[{"index":0,"message":{"role":"assistant","content":`...)
	if a.text.Len() == 0 && len(a.calls) > 0 {
		b = append(b, "null"...)
	} else {
		b = appendString(b, a.text.String())
	}
	if a.reasoning.Len() > 0 {
		b = append(b, `,"reasoning_content":`...)
		b = appendString(b, a.reasoning.String())
	}
	b = append(b, `,"refusal":null`...)
	if len(a.calls) > 0 {
		b = append(b, `,"tool_calls":[`...)
		for i, tc := range a.calls {
			if i > 0 {
				b = append(b, ',')
			}
			typ := tc.typ
			if typ == "" {
				typ = "function"
			}
			b = append(b, `{"id":`...)
			b = appendString(b, tc.id)
			b = append(b, `,"type":`...)
			b = appendString(b, typ)
			b = append(b, `,"function":{"name":`...)
			b = appendString(b, tc.name)
			b = append(b, `,"arguments":`...)
			b = appendString(b, tc.arguments.String())
			b = append(b, "}}"...)
		}
		b = append(b, ']')
	}
	finish := a.finish
	if finish == messages.FinishReason_FINISH_REASON_UNSPECIFIED {
		finish = messages.FinishReason_FINISH_REASON_STOP
	}
	b = append(b, `},"logprobs":null,"finish_reason":`...)
	b = appendString(b, finish.Slug())
	b = append(b, `}],"usage":`...)
	b = appendUsage(b, a.usage)
	return append(b, "}\n"...)
}

// appendUsage appends OpenAI's usage object (zeros when u is nil).
func appendUsage(b []byte, u *messages.Usage) []byte {
	in, out := u.GetInputTokens(), u.GetOutputTokens()
	b = append(b, `{"prompt_tokens":`...)
	b = appendInt(b, in)
	b = append(b, `,"completion_tokens":`...)
	b = appendInt(b, out)
	b = append(b, `,"total_tokens":`...)
	b = appendInt(b, in+out)
	b = append(b, `,"prompt_tokens_details":{"cached_tokens":`...)
	b = appendInt(b, u.GetCachedInputTokens())
	b = append(b, `},"completion_tokens_details":{"reasoning_tokens":`...)
	b = appendInt(b, u.GetReasoningTokens())
	return append(b, "}}"...)
}

// chunkPrefix appends the fields every chat.completion.chunk of a stream
// shares, up to the opening of its choices array.
func chunkPrefix(b []byte, id string, created int64, model string) []byte {
	b = append(b, `data: {"id":`...)
	b = appendString(b, id)
	b = append(b, `,"object":"chat.completion.chunk","created":`...)
	b = appendInt(b, created)
	b = append(b, `,"model":`...)
	b = appendString(b, model)
	return append(b, `,"choices":[`...)
}

// sseEncoder writes a stream's events; prefix is the shared chunk head.
type sseEncoder struct {
	prefix []byte
}

const (
	choiceOpen  = `{"index":0,"delta":`
	choiceClose = `,"logprobs":null,"finish_reason":null}]}` + "\n\n"
)

// role appends the first event: the assistant role with empty content.
func (e *sseEncoder) role(b []byte) []byte {
	b = append(b, e.prefix...)
	b = append(b, choiceOpen+`{"role":"assistant","content":""}`+choiceClose...)
	return b
}

// delta appends the content, reasoning and tool call deltas of c, or
// nothing when c carries none (a chunk with only a finish reason or usage).
func (e *sseEncoder) delta(b []byte, c *messages.TokenChunk) []byte {
	text, reasoning, calls := c.GetText(), c.GetReasoning(), c.GetToolCalls()
	if text == "" && reasoning == "" && len(calls) == 0 {
		return b
	}
	b = append(b, e.prefix...)
	b = append(b, choiceOpen+"{"...)
	sep := false
	if text != "" {
		b = append(b, `"content":`...)
		b = appendString(b, text)
		sep = true
	}
	if reasoning != "" {
		if sep {
			b = append(b, ',')
		}
		b = append(b, `"reasoning_content":`...)
		b = appendString(b, reasoning)
		sep = true
	}
	if len(calls) > 0 {
		if sep {
			b = append(b, ',')
		}
		b = append(b, `"tool_calls":[`...)
		for i, d := range calls {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, `{"index":`...)
			b = appendInt(b, int64(d.GetIndex()))
			if d.GetId() != "" {
				b = append(b, `,"id":`...)
				b = appendString(b, d.GetId())
				typ := d.GetType()
				if typ == "" {
					typ = "function"
				}
				b = append(b, `,"type":`...)
				b = appendString(b, typ)
			}
			b = append(b, `,"function":{`...)
			if d.GetName() != "" {
				b = append(b, `"name":`...)
				b = appendString(b, d.GetName())
				b = append(b, ',')
			}
			b = append(b, `"arguments":`...)
			b = appendString(b, d.GetArguments())
			b = append(b, "}}"...)
		}
		b = append(b, ']')
	}
	b = append(b, '}')
	return append(b, choiceClose...)
}

// finish appends the event that carries the finish reason.
func (e *sseEncoder) finish(b []byte, f messages.FinishReason) []byte {
	b = append(b, e.prefix...)
	b = append(b, choiceOpen+`{},"logprobs":null,"finish_reason":`...)
	b = appendString(b, f.Slug())
	return append(b, "}]}\n\n"...)
}

// usage appends the usage event: no choices, just usage.
func (e *sseEncoder) usage(b []byte, u *messages.Usage) []byte {
	b = append(b, e.prefix...)
	b = append(b, `],"usage":`...)
	b = appendUsage(b, u)
	return append(b, "}\n\n"...)
}

// appendErrorEvent appends an in-band error event.
func appendErrorEvent(b []byte, a *apiError) []byte {
	b = append(b, `data: {"error":`...)
	b = appendErrorObject(b, a)
	return append(b, "}\n\n"...)
}
