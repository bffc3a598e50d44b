package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestTrainCommand(t *testing.T) {
	dir := t.TempDir()
	args := []string{"--out", dir, "--dim", "16", "--layers", "1", "--heads", "2", "--kv-heads", "1",
		"--seq-len", "32", "--vocab", "340", "--steps", "4", "--batch", "2", "--stories", "60",
		"--log-every", "2", "--save-every", "2", "--eval-every", "2", "--samples", "1", "--workers", "2"}
	var out, errOut bytes.Buffer
	if err := trainCmd(context.Background(), args, &out, &errOut); err != nil {
		t.Fatalf("train: %v\n%s", err, errOut.String())
	}
	for _, want := range []string{"step     2/4 | loss", "tok/s", "ETA", "val loss", "unigram baseline", "sample 1: Once upon a time"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
	for _, f := range []string{"model.bin", "tokenizer.bin", "state.bin"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Error(err)
		}
	}

	out.Reset()
	if err := trainCmd(context.Background(), []string{"--out", dir, "--resume", "--steps", "6", "--samples", "0"}, &out, &errOut); err != nil {
		t.Fatalf("train --resume: %v", err)
	}
	if !strings.Contains(out.String(), "resuming") || !strings.Contains(out.String(), "step     6/6") {
		t.Errorf("resumed output:\n%s", out.String())
	}
}

func TestTrainCommandCancelSavesState(t *testing.T) {
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var out bytes.Buffer
	args := []string{"--out", dir, "--dim", "16", "--layers", "1", "--heads", "2", "--seq-len", "16", "--vocab", "340", "--stories", "40", "--steps", "3"}
	if err := trainCmd(ctx, args, &out, &out); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "interrupted at step 0") {
		t.Errorf("output:\n%s", out.String())
	}
	if _, err := os.Stat(filepath.Join(dir, "state.bin")); err != nil {
		t.Error(err)
	}
}

func TestTrainCommandUsage(t *testing.T) {
	for _, args := range [][]string{
		{},
		{"--out", t.TempDir(), "--dim", "30", "--heads", "4"},
		{"--out", t.TempDir(), "--val-frac", "0"},
		{"--out", t.TempDir(), "extra"},
	} {
		var out bytes.Buffer
		err := trainCmd(context.Background(), args, &out, &out)
		var ue usageError
		if !errors.As(err, &ue) {
			t.Errorf("trainCmd(%q) = %v, want a usage error", args, err)
		}
	}
}
