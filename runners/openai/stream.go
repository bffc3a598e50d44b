package openai

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"strconv"

	"github.com/actorinfer/actorinfer/messages"
	"github.com/actorinfer/actorinfer/runners"
	"github.com/actorinfer/actorinfer/runners/httpapi"
)

// maxUnaryBody caps a unary response body (64 MiB).
const maxUnaryBody = 64 << 20

var doneMarker = []byte("[DONE]")

// streamState turns one response into TokenChunks on a pipe.
type streamState struct {
	r    *Runner
	s    *session
	pipe *runners.Pipe
	resp *httpapi.Response

	requestID string
	estInput  int64
	maxTokens int64 // 0: none

	seq      uint32
	sent     bool // a chunk reached the pipe: later failures are in-band
	finish   messages.FinishReason
	usage    *messages.Usage
	model    string
	outBytes int
}

// stream relays an SSE response. A chunk is sent for every event with text,
// reasoning or tool-call deltas; the last chunk carries the finish reason,
// usage and cost. "data: [DONE]" ends the stream; a stream that ends after
// its finish reason without [DONE] is accepted; one that ends before is an
// error, so that a cut stream never looks complete.
func (st *streamState) stream() {
	sr := httpapi.NewSSEReaderSize(st.resp.Body, st.s.cfg.MaxSSELine)
	var c chatResponse
	for {
		ev, err := sr.Next()
		if err != nil {
			if (errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF)) && st.finish != messages.FinishReason_FINISH_REASON_UNSPECIFIED {
				break
			}
			st.fail(st.resp.Err(err))
			return
		}
		if ev.Event == "error" {
			st.fail(st.bodyError(ev.Data))
			return
		}
		if bytes.Equal(bytes.TrimSpace(ev.Data), doneMarker) {
			if st.finish == messages.FinishReason_FINISH_REASON_UNSPECIFIED {
				st.finish = messages.FinishReason_FINISH_REASON_STOP
			}
			break
		}
		c = chatResponse{}
		if err := jsonUnmarshal(ev.Data, &c); err != nil {
			st.fail(st.malformed("stream chunk", len(ev.Data)))
			return
		}
		if isError(c.Error) {
			st.fail(st.bodyError(ev.Data))
			return
		}
		if out := st.absorb(&c, false); out != nil {
			if !st.pipe.Send(out) {
				return // the consumer closed the handle
			}
			st.sent = true
		}
	}
	st.finishStream(nil)
}

// unary reads a chat.completion object and sends it as one chunk.
func (st *streamState) unary() {
	body, err := io.ReadAll(io.LimitReader(st.resp.Body, maxUnaryBody+1))
	if err != nil {
		st.fail(st.resp.Err(err))
		return
	}
	if len(body) > maxUnaryBody {
		st.fail(&messages.Error{Code: runners.CodeServerError, Provider: string(st.s.cfg.Provider),
			Message: string(st.s.cfg.Provider) + ": response body over 64 MiB"})
		return
	}
	var c chatResponse
	if err := jsonUnmarshal(body, &c); err != nil {
		st.fail(st.malformed("response", len(body)))
		return
	}
	if isError(c.Error) {
		st.fail(st.bodyError(body))
		return
	}
	if len(c.Choices) == 0 {
		st.fail(&messages.Error{Code: runners.CodeServerError, Provider: string(st.s.cfg.Provider),
			Message: string(st.s.cfg.Provider) + ": response has no choices"})
		return
	}
	out := st.absorb(&c, true)
	if st.finish == messages.FinishReason_FINISH_REASON_UNSPECIFIED {
		st.finish = messages.FinishReason_FINISH_REASON_STOP
	}
	st.finishStream(out)
}

func isError(raw json.RawMessage) bool {
	raw = bytes.TrimSpace(raw)
	return len(raw) > 0 && !bytes.Equal(raw, []byte("null"))
}

