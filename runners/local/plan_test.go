package local

import (
	"testing"

	"github.com/actorinfer/actorinfer/messages"
	"github.com/actorinfer/actorinfer/runners"
)

func TestPlanRequest(t *testing.T) {
	tok := testTokenizer(t)
	f := func(v float32) *float32 { return &v }
	i32 := func(v int32) *int32 { return &v }
	i64 := func(v int64) *int64 { return &v }
	req := func(prompt string, s *messages.Sampling) *messages.ExecuteBatch {
		return &messages.ExecuteBatch{Sampling: s,
			Messages: []*messages.ChatMessage{{Role: messages.Role_ROLE_USER, Content: prompt}}}
	}
	for _, tc := range []struct {
		name string
		b    *messages.ExecuteBatch
		ctx  int
		code runners.Code // 0: valid
	}{
		{"defaults", req("ab", nil), 32, 0},
		{"too long", req("ab ab ab ab ab", nil), 3, runners.CodeContextLengthExceeded},
		{"negative max_tokens", req("ab", &messages.Sampling{MaxTokens: -1}), 32, runners.CodeBadRequest},
		{"negative temperature", req("ab", &messages.Sampling{Temperature: f(-0.5)}), 32, runners.CodeBadRequest},
		{"top_p above 1", req("ab", &messages.Sampling{TopP: f(1.5)}), 32, runners.CodeBadRequest},
		{"negative top_k", req("ab", &messages.Sampling{TopK: i32(-1)}), 32, runners.CodeBadRequest},
		{"penalty out of range", req("ab", &messages.Sampling{PresencePenalty: f(3)}), 32, runners.CodeBadRequest},
		{"everything set", req("ab", &messages.Sampling{MaxTokens: 4, Temperature: f(0), TopP: f(0.9), TopK: i32(5),
			Seed: i64(9), Stop: []string{"", "x"}, FrequencyPenalty: f(1)}), 32, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := PlanRequest("local", tok, TemplateNone, tc.ctx, 7, tc.b)
			if tc.code != 0 {
				if runners.AsError(err).GetCode() != tc.code {
					t.Fatalf("PlanRequest = %v, want code %v", err, tc.code)
				}
				return
			}
			if err != nil {
				t.Fatalf("PlanRequest = %v", err)
			}
			if len(p.Prompt) == 0 || p.Prompt[0] != tok.BOS {
				t.Fatalf("prompt = %v, want BOS first", p.Prompt)
			}
			if tc.name == "defaults" && (p.Seed != 7 || p.Temperature != 1 || p.TopP != 1 || p.MaxNew != tc.ctx-len(p.Prompt)+1) {
				t.Fatalf("defaults = %+v, want seed 7, temperature 1, top_p 1, max to the context end", p)
			}
			if tc.name == "everything set" && (p.MaxNew != 4 || p.Seed != 9 || p.TopK != 5 || p.Frequency != 1 ||
				len(p.Stops) != 1 || p.Stops[0] != "x") {
				t.Fatalf("plan = %+v", p)
			}
		})
	}
}
