package local

import (
	"context"
	"strings"
	"unicode/utf8"

	"github.com/actorinfer/actorinfer/messages"
	"github.com/actorinfer/actorinfer/runners"
)

// sequence is one request being decoded: its prompt, position, KV cache,
// sampler and the text not yet streamed.
type sequence struct {
	ctx       context.Context
	pipe      *runners.Pipe
	requestID string
	model     string

	prompt  []int
	pos     int // tokens fed so far = position of the next feed
	next    int // token to feed at pos
	maxNew  int // generated-token limit
	gen     int // tokens generated
	cache   *kvCache
	sampler *sampler
	stops   []string
	seq     uint32

	pend []byte // decoded bytes of an incomplete UTF-8 character
	held string // text held back because it may begin a stop sequence

	stopWake func() bool // unregisters the cancellation wake-up

	// Test hook: after stallAfter chunks the sequence sits out steps until
	// stallRelease is closed (or it is cancelled).
	stallAfter   uint32
	stallRelease chan struct{}
}

// stalled reports whether the test hook holds the sequence this step.
func (s *sequence) stalled() bool {
	if s.stallRelease == nil || s.seq < s.stallAfter {
		return false
	}
	select {
	case <-s.stallRelease:
		s.stallRelease = nil
		return false
	default:
		return true
	}
}

// wantsLogits reports whether this step's output is sampled (the last
// prompt token or a generated one).
func (s *sequence) wantsLogits() bool { return s.pos >= len(s.prompt)-1 }

// send delivers a chunk; false when the consumer has gone.
func (s *sequence) send(text string, finish messages.FinishReason) bool {
	c := &messages.TokenChunk{RequestId: s.requestID, Seq: s.seq, Text: text, FinishReason: finish}
	s.seq++
	if finish != messages.FinishReason_FINISH_REASON_UNSPECIFIED {
		c.Usage = &messages.Usage{InputTokens: int64(len(s.prompt)), OutputTokens: int64(s.gen)}
		c.Model = s.model
	}
	return s.pipe.Send(c)
}

// finish sends the final chunk with whatever text is held and ends the stream.
func (s *sequence) finish(text string, reason messages.FinishReason) {
	s.send(text, reason)
	s.pipe.Finish(nil)
}

// fail ends the stream with err.
func (s *sequence) fail(err error) { s.pipe.Finish(runners.AsError(err)) }

// emit takes the bytes of one generated token and returns the text to
// stream now and whether a stop sequence ended the answer (the text then
// stops right before it).
func (s *sequence) emit(piece []byte) (string, bool) {
	s.pend = append(s.pend, piece...)
	n := utf8Prefix(s.pend)
	text := s.held + validUTF8(s.pend[:n])
	s.pend = append(s.pend[:0], s.pend[n:]...)
	s.held = ""
	if len(s.stops) == 0 {
		return text, false
	}
	for _, st := range s.stops {
		if i := strings.Index(text, st); i >= 0 {
			return text[:i], true
		}
	}
	// Hold back the longest suffix that may begin a stop sequence.
	keep := 0
	for _, st := range s.stops {
		for k := min(len(st)-1, len(text)); k > keep; k-- {
			if strings.HasSuffix(text, st[:k]) {
				keep = k
				break
			}
		}
	}
	s.held = text[len(text)-keep:]
	return text[:len(text)-keep], false
}

// flush returns all text still held (an incomplete character as U+FFFD).
func (s *sequence) flush() string {
	t := s.held + validUTF8(s.pend)
	s.held, s.pend = "", s.pend[:0]
	return t
}

func validUTF8(b []byte) string {
	if utf8.Valid(b) {
		return string(b)
	}
	return strings.ToValidUTF8(string(b), "\uFFFD")
}
