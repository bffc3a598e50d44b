package cuda

import (
	"regexp"
	"strings"
)

var (
	entryBlockRE = regexp.MustCompile(`(?s)\.entry\s+([A-Za-z_][A-Za-z0-9_]*)\s*\((.*?)\)`)
	paramRE      = regexp.MustCompile(`\.param\s+\.(u64|u32|s32|f32|b32|b64)`)
)

// parsePTXEntries maps each .entry of ptx to its parameter kinds spelled
// as fakeKernel.params ('p' 64-bit pointer, 'i' 32-bit int, 'f' float).
func parsePTXEntries(ptx string) map[string]string {
	out := map[string]string{}
	for _, m := range entryBlockRE.FindAllStringSubmatch(ptx, -1) {
		var b strings.Builder
		for _, p := range paramRE.FindAllStringSubmatch(m[2], -1) {
			switch p[1] {
			case "u64", "b64":
				b.WriteByte('p')
			case "f32":
				b.WriteByte('f')
			default:
				b.WriteByte('i')
			}
		}
		out[m[1]] = b.String()
	}
	return out
}
