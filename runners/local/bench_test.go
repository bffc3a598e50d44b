package local

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/actorinfer/actorinfer/messages"
	"github.com/actorinfer/actorinfer/runners"
)

// Benchmarks of the decode loop on random weights in the stories shapes
// (greedy, 128 tokens from BOS). Each reports tok/s, the weight bytes a
// step reads, the machine's read bandwidth measured in the same run with
// the same thread count, and efficiency = tok/s × bytes/token ÷ bandwidth.
//
//	go test -run '^$' -bench Decode -benchtime 3x ./runners/local
//	go test -tags purego -run '^$' -bench Decode -benchtime 3x ./runners/local

const benchTokens = 128

var benchModels sync.Map // name -> string path, kept for the process

func benchModel(b *testing.B, name string, p Params, q8 bool) *Model {
	b.Helper()
	m, err := LoadModel(benchModelPath(b, name, p, q8))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { m.Close() })
	return m
}

// benchModelPath writes (once per process) random weights in shape p.
func benchModelPath(b *testing.B, name string, p Params, q8 bool) string {
	b.Helper()
	key := fmt.Sprintf("%s-%v", name, q8)
	path, ok := benchModels.Load(key)
	if !ok {
		w := randomWeights(withShared(p, true), 1)
		if q8 {
			path = w.writeV12(benchTB{b, key}, 2, 64)
		} else {
			path = w.writeV0(benchTB{b, key})
		}
		benchModels.Store(key, path)
	}
	return path.(string)
}

// benchTB writes model files that outlive one benchmark function (b.TempDir
// is removed after each b.N round); TestMain removes them at exit.
type benchTB struct {
	*testing.B
	key string
}

var (
	benchDirMu   sync.Mutex
	benchDirPath string
)

func (t benchTB) TempDir() string {
	benchDirMu.Lock()
	defer benchDirMu.Unlock()
	if benchDirPath == "" {
		d, err := os.MkdirTemp("", "local-bench-")
		if err != nil {
			t.Fatal(err)
		}
		benchDirPath = d
	}
	d := filepath.Join(benchDirPath, t.key)
	if err := os.MkdirAll(d, 0o700); err != nil {
		t.Fatal(err)
	}
	return d
}

func TestMain(m *testing.M) {
	code := m.Run()
	if benchDirPath != "" {
		os.RemoveAll(benchDirPath)
	}
	os.Exit(code)
}

// decode runs nb sequences of benchTokens greedy tokens from BOS in lockstep.
func decode(e *engine, caches []*kvCache, nb int, toks, pos []int, want []bool) {
	V := e.p.VocabSize
	for i := 0; i < nb; i++ {
		toks[i], pos[i], want[i] = 1, 0, true
	}
	for step := 0; step < benchTokens; step++ {
		e.step(nb, toks, pos, caches, want)
		for i := 0; i < nb; i++ {
			toks[i] = argmax(e.logits[i*V : (i+1)*V])
			pos[i]++
		}
	}
}

func benchDecode(b *testing.B, m *Model, nb int) {
	threads := runtime.NumCPU()
	e := newEngine(m, benchTokens, nb, threads)
	defer e.close()
	caches := make([]*kvCache, nb)
	for i := range caches {
		caches[i] = e.newCache()
	}
	toks, pos, want := make([]int, nb), make([]int, nb), make([]bool, nb)
	decode(e, caches, nb, toks, pos, want) // warm up: page in the weights
	bw := readBandwidth(e.pool)
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := cpuSeconds()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		decode(e, caches, nb, toks, pos, want)
	}
	el := time.Since(start).Seconds()
	cpu := cpuSeconds() - cpu0
	b.StopTimer()
	tps := float64(b.N*benchTokens*nb) / el
	// Tokens per CPU-second of this process: comparable across runs on a
	// machine shared with other work, where wall-clock tok/s is not.
	b.ReportMetric(float64(b.N*benchTokens*nb)/cpu, "tok/cpu-s")
	bytesPerStep := float64(m.WeightBytes())
	b.ReportMetric(tps, "tok/s")
	b.ReportMetric(bytesPerStep/1e6, "MB/step")
	b.ReportMetric(bw/1e9, "GB/s-bw")
	// Efficiency: weight bytes streamed per second (one pass per step,
	// shared by the nb sequences) over the measured bandwidth.
	b.ReportMetric(tps/float64(nb)*bytesPerStep/bw, "efficiency")
}

func BenchmarkDecode(b *testing.B) {
	for _, tc := range []struct {
		name string
		p    Params
		q8   bool
		nb   int
	}{
		{"15M-fp32", shape15M, false, 1},
		{"110M-fp32", shape110M, false, 1},
		{"110M-q8_0", shape110M, true, 1},
		{"15M-fp32-batch8", shape15M, false, 8},
		{"110M-fp32-batch8", shape110M, false, 8},
		{"110M-q8_0-batch8", shape110M, true, 8},
	} {
		b.Run(tc.name, func(b *testing.B) {
			benchDecode(b, benchModel(b, tc.name[:strings.Index(tc.name, "-")], tc.p, tc.q8), tc.nb)
		})
	}
}

