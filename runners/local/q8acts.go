package local

import (
	"encoding/binary"
	"math"
	"runtime"
	"sync"
	"unsafe"
)

// q8Acts holds a batch of activations quantized for the Q8_0 kernels:
// int8-range values in groups of gs with one scale each, in the layout the
// build's kernels read. Natural: q[b*cols+i], s[b*ng+g]. Packed (the VNNI
// kernels): x8, corr and s in the packed layout described below.
type q8Acts struct {
	q      []int16
	x8     []int8
	corr   []int32 // packed: -128 × the group's sum of x8
	s      []float32
	packed bool
}

// newQ8Acts sizes buffers for maxB inputs of up to maxCols values in
// groups of at least gs.
func newQ8Acts(maxB, maxCols, gs int) *q8Acts {
	ng := maxCols / gs
	a := &q8Acts{
		q: make([]int16, maxB*maxCols),
		s: make([]float32, maxB*packedMetaLen(ng)),
	}
	if packQ8OK(gs) {
		a.x8 = make([]int8, maxB*maxCols)
		a.corr = make([]int32, maxB*packedMetaLen(ng))
	}
	return a
}

// quantize quantizes nb inputs of cols values (x) in groups of gs, packed
// when the build's kernels take that layout for gs.
func (a *q8Acts) quantize(x []float32, nb, cols, gs int) {
	a.packed = packQ8OK(gs) && a.x8 != nil
	if !a.packed {
		quantizeQ8(x[:nb*cols], a.q, a.s, gs)
		return
	}
	quantizeQ8Packed(x, nb, cols, gs, a.x8, a.corr, a.s)
}

// q8GroupScale returns a group's scale (max |x| / 127, as llama2.c's
// runq.c) and its inverse (0 for an all-zero group).
func q8GroupScale(grp []float32) (scale, inv float32) {
	var wmax float32
	for _, v := range grp {
		wmax = max(wmax, float32(math.Abs(float64(v))))
	}
	scale = wmax / 127
	if scale != 0 {
		inv = 1 / scale
	}
	return scale, inv
}

// q8Round is v·inv rounded half away from zero (math.Round), without its
// branches: t ± 0.5 is exact in float64 for a float32 t.
func q8Round(v, inv float32) int16 {
	t := float64(v * inv)
	return int16(t + math.Copysign(0.5, t))
}

// quantizeQ8 quantizes x into groups of gs values in the int8 range (held
// as int16 for the kernels) with a scale each.
func quantizeQ8(x []float32, q []int16, s []float32, gs int) {
	for g, j := 0, 0; j < len(x); g, j = g+1, j+gs {
		grp := x[j : j+gs : j+gs]
		scale, inv := q8GroupScale(grp)
		s[g] = scale
		qg := q[j : j+gs : j+gs]
		for k, v := range grp {
			qg[k] = q8Round(v, inv)
		}
	}
}

// The packed Q8_0 layout (VNNI kernels). A row's groups go in blocks of
// eight: block k holds gs/4 vectors of 32 bytes, vector v holding bytes
// 4v..4v+3 of each of the block's eight groups, so one byte dot product
// per vector leaves each group's partial sum in its own int32 lane and a
// block ends with its eight group sums in eight lanes, no reduction. The
// ng%8 groups past the last block follow in natural order. Weights are
// stored offset by 128 (unsigned bytes, as the dot product takes them);
// each input carries -128 × its group sums in corr to take that back.
//
// A batch of inputs is laid out in kernel groups (packedGroup): within a
// group of w inputs, 32-byte vector v of member j sits at
// ((v*w)+j)*32 from the group's start, so a kernel reads every member's
// vector at fixed offsets from one pointer. Scales and corrections, eight
// groups to a vector (the last one padded), are interleaved the same way.

// packedMetaLen is the padded number of scales per input for ng groups.
func packedMetaLen(ng int) int { return (ng + 7) &^ 7 }

