package messages

import (
	"fmt"
	"strings"
	"time"
)

// Error implements the error interface, so a typed failure can be returned,
// wrapped and inspected with errors.As on either side of a node boundary.
func (e *Error) Error() string {
	if e == nil {
		return "<nil>"
	}
	var b strings.Builder
	b.WriteString(e.GetCode().Slug())
	if e.GetDeployment() != "" {
		b.WriteString(" (deployment ")
		b.WriteString(e.GetDeployment())
		if e.GetScope() != "" {
			b.WriteString(", scope ")
			b.WriteString(e.GetScope())
		}
		b.WriteString(")")
	} else if e.GetScope() != "" {
		b.WriteString(" (scope ")
		b.WriteString(e.GetScope())
		b.WriteString(")")
	}
	if e.GetMessage() != "" {
		b.WriteString(": ")
		b.WriteString(e.GetMessage())
	}
	if e.GetRetryAfterMs() > 0 {
		fmt.Fprintf(&b, " (retry after %s)", e.RetryAfter())
	}
	return b.String()
}

// Is reports whether target is an *Error with the same code, so that
// errors.Is(err, &messages.Error{Code: messages.ErrorCode_ERROR_CODE_RATE_LIMITED})
// works as a code test.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	if !ok || e == nil || t == nil {
		return false
	}
	return t.GetCode() == e.GetCode() && t.GetMessage() == "" || t == e
}

// RetryAfter returns the retry hint as a duration (0 when none).
func (e *Error) RetryAfter() time.Duration {
	return time.Duration(e.GetRetryAfterMs()) * time.Millisecond
}

// NewError returns an Error with code and a formatted message.
func NewError(code ErrorCode, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Slug returns the code's short snake_case name ("rate_limited").
func (c ErrorCode) Slug() string {
	s := c.String()
	s = strings.TrimPrefix(s, "ERROR_CODE_")
	return strings.ToLower(s)
}

// ErrorCodeFromSlug parses a slug written by Slug.
func ErrorCodeFromSlug(s string) (ErrorCode, bool) {
	v, ok := ErrorCode_value["ERROR_CODE_"+strings.ToUpper(s)]
	return ErrorCode(v), ok && v != 0
}

// Slug returns the finish reason as OpenAI spells it ("stop", "length",
// "tool_calls", "content_filter"), or "" when unspecified.
func (f FinishReason) Slug() string {
	switch f {
	case FinishReason_FINISH_REASON_STOP:
		return "stop"
	case FinishReason_FINISH_REASON_LENGTH:
		return "length"
	case FinishReason_FINISH_REASON_TOOL_CALLS:
		return "tool_calls"
	case FinishReason_FINISH_REASON_CONTENT_FILTER:
		return "content_filter"
	}
	return ""
}

// Slug returns the role as chat APIs spell it.
func (r Role) Slug() string {
	switch r {
	case Role_ROLE_SYSTEM:
		return "system"
	case Role_ROLE_USER:
		return "user"
	case Role_ROLE_ASSISTANT:
		return "assistant"
	case Role_ROLE_TOOL:
		return "tool"
	}
	return ""
}

// RoleFromSlug parses "system", "user", "assistant", "tool" (and
// "developer", OpenAI's newer name for system).
func RoleFromSlug(s string) (Role, bool) {
	switch s {
	case "system", "developer":
		return Role_ROLE_SYSTEM, true
	case "user":
		return Role_ROLE_USER, true
	case "assistant":
		return Role_ROLE_ASSISTANT, true
	case "tool":
		return Role_ROLE_TOOL, true
	}
	return Role_ROLE_UNSPECIFIED, false
}

// Deadline returns the batch deadline, and false when it has none.
func (b *ExecuteBatch) Deadline() (time.Time, bool) {
	if b.GetDeadlineUnixNano() == 0 {
		return time.Time{}, false
	}
	return time.Unix(0, b.GetDeadlineUnixNano()), true
}

// Text returns the concatenated text of a message: its content, or its
// text parts joined.
func (m *ChatMessage) Text() string {
	if len(m.GetParts()) == 0 {
		return m.GetContent()
	}
	var b strings.Builder
	for _, p := range m.GetParts() {
		b.WriteString(p.GetText())
	}
	return b.String()
}
