package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/actorinfer/actorinfer/train"
)

// trainCmd implements `actorinfer train`: generate the story corpus, train
// a BPE tokenizer and a llama2.c model on it, and write DIR/model.bin (a
// llama2.c v0 checkpoint), DIR/tokenizer.bin, DIR/state.bin (the resumable
// training state) and DIR/corpus.json (the corpus settings). --resume
// continues from DIR with the model, optimizer and corpus settings stored
// there; only --steps, --workers and the reporting flags still apply.
func trainCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("train", flag.ContinueOnError)
	fs.SetOutput(stderr)
	out := fs.String("out", "", "output `DIR` (required)")
	dim := fs.Int("dim", 128, "model width")
	layers := fs.Int("layers", 4, "transformer layers")
	heads := fs.Int("heads", 4, "query heads")
	kvHeads := fs.Int("kv-heads", 0, "key/value heads (0: as many as --heads)")
	hidden := fs.Int("hidden", 0, "SwiGLU hidden width (0: llama2.c's rule, 8/3·dim rounded up to a multiple of 32)")
	seqLen := fs.Int("seq-len", 256, "context length")
	vocab := fs.Int("vocab", 768, "tokenizer pieces (at most; merging stops early when no pair repeats)")
	steps := fs.Int("steps", 1000, "optimizer steps")
	batch := fs.Int("batch", 8, "sequences per step")
	lr := fs.Float64("lr", 1e-3, "peak learning rate")
	minLR := fs.Float64("min-lr", 0, "final learning rate (0: lr/10)")
	warmup := fs.Int("warmup", 0, "warmup steps (0: steps/20)")
	wd := fs.Float64("weight-decay", 0.1, "AdamW weight decay on matrices")
	clip := fs.Float64("clip", 1, "gradient clipping by global norm")
	seed := fs.Uint64("seed", 1, "seed for the corpus, initialisation and batches")
	stories := fs.Int("stories", 40000, "stories to generate")
	valFrac := fs.Float64("val-frac", 0.02, "fraction of stories held out for validation")
	workers := fs.Int("workers", 0, "worker goroutines (0: one per CPU)")
	resume := fs.Bool("resume", false, "continue from DIR/state.bin")
	logEvery := fs.Int("log-every", 10, "steps between progress lines")
	evalEvery := fs.Int("eval-every", 200, "steps between validation estimates (0: only at the end)")
	saveEvery := fs.Int("save-every", 100, "steps between checkpoints")
	samples := fs.Int("samples", 3, "greedy samples to print at the end")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Errorf("unexpected argument %q", fs.Arg(0))}
	}
	if *out == "" {
		return usageError{errors.New("--out DIR is required")}
	}
	if *stories < 2 || *valFrac <= 0 || *valFrac >= 1 {
		return usageError{errors.New("--stories must be at least 2 and --val-frac in (0, 1)")}
	}
	if *logEvery <= 0 || *saveEvery <= 0 || *evalEvery < 0 || *samples < 0 {
		return usageError{errors.New("--log-every and --save-every must be positive, --eval-every and --samples not negative")}
	}
	if *kvHeads == 0 {
		*kvHeads = *heads
	}
	if *hidden == 0 {
		*hidden = (8**dim/3 + 31) / 32 * 32
	}
	if err := os.MkdirAll(*out, 0o755); err != nil {
		return err
	}
	statePath := filepath.Join(*out, "state.bin")
	tokPath := filepath.Join(*out, "tokenizer.bin")
	modelPath := filepath.Join(*out, "model.bin")

	start := time.Now()
	var opt train.Options
	if *resume {
		o, err := train.ReadStateOptions(statePath)
		if err != nil {
			return err
		}
		opt = o
		fmt.Fprintf(stdout, "resuming %s (seed %d, %d steps)\n", statePath, opt.Seed, opt.Steps)
	} else {
		opt = train.Options{
			Model:       train.Config{Dim: *dim, HiddenDim: *hidden, Layers: *layers, Heads: *heads, KVHeads: *kvHeads, SeqLen: *seqLen, VocabSize: *vocab},
			Steps:       *steps,
			Batch:       *batch,
			LR:          *lr,
			MinLR:       *minLR,
			Warmup:      *warmup,
			WeightDecay: *wd,
			Clip:        *clip,
			Seed:        *seed,
			Workers:     *workers,
		}
		if err := opt.Validate(); err != nil {
			return usageError{err}
		}
	}
	// The corpus settings travel with the state, so a resumed run sees the
	// same data.
	runPath := filepath.Join(*out, "corpus.json")
	cs := corpusSettings{Stories: *stories, ValFrac: *valFrac}
	if *resume {
		b, err := os.ReadFile(runPath)
		if err != nil {
			return err
		}
		if err := json.Unmarshal(b, &cs); err != nil {
			return fmt.Errorf("%s: %w", runPath, err)
		}
	} else {
		b, _ := json.Marshal(cs)
		if err := os.WriteFile(runPath, b, 0o644); err != nil {
			return err
		}
	}
	corpus := train.GenerateCorpus(opt.Seed, cs.Stories, cs.ValFrac)
	var tok *train.Tokenizer
	var err error
	if *resume {
		tok, err = train.LoadTokenizer(tokPath)
	} else {
		tok, err = train.TrainBPE(corpus.Train, *vocab)
		if err == nil {
			err = train.SaveTokenizer(tok, tokPath)
		}
	}
	if err != nil {
		return err
	}
	trainTok := train.TokenizeStories(tok, corpus.Train)
	valTok := train.TokenizeStories(tok, corpus.Val)
	fmt.Fprintf(stdout, "corpus: %d train stories (%d tokens), %d validation stories (%d tokens); vocabulary %d pieces\n",
		len(corpus.Train), len(trainTok), len(corpus.Val), len(valTok), tok.VocabSize())

	var tr *train.Trainer
	if *resume {
		n := 0
		if flagSet(fs, "steps") {
			n = *steps
		}
		tr, err = train.ResumeTrainer(statePath, trainTok, n, *workers)
	} else {
		opt.Model.VocabSize = tok.VocabSize()
		tr, err = train.NewTrainer(opt, trainTok)
	}
	if err != nil {
		return err
	}
	defer tr.Close()
	opt = tr.Options()
	c := opt.Model
	fmt.Fprintf(stdout, "model: dim %d, hidden %d, layers %d, heads %d, kv-heads %d, vocab %d, seq-len %d: %d parameters; %d steps of %d×%d tokens, %d workers\n",
		c.Dim, c.HiddenDim, c.Layers, c.Heads, c.KVHeads, c.VocabSize, c.SeqLen, c.NumParams(), opt.Steps, opt.Batch, c.SeqLen, opt.Workers)

	save := func() error {
		if err := tr.SaveState(statePath); err != nil {
			return err
		}
		return train.SaveCheckpoint(modelPath, c, tr.Params)
	}
	loopStart := time.Now()
	firstStep := tr.StepsDone()
	var tokens int
	var lossSum float64
	var lossN int
	for tr.StepsDone() < opt.Steps {
		if err := ctx.Err(); err != nil {
			if err := save(); err != nil {
				return err
			}
			fmt.Fprintf(stdout, "interrupted at step %d; state saved, continue with --resume\n", tr.StepsDone())
			return nil
		}
		r := tr.Step()
		tokens += r.Tokens
		lossSum += r.Loss
		lossN++
		if r.Step%*logEvery == 0 || r.Step == opt.Steps {
			el := time.Since(loopStart)
			done := r.Step - firstStep
			eta := time.Duration(float64(el) / float64(done) * float64(opt.Steps-r.Step))
			fmt.Fprintf(stdout, "step %5d/%d | loss %.4f | lr %.2e | grad %.2f | %.0f tok/s | elapsed %s | ETA %s\n",
				r.Step, opt.Steps, lossSum/float64(lossN), r.LR, r.GradNorm, float64(tokens)/el.Seconds(),
				el.Round(time.Second), eta.Round(time.Second))
			lossSum, lossN = 0, 0
		}
		if *evalEvery > 0 && r.Step%*evalEvery == 0 && r.Step != opt.Steps {
			fmt.Fprintf(stdout, "step %5d | val loss %.4f (estimate)\n", r.Step, tr.Eval(valTok, 16))
		}
		if r.Step%*saveEvery == 0 {
			if err := save(); err != nil {
				return err
			}
		}
	}
	if err := save(); err != nil {
		return err
	}
	trainTime := time.Since(loopStart)
	valLoss := tr.Eval(valTok, 0)
	trainLoss := tr.Eval(trainTok[:min(len(trainTok), len(valTok))], 0)
	fmt.Fprintf(stdout, "done: %d steps in %s (this session; total %s)\n", opt.Steps, trainTime.Round(time.Second), time.Since(start).Round(time.Second))
	fmt.Fprintf(stdout, "train loss %.4f | val loss %.4f | unigram baseline %.4f nats/token (val perplexity %.2f)\n",
		trainLoss, valLoss, train.UnigramEntropy(valTok), math.Exp(valLoss))
	fmt.Fprintf(stdout, "wrote %s and %s\n", modelPath, tokPath)
	prompts := []string{"Once upon a time", "Once upon a time, there was a little dog named", "One day, Lily went to the park"}
	enc := tok.NewEncoder()
	dec := train.NewDecoder(c, tr.Params)
	for i := 0; i < *samples && i < len(prompts); i++ {
		ids := dec.Greedy(enc.Encode(nil, prompts[i], true), c.SeqLen)
		fmt.Fprintf(stdout, "\nsample %d: %s%s\n", i+1, prompts[i], strings.TrimRight(tok.DecodeAfter(ids), "\n"))
	}
	return nil
}

// corpusSettings are the corpus flags of a run, kept in DIR/corpus.json.
type corpusSettings struct {
	Stories int     `json:"stories"`
	ValFrac float64 `json:"val_frac"`
}

// flagSet reports whether name was given on the command line.
func flagSet(fs *flag.FlagSet, name string) bool {
	set := false
	fs.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}