// absorb takes one chunk (or, unary, the whole completion) and returns the
// TokenChunk of its deltas, or nil when it carried none.
func (st *streamState) absorb(c *chatResponse, unary bool) *messages.TokenChunk {
	if c.Model != "" {
		st.model = c.Model
	}
	if u := c.Usage; u != nil {
		st.usage = &messages.Usage{InputTokens: u.PromptTokens, OutputTokens: u.CompletionTokens}
		if u.PromptTokensDetails != nil {
			st.usage.CachedInputTokens = u.PromptTokensDetails.CachedTokens
		}
		if u.CompletionTokensDetails != nil {
			st.usage.ReasoningTokens = u.CompletionTokensDetails.ReasoningTokens
		}
	}
	var out *messages.TokenChunk
	for i := range c.Choices {
		ch := &c.Choices[i]
		if ch.Index != 0 {
			continue // actorinfer never asks for n > 1
		}
		if ch.FinishReason != nil && *ch.FinishReason != "" {
			st.finish = finishReason(*ch.FinishReason)
		}
		m := ch.Delta
		if unary {
			m = ch.Message
		}
		if m == nil {
			continue
		}
		text := str(m.Content)
		if text == "" && unary {
			text = str(m.Refusal)
		}
		reasoning := str(m.ReasoningContent) + str(m.Reasoning)
		if text == "" && reasoning == "" && len(m.ToolCalls) == 0 {
			continue
		}
		if out == nil {
			out = &messages.TokenChunk{RequestId: st.requestID}
		}
		out.Text += text
		out.Reasoning += reasoning
		st.outBytes += len(text) + len(reasoning)
		for j, tc := range m.ToolCalls {
			idx := int32(j)
			if tc.Index != nil {
				idx = *tc.Index
			}
			out.ToolCalls = append(out.ToolCalls, &messages.ToolCallDelta{Index: idx, Id: tc.ID, Type: tc.Type,
				Name: tc.Function.Name, Arguments: tc.Function.Arguments})
			st.outBytes += len(tc.Function.Name) + len(tc.Function.Arguments)
		}
	}
	if out != nil {
		out.Seq = st.seq
		st.seq++
	}
	return out
}

func str(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

// finishReason maps OpenAI's finish reasons; an unknown one (a compatible
// server's "eos", "abort") ends the answer as stop.
func finishReason(s string) messages.FinishReason {
	switch s {
	case "length":
		return messages.FinishReason_FINISH_REASON_LENGTH
	case "tool_calls", "function_call":
		return messages.FinishReason_FINISH_REASON_TOOL_CALLS
	case "content_filter":
		return messages.FinishReason_FINISH_REASON_CONTENT_FILTER
	}
	return messages.FinishReason_FINISH_REASON_STOP
}

// finishStream sends the last chunk (last, or a new empty one) with the
// finish reason, usage (estimated and flagged when the server sent none)
// and cost. A content filter that stopped the answer before anything was
// delivered is the error content_filtered instead, so that a router may try
// elsewhere; one that cut a partly delivered answer ends it with finish
// reason content_filter, as OpenAI's own clients expect.
func (st *streamState) finishStream(last *messages.TokenChunk) {
	if st.finish == messages.FinishReason_FINISH_REASON_CONTENT_FILTER && !st.sent &&
		(last == nil || last.GetText() == "" && len(last.GetToolCalls()) == 0) {
		st.fail(&messages.Error{Code: runners.CodeContentFiltered, Provider: string(st.s.cfg.Provider),
			Message: string(st.s.cfg.Provider) + ": the provider's content filter withheld the response (finish_reason content_filter)"})
		return
	}
	if last == nil {
		last = &messages.TokenChunk{RequestId: st.requestID, Seq: st.seq}
		st.seq++
	}
	last.FinishReason = st.finish
	last.Model = st.model
	u := st.usage
	if u == nil {
		// The server reported none: estimate (4 bytes a token, at most
		// max_tokens) and say so.
		out := int64((st.outBytes + 3) / 4)
		if st.maxTokens > 0 && out > st.maxTokens {
			out = st.maxTokens
		}
		u = &messages.Usage{InputTokens: st.estInput, OutputTokens: out, Estimated: true}
	}
	last.Usage = u
	if st.s.priceKnown {
		last.CostUsd = st.s.price.Cost(u)
	} else {
		last.CostUnknown = true
		st.r.warnUnknownPrice(st.s)
	}
	if st.pipe.Send(last) {
		st.pipe.Finish(nil)
	}
}

// fail ends the stream with e, in-band when a chunk was already delivered.
func (st *streamState) fail(e *messages.Error) {
	e.RequestId = st.requestID
	e.AfterFirstChunk = st.sent
	st.pipe.Finish(e)
}

// bodyError classifies an error object met inside a 200 response or stream.
func (st *streamState) bodyError(data []byte) *messages.Error {
	eb, err := httpapi.ParseErrorBody(data)
	if err != nil {
		return st.malformed("error event", len(data))
	}
	return st.r.table.FromBody(0, eb, st.s.http.Key())
}

func (st *streamState) malformed(what string, n int) *messages.Error {
	return &messages.Error{Code: runners.CodeServerError, Provider: string(st.s.cfg.Provider),
		Message: string(st.s.cfg.Provider) + ": malformed " + what + " (" + strconv.Itoa(n) + " bytes of invalid JSON)"}
}

// jsonUnmarshal is the one JSON decoder of response bodies and chunks.
func jsonUnmarshal(data []byte, v any) error { return json.Unmarshal(data, v) }
