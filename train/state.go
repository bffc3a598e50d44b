package train

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
)

// stateMagic starts a training-state file: a resumable snapshot holding
// the options, the completed step count, the batch sampler's RNG, the
// weights and AdamW's moments.
const stateMagic = "AITRAIN1"

type stateHeader struct {
	Options Options
	Step    int
}

// SaveState writes the trainer's full state to path atomically.
func (t *Trainer) SaveState(path string) error {
	return writeFileAtomic(path, func(w io.Writer) error {
		bw := bufio.NewWriterSize(w, 1<<16)
		hdr, err := json.Marshal(stateHeader{Options: t.opt, Step: t.step})
		if err != nil {
			return err
		}
		rng, err := t.pcg.MarshalBinary()
		if err != nil {
			return err
		}
		bw.WriteString(stateMagic)
		binary.Write(bw, binary.LittleEndian, uint32(len(hdr)))
		bw.Write(hdr)
		binary.Write(bw, binary.LittleEndian, uint32(len(rng)))
		bw.Write(rng)
		for _, v := range [][]float32{t.Params, t.adam.M, t.adam.V} {
			if err := writeF32s(bw, v); err != nil {
				return err
			}
		}
		return bw.Flush()
	})
}

// ReadStateOptions returns the options stored in a state file.
func ReadStateOptions(path string) (Options, error) {
	st, err := readState(path)
	if err != nil {
		return Options{}, err
	}
	return st.hdr.Options, nil
}

type savedState struct {
	hdr     stateHeader
	rng     []byte
	weights []byte
}

func readState(path string) (*savedState, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	bad := func(what string) error { return fmt.Errorf("train: state %s: %s", path, what) }
	if len(data) < len(stateMagic)+4 || string(data[:len(stateMagic)]) != stateMagic {
		return nil, bad("not a training state file")
	}
	off := len(stateMagic)
	n := int(binary.LittleEndian.Uint32(data[off:]))
	off += 4
	if n > len(data)-off {
		return nil, bad("truncated header")
	}
	var st savedState
	if err := json.Unmarshal(data[off:off+n], &st.hdr); err != nil {
		return nil, bad(err.Error())
	}
	off += n
	if len(data)-off < 4 {
		return nil, bad("truncated")
	}
	n = int(binary.LittleEndian.Uint32(data[off:]))
	off += 4
	if n > len(data)-off {
		return nil, bad("truncated rng")
	}
	st.rng = data[off : off+n]
	off += n
	if err := st.hdr.Options.Model.Validate(); err != nil {
		return nil, err
	}
	if want := 3 * 4 * st.hdr.Options.Model.NumParams(); len(data)-off != want {
		return nil, bad(fmt.Sprintf("%d weight bytes, want %d", len(data)-off, want))
	}
	st.weights = data[off:]
	return &st, nil
}

// ResumeTrainer restores a trainer from a state file written by
// SaveState, over the same training tokens. steps > 0 replaces the total
// step count (which changes the learning-rate schedule); otherwise the
// continuation is bit-identical to the uninterrupted run.
func ResumeTrainer(path string, data []uint16, steps, workers int) (*Trainer, error) {
	st, err := readState(path)
	if err != nil {
		return nil, err
	}
	opt := st.hdr.Options
	if steps > 0 {
		opt.Steps = steps
	}
	opt.Workers = workers
	t, err := NewTrainer(opt, data)
	if err != nil {
		return nil, err
	}
	if err := t.pcg.UnmarshalBinary(st.rng); err != nil {
		t.Close()
		return nil, errors.Join(errors.New("train: state rng"), err)
	}
	np := len(t.Params)
	t.Params = readF32s(st.weights, np)
	t.adam.M = readF32s(st.weights[4*np:], np)
	t.adam.V = readF32s(st.weights[8*np:], np)
	t.step = st.hdr.Step
	return t, nil
}

// TokenizeStories encodes each story with BOS first, as llama2.c's
// pretokenization does, and concatenates them.
func TokenizeStories(tok *Tokenizer, stories []string) []uint16 {
	enc := tok.NewEncoder()
	var ids []int
	var out []uint16
	for _, s := range stories {
		ids = enc.Encode(ids[:0], s, true)
		for _, id := range ids {
			out = append(out, uint16(id))
		}
	}
	return out
}