// BenchmarkBatchGain measures what sharing decode steps buys: each
// iteration decodes 128 tokens for one sequence alone and for 8 sequences
// batched, alternately (so both see the same machine load), and reports
// both rates and gain = batched tok/s ÷ single tok/s.
//
//	go test -run '^$' -bench BatchGain -benchtime 3x ./runners/local
func BenchmarkBatchGain(b *testing.B) {
	for _, tc := range []struct {
		name string
		p    Params
		q8   bool
	}{
		{"15M-fp32", shape15M, false},
		{"110M-fp32", shape110M, false},
		{"110M-q8_0", shape110M, true},
	} {
		b.Run(tc.name, func(b *testing.B) {
			m := benchModel(b, tc.name[:strings.Index(tc.name, "-")], tc.p, tc.q8)
			const nb = 8
			e := newEngine(m, benchTokens, nb, runtime.NumCPU())
			defer e.close()
			caches := make([]*kvCache, nb)
			for i := range caches {
				caches[i] = e.newCache()
			}
			toks, pos, want := make([]int, nb), make([]int, nb), make([]bool, nb)
			decode(e, caches, nb, toks, pos, want) // warm up
			var single, batched time.Duration
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				t0 := time.Now()
				decode(e, caches, 1, toks, pos, want)
				t1 := time.Now()
				decode(e, caches, nb, toks, pos, want)
				single += t1.Sub(t0)
				batched += time.Since(t1)
			}
			b.StopTimer()
			st := float64(b.N*benchTokens) / single.Seconds()
			bt := float64(b.N*benchTokens*nb) / batched.Seconds()
			b.ReportMetric(st, "single-tok/s")
			b.ReportMetric(bt, "batch8-tok/s")
			b.ReportMetric(bt/st, "gain")
		})
	}
}

// BenchmarkRunnerBatching measures the same gain through the Runner: one
// request alone, then eight at once (greedy, 128 tokens, the Llama-2
// tokenizer from ../shared/models), each round timed from Execute to the
// last chunk of every stream; tok/s counts the tokens the streams report.
//
//	go test -run '^$' -bench RunnerBatching -benchtime 2x ./runners/local
func BenchmarkRunnerBatching(b *testing.B) {
	tokPath := filepath.Join(sharedModels(b), "tokenizer.bin")
	for _, tc := range []struct {
		name string
		p    Params
		q8   bool
	}{
		{"15M-fp32", shape15M, false},
		{"110M-fp32", shape110M, false},
		{"110M-q8_0", shape110M, true},
	} {
		b.Run(tc.name, func(b *testing.B) {
			r, err := New(Config{
				ModelPath:     benchModelPath(b, tc.name[:strings.Index(tc.name, "-")], tc.p, tc.q8),
				TokenizerPath: tokPath,
				MaxBatch:      8,
				ContextLength: 256,
			})
			if err != nil {
				b.Fatal(err)
			}
			defer r.Close()
			zero := float32(0)
			round := func(n int) (int, time.Duration) {
				start := time.Now()
				var wg sync.WaitGroup
				counts := make([]int, n)
				for i := range n {
					wg.Add(1)
					go func() {
						defer wg.Done()
						h, err := r.Execute(context.Background(), &messages.ExecuteBatch{
							RequestId: fmt.Sprintf("bench-%d", i),
							Messages:  []*messages.ChatMessage{{Role: messages.Role_ROLE_USER, Content: "Once upon a time"}},
							Sampling:  &messages.Sampling{Temperature: &zero, MaxTokens: benchTokens},
						})
						if err != nil {
							b.Error(err)
							return
						}
						chunks, err := runners.ReadAll(h)
						if err != nil || len(chunks) == 0 {
							b.Error("stream:", err)
							return
						}
						counts[i] = int(chunks[len(chunks)-1].GetUsage().GetOutputTokens())
					}()
				}
				wg.Wait()
				total := 0
				for _, c := range counts {
					total += c
				}
				return total, time.Since(start)
			}
			round(8) // warm up: page in the weights, allocate the caches
			var n1, n8 int
			var t1, t8 time.Duration
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				n, d := round(1)
				n1, t1 = n1+n, t1+d
				n, d = round(8)
				n8, t8 = n8+n, t8+d
			}
			b.StopTimer()
			st, bt := float64(n1)/t1.Seconds(), float64(n8)/t8.Seconds()
			b.ReportMetric(st, "single-tok/s")
			b.ReportMetric(bt, "batch8-tok/s")
			b.ReportMetric(bt/st, "gain")
			b.ReportMetric(float64(n8)/float64(8*b.N), "tokens/request")
		})
	}
}

// bwBuf is the buffer of the bandwidth probe: 512 MiB, far beyond the caches.
var bwBuf = sync.OnceValue(func() []byte {
	s := make([]byte, 512<<20)
	for i := range s {
		s[i] = 1
	}
	return s
})

// readBandwidth measures the bytes per second the pool reads from memory:
// a parallel bytes.IndexByte scan for an absent byte (the standard
// library's vectorised scan, so the probe is memory-bound in every build),
// best of 3.
func readBandwidth(p *pool) float64 {
	buf := bwBuf()
	const chunk = 1 << 18
	found := make([]int, len(buf)/chunk)
	fn := func(lo, hi int) {
		for c := lo; c < hi; c++ {
			found[c] = bytes.IndexByte(buf[c*chunk:(c+1)*chunk], 0)
		}
	}
	best := 0.0
	for r := 0; r < 3; r++ {
		start := time.Now()
		p.run(len(found), 1, fn)
		best = max(best, float64(len(buf))/time.Since(start).Seconds())
	}
	return best
}

// cpuSeconds is the user+system CPU time of this process so far.
func cpuSeconds() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return float64(ru.Utime.Nano()+ru.Stime.Nano()) / 1e9
}
