package fake

import (
	"strings"

	"github.com/actorinfer/actorinfer/messages"
)

// plan is the answer to one batch, decided at Execute: the text is
// src[start:end], cut into tokens at word boundaries.
type plan struct {
	src        string
	start, end int
	tokens     int // output tokens
	finish     messages.FinishReason
}

func isSpace(c byte) bool {
	switch c {
	case ' ', '\t', '\n', '\r', '\v', '\f':
		return true
	}
	return false
}

func skipSpace(s string, i int) int {
	for i < len(s) && isSpace(s[i]) {
		i++
	}
	return i
}

func skipWord(s string, i int) int {
	for i < len(s) && !isSpace(s[i]) {
		i++
	}
	return i
}

// countWords counts the whitespace-separated words of s without allocating.
func countWords(s string) int {
	n := 0
	for i := skipSpace(s, 0); i < len(s); i = skipSpace(s, i) {
		i = skipWord(s, i)
		n++
	}
	return n
}

// makePlan answers src with at most max tokens, stopped at the first stop
// sequence.
func makePlan(src string, max int, stops []string) plan {
	start := skipSpace(src, 0)
	pos, n := start, 0
	for n < max {
		w := skipSpace(src, pos)
		if w == len(src) {
			break
		}
		pos = skipWord(src, w)
		n++
	}
	p := plan{src: src, start: start, end: pos, tokens: n, finish: messages.FinishReason_FINISH_REASON_STOP}
	if skipSpace(src, pos) < len(src) {
		p.finish = messages.FinishReason_FINISH_REASON_LENGTH
	}
	if cut := firstStop(src[start:pos], stops); cut >= 0 {
		p.end = start + cut
		p.finish = messages.FinishReason_FINISH_REASON_STOP
		p.tokens = 0
		for i := start; i < p.end; i = skipWord(src, skipSpace(src, i)) {
			p.tokens++
		}
	}
	return p
}

// firstStop returns the index in text of the earliest stop sequence, or -1.
func firstStop(text string, stops []string) int {
	at := -1
	for _, s := range stops {
		if s == "" {
			continue
		}
		if i := strings.Index(text, s); i >= 0 && (at < 0 || i < at) {
			at = i
		}
	}
	return at
}

// piece returns the token starting at pos (the whitespace before a word and
// the word) and where the next one starts, never past p.end.
func (p *plan) piece(pos int) (string, int) {
	next := skipWord(p.src, skipSpace(p.src, pos))
	if next > p.end {
		next = p.end
	}
	return p.src[pos:next], next
}

// replySource is the text the runner echoes for b: the last user message,
// or the last message when there is no user message.
func replySource(b *messages.ExecuteBatch) string {
	msgs := b.GetMessages()
	for i := len(msgs) - 1; i >= 0; i-- {
		if msgs[i].GetRole() == messages.Role_ROLE_USER {
			return msgs[i].Text()
		}
	}
	if len(msgs) > 0 {
		return msgs[len(msgs)-1].Text()
	}
	return ""
}

// inputTokens counts the words of every message of b.
func inputTokens(b *messages.ExecuteBatch) int64 {
	n := 0
	for _, m := range b.GetMessages() {
		if len(m.GetParts()) == 0 {
			n += countWords(m.GetContent())
			continue
		}
		for _, part := range m.GetParts() {
			n += countWords(part.GetText())
		}
	}
	return int64(n)
}
