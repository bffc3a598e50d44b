package local

import (
	"strings"

	"github.com/actorinfer/actorinfer/messages"
	"github.com/actorinfer/actorinfer/runners"
)

// messageText is a message's text: its content, or its text parts joined.
func messageText(m *messages.ChatMessage) string {
	if len(m.GetParts()) == 0 {
		return m.GetContent()
	}
	var b strings.Builder
	for _, p := range m.GetParts() {
		b.WriteString(p.GetText())
	}
	return b.String()
}

// promptTokens renders the conversation with the chat template and
// tokenizes it.
func promptTokens(tok *Tokenizer, template string, msgs []*messages.ChatMessage) ([]int, error) {
	if template == TemplateLlama2 {
		return llama2ChatTokens(tok, msgs)
	}
	for i := len(msgs) - 1; i >= 0; i-- {
		if msgs[i].GetRole() == messages.Role_ROLE_USER {
			return tok.Encode(messageText(msgs[i]), true, false), nil
		}
	}
	return nil, runners.Errorf(runners.CodeBadRequest, "local: the conversation has no user message")
}

// llama2ChatTokens renders the Llama-2-chat format (see TemplateLlama2).
func llama2ChatTokens(tok *Tokenizer, msgs []*messages.ChatMessage) ([]int, error) {
	var system string
	var turns []*messages.ChatMessage
	for _, m := range msgs {
		switch m.GetRole() {
		case messages.Role_ROLE_SYSTEM:
			if system != "" {
				system += "\n"
			}
			system += messageText(m)
		case messages.Role_ROLE_USER, messages.Role_ROLE_ASSISTANT:
			turns = append(turns, m)
		}
	}
	if len(turns) == 0 || turns[len(turns)-1].GetRole() != messages.Role_ROLE_USER {
		return nil, runners.Errorf(runners.CodeBadRequest, "local: llama2 chat template: the conversation must end with a user message")
	}
	var out []int
	first := true
	for i := 0; i < len(turns); i++ {
		if turns[i].GetRole() != messages.Role_ROLE_USER {
			return nil, runners.Errorf(runners.CodeBadRequest, "local: llama2 chat template: turns must alternate user/assistant")
		}
		user := strings.TrimSpace(messageText(turns[i]))
		if first && system != "" {
			user = "<<SYS>>\n" + strings.TrimSpace(system) + "\n<</SYS>>\n\n" + user
		}
		first = false
		text := "[INST] " + user + " [/INST]"
		if i+1 < len(turns) {
			if turns[i+1].GetRole() != messages.Role_ROLE_ASSISTANT {
				return nil, runners.Errorf(runners.CodeBadRequest, "local: llama2 chat template: turns must alternate user/assistant")
			}
			text += " " + strings.TrimSpace(messageText(turns[i+1])) + " "
			out = append(out, tok.Encode(text, true, true)...)
			i++
			continue
		}
		out = append(out, tok.Encode(text, true, false)...)
	}
	return out, nil
}