// packedGroup returns the first input and width of the kernel group that
// input b of nb belongs to: fours, then singles.
func packedGroup(b, nb int) (b0, w int) {
	if b < nb&^3 {
		return b &^ 3, 4
	}
	return b, 1
}

// quantizeQ8Packed is quantizeQ8 for nb inputs of cols values into the
// packed layout (same values and scales).
func quantizeQ8Packed(x []float32, nb, cols, gs int, x8 []int8, corr []int32, s []float32) {
	ng := cols / gs
	nblk, nm := ng/8, packedMetaLen(ng)
	var tmp [maxQ8Group]int8
	for b := 0; b < nb; b++ {
		b0, w := packedGroup(b, nb)
		j := b - b0
		xb := x[b*cols : (b+1)*cols]
		xbase, mbase := b0*cols, b0*nm
		for g := 0; g < ng; g++ {
			q := tmp[:gs]
			scale, sum := quantizeGroup(xb[g*gs:(g+1)*gs], q)
			mi := mbase + ((g/8)*w+j)*8 + g%8
			corr[mi] = -128 * sum
			s[mi] = scale
			if g < 8*nblk {
				// Bytes 4v..4v+3 go to vector (g/8)·gs/4 + v, lane g%8.
				at := xbase + ((g/8)*(gs/4)*w+j)*32 + (g%8)*4
				for v := 0; v < gs; v += 4 {
					*(*[4]int8)(x8[at:]) = *(*[4]int8)(q[v:])
					at += 32 * w
				}
				continue
			}
			at := xbase + (g*gs/32*w+j)*32
			for c := 0; c < gs; c += 32 {
				*(*[32]int8)(x8[at:]) = *(*[32]int8)(q[c:])
				at += 32 * w
			}
		}
	}
}

// maxQ8Group bounds the group size of packed Q8_0 matrices.
const maxQ8Group = 256

// quantizeGroupGeneric quantizes one group as quantizeQ8 does, into q,
// returning its scale and the sum of its values.
func quantizeGroupGeneric(x []float32, q []int8) (scale float32, sum int32) {
	scale, inv := q8GroupScale(x)
	q = q[:len(x)]
	for k, v := range x {
		r := q8Round(v, inv)
		q[k] = int8(r)
		sum += int32(r)
	}
	return scale, sum
}

// packQ8 sets m.u to m's weights in the packed layout (offset by 128),
// rows split over the CPUs (~1.2 GB/s on this machine's two cores: a 7B
// checkpoint takes about 6 s).
func packQ8(m *matrix) {
	cols, gs := m.cols, m.gs
	nb := cols / gs / 8 * 8 * gs // bytes of a row in whole blocks
	src := unsafe.Slice((*uint8)(unsafe.Pointer(unsafe.SliceData(m.q))), len(m.q))
	u := make([]uint8, len(m.q))
	parts := min(runtime.GOMAXPROCS(0), max(1, m.rows/64))
	var wg sync.WaitGroup
	for p := 0; p < parts; p++ {
		lo, hi := m.rows*p/parts, m.rows*(p+1)/parts
		wg.Add(1)
		go func() {
			defer wg.Done()
			for r := lo; r < hi; r++ {
				row, dst := src[r*cols:(r+1)*cols], u[r*cols:(r+1)*cols]
				for j := 0; j < nb; j += 8 * gs {
					// Block j: bytes 4v..4v+3 of its group g to j + 32v + 4g.
					for g := 0; g < 8; g++ {
						grp := row[j+g*gs : j+(g+1)*gs]
						for v, at := 0, j+4*g; v < gs; v, at = v+4, at+32 {
							binary.LittleEndian.PutUint32(dst[at:], binary.LittleEndian.Uint32(grp[v:])^0x80808080)
						}
					}
				}
				for i := nb; i < cols; i++ {
					dst[i] = row[i] ^ 0x80
				}
			}
		}()
	}
	wg.Wait()
	m.u = u
}
