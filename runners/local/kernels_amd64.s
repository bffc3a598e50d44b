//go:build amd64 && !purego

#include "textflag.h"

// AVX2 + FMA kernels for amd64. Each processes a prefix whose length is a
// multiple of 8 (32 for Q8_0 groups); the Go wrappers in kernels_amd64.go
// add the tails. Every fp32 product keeps one 8-wide accumulator per
// (row, input) pair, reduced by HSUM8, so one input's sum does not depend
// on which other inputs share the pass.

// HSUM8 leaves in the low lane of X the sum of the 8 lanes of Y (X its low
// half) as ((t0+t1)+(t2+t3)) with t = low half + high half. T is scratch.
#define HSUM8(Y, X, T) \
	VEXTRACTF128 $1, Y, T; \
	VADDPS       T, X, X; \
	VMOVSHDUP    X, T; \
	VADDPS       T, X, X; \
	VMOVHLPS     X, T, T; \
	VADDSS       T, X, X

// Q8SCALE1 ends a Q8_0 group for one input: the int32 lanes of Y3,
// converted, times ws[g]·xs[g] ((BX), (DX)), are added to Y5.
#define Q8SCALE1 \
	VCVTDQ2PS    Y3, Y3; \
	VMOVSS       (BX), X4; \
	VMULSS       (DX), X4, X4; \
	VBROADCASTSS X4, Y4; \
	VFMADD231PS  Y4, Y3, Y5

// Q8SCALE4 ends a Q8_0 group for four inputs: the int32 lanes of Y4-Y7,
// converted, times ws[g] (BX) and each input's xs[g] ((DX), R13 bytes
// apart), are added to Y0-Y3. Clobbers X8, X9, R9.
#define Q8SCALE4 \
	VMOVSS       (BX), X8; \
	VCVTDQ2PS    Y4, Y4; \
	VMULSS       (DX), X8, X9; \
	VBROADCASTSS X9, Y9; \
	VFMADD231PS  Y9, Y4, Y0; \
	VCVTDQ2PS    Y5, Y5; \
	VMULSS       (DX)(R13*1), X8, X9; \
	VBROADCASTSS X9, Y9; \
	VFMADD231PS  Y9, Y5, Y1; \
	VCVTDQ2PS    Y6, Y6; \
	VMULSS       (DX)(R13*2), X8, X9; \
	VBROADCASTSS X9, Y9; \
	VFMADD231PS  Y9, Y6, Y2; \
	LEAQ         (R13)(R13*2), R9; \
	VCVTDQ2PS    Y7, Y7; \
	VMULSS       (DX)(R9*1), X8, X9; \
	VBROADCASTSS X9, Y9; \
	VFMADD231PS  Y9, Y7, Y3

// STORE4 stores the lane sums of Y0-Y3 as four float32s at P. Clobbers X8.
#define STORE4(P) \
	HSUM8(Y0, X0, X8); \
	MOVSS X0, 0(P); \
	HSUM8(Y1, X1, X8); \
	MOVSS X1, 4(P); \
	HSUM8(Y2, X2, X8); \
	MOVSS X2, 8(P); \
	HSUM8(Y3, X3, X8); \
	MOVSS X3, 12(P)

// func dotF32AVX2(w, x *float32, n int) float32
TEXT ·dotF32AVX2(SB), NOSPLIT, $0-28
	MOVQ w+0(FP), SI
	MOVQ x+8(FP), DI
	MOVQ n+16(FP), CX
	SHLQ $2, CX
	XORQ AX, AX
	VXORPS Y0, Y0, Y0

dot1loop:
	VMOVUPS     (SI)(AX*1), Y1
	VFMADD231PS (DI)(AX*1), Y1, Y0
	ADDQ        $32, AX
	CMPQ        AX, CX
	JB          dot1loop
	HSUM8(Y0, X0, X1)
	VZEROUPPER
	MOVSS       X0, ret+24(FP)
	RET

// func axpyF32AVX2(a float32, x, y *float32, n int)
TEXT ·axpyF32AVX2(SB), NOSPLIT, $0-32
	VBROADCASTSS a+0(FP), Y0
	MOVQ         x+8(FP), SI
	MOVQ         y+16(FP), DI
	MOVQ         n+24(FP), CX
	SHLQ         $2, CX
	XORQ         AX, AX

axpyloop:
	VMOVUPS     (SI)(AX*1), Y1
	VFMADD213PS (DI)(AX*1), Y0, Y1
	VMOVUPS     Y1, (DI)(AX*1)
	ADDQ        $32, AX
	CMPQ        AX, CX
	JB          axpyloop
	VZEROUPPER
	RET

// func dotQ8AVX2(q *int8, ws *float32, xq *int16, xs *float32, n, gs int) float32
// gs is a multiple of 32 and n of gs.
TEXT ·dotQ8AVX2(SB), NOSPLIT, $0-52
	MOVQ q+0(FP), SI
	MOVQ ws+8(FP), BX
	MOVQ xq+16(FP), DI
	MOVQ xs+24(FP), DX
	MOVQ n+32(FP), CX
	MOVQ gs+40(FP), R8
	XORQ AX, AX
	VXORPS Y5, Y5, Y5

q1group:
	LEAQ  (AX)(R8*1), R9
	VPXOR Y3, Y3, Y3

q1inner:
	VPMOVSXBW (SI)(AX*1), Y1
	VPMOVSXBW 16(SI)(AX*1), Y2
	VPMADDWD  (DI)(AX*2), Y1, Y1
	VPMADDWD  32(DI)(AX*2), Y2, Y2
	VPADDD    Y1, Y3, Y3
	VPADDD    Y2, Y3, Y3
	ADDQ      $32, AX
	CMPQ      AX, R9
	JB        q1inner
	Q8SCALE1
	ADDQ         $4, BX
	ADDQ         $4, DX
	CMPQ         AX, CX
	JB           q1group
	HSUM8(Y5, X5, X6)
	VZEROUPPER
	MOVSS        X5, ret+48(FP)
	RET

// func dotQ8x4AVX2(q *int8, ws *float32, xq *int16, xs *float32, n, gs, ng int, out *[4]float32)
// Four inputs back to back: xq holds n values each, xs ng = n/gs scales each.
TEXT ·dotQ8x4AVX2(SB), NOSPLIT, $0-64
	MOVQ q+0(FP), SI
	MOVQ ws+8(FP), BX
	MOVQ xq+16(FP), DI
	MOVQ xs+24(FP), DX
	MOVQ n+32(FP), CX
	MOVQ gs+40(FP), R8
	LEAQ (DI)(CX*2), R10
	LEAQ (R10)(CX*2), R11
	LEAQ (R11)(CX*2), R12
	MOVQ ng+48(FP), R13
	SHLQ $2, R13        // bytes between the inputs' scales
	XORQ AX, AX
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3

q4group:
	LEAQ  (AX)(R8*1), R9
	VPXOR Y4, Y4, Y4
	VPXOR Y5, Y5, Y5
	VPXOR Y6, Y6, Y6
	VPXOR Y7, Y7, Y7

q4inner:
	VPMOVSXBW (SI)(AX*1), Y8
	VPMOVSXBW 16(SI)(AX*1), Y9
	VPMADDWD  (DI)(AX*2), Y8, Y10
	VPMADDWD  32(DI)(AX*2), Y9, Y11
	VPADDD    Y10, Y4, Y4
	VPADDD    Y11, Y4, Y4
	VPMADDWD  (R10)(AX*2), Y8, Y10
	VPMADDWD  32(R10)(AX*2), Y9, Y11
	VPADDD    Y10, Y5, Y5
	VPADDD    Y11, Y5, Y5
	VPMADDWD  (R11)(AX*2), Y8, Y10
	VPMADDWD  32(R11)(AX*2), Y9, Y11
	VPADDD    Y10, Y6, Y6
	VPADDD    Y11, Y6, Y6
	VPMADDWD  (R12)(AX*2), Y8, Y10
	VPMADDWD  32(R12)(AX*2), Y9, Y11
	VPADDD    Y10, Y7, Y7
	VPADDD    Y11, Y7, Y7
	ADDQ      $32, AX
	CMPQ      AX, R9
	JB        q4inner
	Q8SCALE4
	ADDQ         $4, BX
	ADDQ         $4, DX
	CMPQ         AX, CX
	JB           q4group
	MOVQ         out+56(FP), DI
	STORE4(DI)
	VZEROUPPER
	RET

// func mv1F32AVX2(w *float32, rows, cols int, x, o *float32)
// o[r] = w[r]·x for r < rows (w row-major, cols a positive multiple of 8).
// (Four rows interleaved, four accumulator chains, measured slower: the
// single-sequence decode is bound by the weight stream, not the chain.)
TEXT ·mv1F32AVX2(SB), NOSPLIT, $0-40
	MOVQ w+0(FP), SI
	MOVQ rows+8(FP), R13
	MOVQ cols+16(FP), CX
	MOVQ x+24(FP), DI
	MOVQ o+32(FP), R12
	SHLQ $2, CX

mv1row:
	CMPQ   R13, $0
	JE     mv1done
	VXORPS Y0, Y0, Y0
	XORQ   AX, AX

mv1loop:
	VMOVUPS     (DI)(AX*1), Y4
	VFMADD231PS (SI)(AX*1), Y4, Y0
	ADDQ        $32, AX
	CMPQ        AX, CX
	JB          mv1loop
	HSUM8(Y0, X0, X5)
	MOVSS       X0, 0(R12)
	ADDQ        CX, SI
	ADDQ        $4, R12
	DECQ        R13
	JMP         mv1row

mv1done:
	VZEROUPPER
	RET

// func mv24F32AVX2(w *float32, rows, cols int, xs, outs *[maxBatchLimit]*float32, groups int)
// For rows (even) rows of w from its start, two at a time, and each group
// g < groups of four inputs xs[4g..4g+3]: outs[b][r] = w[r]·xs[b]. The rows
// stay in L1 while every group passes over them.
TEXT ·mv24F32AVX2(SB), NOSPLIT, $0-48
	MOVQ w+0(FP), SI
	MOVQ rows+8(FP), R13
	MOVQ cols+16(FP), CX
	SHLQ $2, CX
	SHLQ $2, R13             // output bytes
	XORQ BX, BX              // output byte offset of row r

mv24row:
	CMPQ BX, R13
	JAE  mv24done
	LEAQ (SI)(CX*1), DX      // row r+1
	XORQ R12, R12            // byte offset of group g in xs, os

mv24group:
	MOVQ   xs+24(FP), DI
	MOVQ   0(DI)(R12*1), R8
	MOVQ   8(DI)(R12*1), R9
	MOVQ   16(DI)(R12*1), R10
	MOVQ   24(DI)(R12*1), R11
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	VXORPS Y4, Y4, Y4
	VXORPS Y5, Y5, Y5
	VXORPS Y6, Y6, Y6
	VXORPS Y7, Y7, Y7
	XORQ   AX, AX

mv24loop:
	VMOVUPS     (SI)(AX*1), Y8
	VMOVUPS     (DX)(AX*1), Y9
	VMOVUPS     (R8)(AX*1), Y10
	VFMADD231PS Y10, Y8, Y0
	VFMADD231PS Y10, Y9, Y4
	VMOVUPS     (R9)(AX*1), Y11
	VFMADD231PS Y11, Y8, Y1
	VFMADD231PS Y11, Y9, Y5
	VMOVUPS     (R10)(AX*1), Y10
	VFMADD231PS Y10, Y8, Y2
	VFMADD231PS Y10, Y9, Y6
	VMOVUPS     (R11)(AX*1), Y11
	VFMADD231PS Y11, Y8, Y3
	VFMADD231PS Y11, Y9, Y7
	ADDQ        $32, AX
	CMPQ        AX, CX
	JB          mv24loop
	MOVQ        outs+32(FP), DI
	MOVQ        0(DI)(R12*1), R8
	HSUM8(Y0, X0, X8)
	MOVSS       X0, 0(R8)(BX*1)
	HSUM8(Y4, X4, X8)
	MOVSS       X4, 4(R8)(BX*1)
	MOVQ        8(DI)(R12*1), R8
	HSUM8(Y1, X1, X8)
	MOVSS       X1, 0(R8)(BX*1)
	HSUM8(Y5, X5, X8)
	MOVSS       X5, 4(R8)(BX*1)
	MOVQ        16(DI)(R12*1), R8
	HSUM8(Y2, X2, X8)
	MOVSS       X2, 0(R8)(BX*1)
	HSUM8(Y6, X6, X8)
	MOVSS       X6, 4(R8)(BX*1)
	MOVQ        24(DI)(R12*1), R8
	HSUM8(Y3, X3, X8)
	MOVSS       X3, 0(R8)(BX*1)
	HSUM8(Y7, X7, X8)
	MOVSS       X7, 4(R8)(BX*1)
	ADDQ        $32, R12
	MOVQ        groups+40(FP), R8
	SHLQ        $5, R8
	CMPQ        R12, R8
	JB          mv24group
	LEAQ        (DX)(CX*1), SI
	ADDQ        $8, BX
	JMP         mv24row

mv24done:
	VZEROUPPER
	RET

// func attnScoresAVX2(q, k *float32, stride, n, hs int, scale float32, out *float32)
// out[t] = (q·k[t*stride:][:hs]) / scale for t < n; hs a positive multiple
// of 8, stride in floats. Four positions at a time (independent chains),
// each summed as dotF32AVX2 sums.
TEXT ·attnScoresAVX2(SB), NOSPLIT, $0-56
	MOVQ   q+0(FP), DI
	MOVQ   k+8(FP), SI
	MOVQ   stride+16(FP), DX
	MOVQ   n+24(FP), R13
	MOVQ   hs+32(FP), CX
	MOVSS  scale+40(FP), X7
	MOVQ   out+48(FP), R12
	SHLQ   $2, DX
	SHLQ   $2, CX

scoresquad:
	CMPQ   R13, $4
	JB     scoresrow
	LEAQ   (SI)(DX*1), R8
	LEAQ   (SI)(DX*2), R9
	LEAQ   (R8)(DX*2), R10
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	XORQ   AX, AX

scoresquadloop:
	VMOVUPS     (DI)(AX*1), Y4
	VFMADD231PS (SI)(AX*1), Y4, Y0
	VFMADD231PS (R8)(AX*1), Y4, Y1
	VFMADD231PS (R9)(AX*1), Y4, Y2
	VFMADD231PS (R10)(AX*1), Y4, Y3
	ADDQ        $32, AX
	CMPQ        AX, CX
	JB          scoresquadloop
	HSUM8(Y0, X0, X5)
	VDIVSS      X7, X0, X0
	MOVSS       X0, 0(R12)
	HSUM8(Y1, X1, X5)
	VDIVSS      X7, X1, X1
	MOVSS       X1, 4(R12)
	HSUM8(Y2, X2, X5)
	VDIVSS      X7, X2, X2
	MOVSS       X2, 8(R12)
	HSUM8(Y3, X3, X5)
	VDIVSS      X7, X3, X3
	MOVSS       X3, 12(R12)
	LEAQ        (R10)(DX*1), SI
	ADDQ        $16, R12
	SUBQ        $4, R13
	JMP         scoresquad

scoresrow:
	CMPQ   R13, $0
	JE     scoresdone
	VXORPS Y0, Y0, Y0
	XORQ   AX, AX

scoresloop:
	VMOVUPS     (DI)(AX*1), Y1
	VFMADD231PS (SI)(AX*1), Y1, Y0
	ADDQ        $32, AX
	CMPQ        AX, CX
	JB          scoresloop
	HSUM8(Y0, X0, X1)
	VDIVSS      X7, X0, X0
	MOVSS       X0, 0(R12)
	ADDQ        DX, SI
	ADDQ        $4, R12
	DECQ        R13
	JMP         scoresrow

scoresdone:
	VZEROUPPER
	RET

// func attnValuesAVX2(a, v *float32, stride, n, hs int, out *float32)
// out[i] += a[t]*v[t*stride+i] for t < n in order, i < hs (hs a positive
// multiple of 8, stride in floats): each out value takes the same fused
// multiply-adds as n axpy calls.
TEXT ·attnValuesAVX2(SB), NOSPLIT, $0-48
	MOVQ a+0(FP), R8
	MOVQ v+8(FP), SI
	MOVQ stride+16(FP), DX
	MOVQ n+24(FP), R13
	MOVQ hs+32(FP), CX
	MOVQ out+40(FP), DI
	SHLQ $2, DX
	SHLQ $2, CX
	XORQ BX, BX              // byte offset of the current chunk of out

valueschunk4:
	LEAQ    128(BX), AX
	CMPQ    AX, CX
	JA      valueschunk1
	VMOVUPS 0(DI)(BX*1), Y0
	VMOVUPS 32(DI)(BX*1), Y1
	VMOVUPS 64(DI)(BX*1), Y2
	VMOVUPS 96(DI)(BX*1), Y3
	LEAQ    (SI)(BX*1), R9
	XORQ    R10, R10

values4loop:
	CMPQ         R10, R13
	JAE          values4store
	VBROADCASTSS (R8)(R10*4), Y4
	VFMADD231PS  0(R9), Y4, Y0
	VFMADD231PS  32(R9), Y4, Y1
	VFMADD231PS  64(R9), Y4, Y2
	VFMADD231PS  96(R9), Y4, Y3
	ADDQ         DX, R9
	INCQ         R10
	JMP          values4loop

values4store:
	VMOVUPS Y0, 0(DI)(BX*1)
	VMOVUPS Y1, 32(DI)(BX*1)
	VMOVUPS Y2, 64(DI)(BX*1)
	VMOVUPS Y3, 96(DI)(BX*1)
	ADDQ    $128, BX
	JMP     valueschunk4

valueschunk1:
	CMPQ    BX, CX
	JAE     valuesdone
	VMOVUPS 0(DI)(BX*1), Y0
	LEAQ    (SI)(BX*1), R9
	XORQ    R10, R10

values1loop:
	CMPQ         R10, R13
	JAE          values1store
	VBROADCASTSS (R8)(R10*4), Y4
	VFMADD231PS  0(R9), Y4, Y0
	ADDQ         DX, R9
	INCQ         R10
	JMP          values1loop

values1store:
	VMOVUPS Y0, 0(DI)(BX*1)
	ADDQ    $32, BX
	JMP     valueschunk1

valuesdone:
	VZEROUPPER
	RET

// func touchAVX2(p unsafe.Pointer, n int)
// Reads n bytes (a positive multiple of 256) from p, pulling them into the
// cache; the sums are discarded. (Reading every byte streams faster here
// than touching one vector per line; prefetch instructions did not help.)
TEXT ·touchAVX2(SB), NOSPLIT, $0-16
	MOVQ p+0(FP), SI
	MOVQ n+8(FP), CX
	ADDQ SI, CX
	VXORPS Y4, Y4, Y4

touchloop:
	VADDPS 0(SI), Y4, Y0
	VADDPS 32(SI), Y4, Y1
	VADDPS 64(SI), Y4, Y2
	VADDPS 96(SI), Y4, Y3
	VADDPS 128(SI), Y4, Y0
	VADDPS 160(SI), Y4, Y1
	VADDPS 192(SI), Y4, Y2
	VADDPS 224(SI), Y4, Y3
	ADDQ    $256, SI
	CMPQ    SI, CX
	JB      touchloop
	VZEROUPPER
	RET

// The packed Q8_0 kernels (AVX-512 VNNI on 256-bit registers; layout in
// q8acts.go). A block of eight groups: each member's int32 accumulator
// starts at its corrections (-128 × group sums, undoing the +128 on the
// weights), gets one VPDPBUSD per 32-byte weight vector (unsigned weights ×
// signed activations, four products per lane: each lane is one group), and
// ends with the block's eight exact group sums, converted and multiplied
// by ws·xs into the member's float accumulator. Groups past the last block
// are natural: lane 0 starts at the correction, the lanes are converted
// and scaled like the AVX2 kernels' groups. The single-input kernel splits
// the block's vectors over four accumulators and the four-input one over
// two (integer sums, so exactly the same lanes), to hide the dot product's
// latency; the two-row one loads each activation vector once for both rows.
// Rows end with HSUM8 of the float accumulator.
//
// Frame: u+0 ws+8 rows+16 nblk+24 tail+32 gs+40 x+48 corr+56 xs+64 outs+72.
// Registers: SI weights, BX scales (both run on over the rows), DI
// activations, DX corrections, R8 activation scales (reset per row), CX row,
// AX tail group offset, R9-R11 counters, R12 outs.

// Q8BLOCKSCALE ends a packed block for one (row, input): the exact group
// sums in ACC, converted, times ws (SW) · xs (OFF(R8)), are added to the
// float accumulator F. P is scratch. Every kernel ends every block with it,
// so an input's sums do not depend on which kernel computed them.
#define Q8BLOCKSCALE(OFF, SW, P, ACC, F) \
	VCVTDQ2PS   ACC, ACC; \
	VMULPS      OFF(R8), SW, P; \
	VFMADD231PS P, ACC, F

// Q8TAILSCALE ends a natural group past the blocks for one (row, input):
// ws[g] (XW) · xs[g] (OFF(R8)(AX*1)) times the converted lanes of ACC,
// added to F. XP/YP are scratch (one register).
#define Q8TAILSCALE(OFF, XW, XP, YP, ACC, F) \
	VMULSS       OFF(R8)(AX*1), XW, XP; \
	VBROADCASTSS XP, YP; \
	VCVTDQ2PS    ACC, ACC; \
	VFMADD231PS  YP, ACC, F

// Q8STORE stores the lane sum of F (X its low half) to row CX of the
// output whose pointer is at OFF(R12). Clobbers X0, R13.
#define Q8STORE(F, X, OFF) \
	HSUM8(F, X, X0); \
	MOVQ  OFF(R12), R13; \
	MOVSS X, (R13)(CX*4)

// func q8PackedVNNI1(u *uint8, ws *float32, rows, nblk, tail, gs int, x *int8, corr *int32, xs *float32, outs *[8]*float32)
TEXT ·q8PackedVNNI1(SB), NOSPLIT, $0-80
	MOVQ u+0(FP), SI
	MOVQ ws+8(FP), BX
	MOVQ outs+72(FP), R12
	XORQ CX, CX

p1row:
	MOVQ x+48(FP), DI
	MOVQ corr+56(FP), DX
	MOVQ xs+64(FP), R8
	VXORPS Y8, Y8, Y8
	MOVQ nblk+24(FP), R10
	TESTQ R10, R10
	JZ p1tail

p1blk:
	VMOVDQU (DX), Y0
	VPXOR Y1, Y1, Y1
	VPXOR Y2, Y2, Y2
	VPXOR Y3, Y3, Y3
	MOVQ gs+40(FP), R9
	SHRQ $4, R9

p1vec:
	VMOVDQU 0(SI), Y4
	VPDPBUSD 0(DI), Y4, Y0
	VMOVDQU 32(SI), Y5
	VPDPBUSD 32(DI), Y5, Y1
	VMOVDQU 64(SI), Y6
	VPDPBUSD 64(DI), Y6, Y2
	VMOVDQU 96(SI), Y7
	VPDPBUSD 96(DI), Y7, Y3
	ADDQ $128, SI
	ADDQ $128, DI
	DECQ R9
	JNZ p1vec
	VPADDD Y1, Y0, Y0
	VPADDD Y3, Y2, Y2
	VPADDD Y2, Y0, Y0
	VMOVUPS (BX), Y14
	Q8BLOCKSCALE(0, Y14, Y15, Y0, Y8)
	ADDQ $32, DX
	ADDQ $32, R8
	ADDQ $32, BX
	DECQ R10
	JNZ p1blk

p1tail:
	MOVQ tail+32(FP), R11
	TESTQ R11, R11
	JZ p1store
	XORQ AX, AX

p1tgrp:
	VMOVD 0(DX)(AX*1), X0
	MOVQ gs+40(FP), R9
	SHRQ $5, R9

p1tvec:
	VMOVDQU (SI), Y4
	VPDPBUSD 0(DI), Y4, Y0
	ADDQ $32, SI
	ADDQ $32, DI
	DECQ R9
	JNZ p1tvec
	VMOVSS (BX), X14
	Q8TAILSCALE(0, X14, X15, Y15, Y0, Y8)
	ADDQ $4, BX
	ADDQ $4, AX
	DECQ R11
	JNZ p1tgrp

p1store:
	Q8STORE(Y8, X8, 0)
	INCQ CX
	CMPQ CX, rows+16(FP)
	JB p1row
	VZEROUPPER
	RET

// func q8PackedVNNI4(u *uint8, ws *float32, rows, nblk, tail, gs int, x *int8, corr *int32, xs *float32, outs *[8]*float32)
TEXT ·q8PackedVNNI4(SB), NOSPLIT, $0-80
	MOVQ u+0(FP), SI
	MOVQ ws+8(FP), BX
	MOVQ outs+72(FP), R12
	XORQ CX, CX

p4row:
	MOVQ x+48(FP), DI
	MOVQ corr+56(FP), DX
	MOVQ xs+64(FP), R8
	VXORPS Y8, Y8, Y8
	VXORPS Y9, Y9, Y9
	VXORPS Y10, Y10, Y10
	VXORPS Y11, Y11, Y11
	MOVQ nblk+24(FP), R10
	TESTQ R10, R10
	JZ p4tail

p4blk:
	VMOVDQU 0(DX), Y0
	VMOVDQU 32(DX), Y1
	VMOVDQU 64(DX), Y2
	VMOVDQU 96(DX), Y3
	VPXOR Y4, Y4, Y4
	VPXOR Y5, Y5, Y5
	VPXOR Y6, Y6, Y6
	VPXOR Y7, Y7, Y7
	MOVQ gs+40(FP), R9
	SHRQ $3, R9

p4vec:
	VMOVDQU (SI), Y12
	VPDPBUSD 0(DI), Y12, Y0
	VPDPBUSD 32(DI), Y12, Y1
	VPDPBUSD 64(DI), Y12, Y2
	VPDPBUSD 96(DI), Y12, Y3
	VMOVDQU 32(SI), Y13
	VPDPBUSD 128(DI), Y13, Y4
	VPDPBUSD 160(DI), Y13, Y5
	VPDPBUSD 192(DI), Y13, Y6
	VPDPBUSD 224(DI), Y13, Y7
	ADDQ $64, SI
	ADDQ $256, DI
	DECQ R9
	JNZ p4vec
	VPADDD Y4, Y0, Y0
	VPADDD Y5, Y1, Y1
	VPADDD Y6, Y2, Y2
	VPADDD Y7, Y3, Y3
	VMOVUPS (BX), Y14
	Q8BLOCKSCALE(0, Y14, Y15, Y0, Y8)
	Q8BLOCKSCALE(32, Y14, Y15, Y1, Y9)
	Q8BLOCKSCALE(64, Y14, Y15, Y2, Y10)
	Q8BLOCKSCALE(96, Y14, Y15, Y3, Y11)
	ADDQ $128, DX
	ADDQ $128, R8
	ADDQ $32, BX
	DECQ R10
	JNZ p4blk

p4tail:
	MOVQ tail+32(FP), R11
	TESTQ R11, R11
	JZ p4store
	XORQ AX, AX

p4tgrp:
	VMOVD 0(DX)(AX*1), X0
	VMOVD 32(DX)(AX*1), X1
	VMOVD 64(DX)(AX*1), X2
	VMOVD 96(DX)(AX*1), X3
	MOVQ gs+40(FP), R9
	SHRQ $5, R9

p4tvec:
	VMOVDQU (SI), Y12
	VPDPBUSD 0(DI), Y12, Y0
	VPDPBUSD 32(DI), Y12, Y1
	VPDPBUSD 64(DI), Y12, Y2
	VPDPBUSD 96(DI), Y12, Y3
	ADDQ $32, SI
	ADDQ $128, DI
	DECQ R9
	JNZ p4tvec
	VMOVSS (BX), X14
	Q8TAILSCALE(0, X14, X15, Y15, Y0, Y8)
	Q8TAILSCALE(32, X14, X15, Y15, Y1, Y9)
	Q8TAILSCALE(64, X14, X15, Y15, Y2, Y10)
	Q8TAILSCALE(96, X14, X15, Y15, Y3, Y11)
	ADDQ $4, BX
	ADDQ $4, AX
	DECQ R11
	JNZ p4tgrp

p4store:
	Q8STORE(Y8, X8, 0)
	Q8STORE(Y9, X9, 8)
	Q8STORE(Y10, X10, 16)
	Q8STORE(Y11, X11, 24)
	INCQ CX
	CMPQ CX, rows+16(FP)
	JB p4row
	VZEROUPPER
	RET

// Q8STEP42 is one 32-byte weight vector of the two-row kernel: rows at
// (SI) and (SI)(R13*1) against the four inputs' vectors at (DI), into
// Y0-Y3 (first row) and Y4-Y7 (second).
#define Q8STEP42 \
	VMOVDQU32 (SI), Y16; \
	VMOVDQU32 (SI)(R13*1), Y17; \
	VMOVDQU32 0(DI), Y18; \
	VPDPBUSD Y18, Y16, Y0; \
	VPDPBUSD Y18, Y17, Y4; \
	VMOVDQU32 32(DI), Y19; \
	VPDPBUSD Y19, Y16, Y1; \
	VPDPBUSD Y19, Y17, Y5; \
	VMOVDQU32 64(DI), Y18; \
	VPDPBUSD Y18, Y16, Y2; \
	VPDPBUSD Y18, Y17, Y6; \
	VMOVDQU32 96(DI), Y19; \
	VPDPBUSD Y19, Y16, Y3; \
	VPDPBUSD Y19, Y17, Y7; \
	ADDQ $32, SI; \
	ADDQ $128, DI

// func q8PackedVNNI4R2(u *uint8, ws *float32, rows, nblk, tail, gs int, x *int8, corr *int32, xs *float32, outs *[8]*float32, cols, wsStride int)
// Four inputs and two rows at a time (rows even): each activation vector is
// loaded once for both rows. R13 holds the distance to the second row's
// weights; its scales are wsStride bytes after the first's.
TEXT ·q8PackedVNNI4R2(SB), NOSPLIT, $0-96
	MOVQ u+0(FP), SI
	MOVQ ws+8(FP), BX
	MOVQ outs+72(FP), R12
	MOVQ cols+80(FP), R13
	XORQ CX, CX

p42row:
	MOVQ x+48(FP), DI
	MOVQ corr+56(FP), DX
	MOVQ xs+64(FP), R8
	VXORPS Y8, Y8, Y8
	VXORPS Y9, Y9, Y9
	VXORPS Y10, Y10, Y10
	VXORPS Y11, Y11, Y11
	VXORPS Y12, Y12, Y12
	VXORPS Y13, Y13, Y13
	VXORPS Y14, Y14, Y14
	VXORPS Y15, Y15, Y15
	MOVQ nblk+24(FP), R10
	TESTQ R10, R10
	JZ p42tail

p42blk:
	VMOVDQU 0(DX), Y0
	VMOVDQA Y0, Y4
	VMOVDQU 32(DX), Y1
	VMOVDQA Y1, Y5
	VMOVDQU 64(DX), Y2
	VMOVDQA Y2, Y6
	VMOVDQU 96(DX), Y3
	VMOVDQA Y3, Y7
	MOVQ gs+40(FP), R9
	SHRQ $2, R9

p42vec:
	Q8STEP42
	DECQ R9
	JNZ p42vec
	VMOVUPS (BX), Y20
	MOVQ wsStride+88(FP), R9
	VMOVUPS (BX)(R9*1), Y21
	Q8BLOCKSCALE(0, Y20, Y22, Y0, Y8)
	Q8BLOCKSCALE(0, Y21, Y23, Y4, Y12)
	Q8BLOCKSCALE(32, Y20, Y22, Y1, Y9)
	Q8BLOCKSCALE(32, Y21, Y23, Y5, Y13)
	Q8BLOCKSCALE(64, Y20, Y22, Y2, Y10)
	Q8BLOCKSCALE(64, Y21, Y23, Y6, Y14)
	Q8BLOCKSCALE(96, Y20, Y22, Y3, Y11)
	Q8BLOCKSCALE(96, Y21, Y23, Y7, Y15)
	ADDQ $128, DX
	ADDQ $128, R8
	ADDQ $32, BX
	DECQ R10
	JNZ p42blk

p42tail:
	MOVQ tail+32(FP), R11
	TESTQ R11, R11
	JZ p42store
	XORQ AX, AX

p42tgrp:
	VMOVD 0(DX)(AX*1), X0
	VMOVDQA Y0, Y4
	VMOVD 32(DX)(AX*1), X1
	VMOVDQA Y1, Y5
	VMOVD 64(DX)(AX*1), X2
	VMOVDQA Y2, Y6
	VMOVD 96(DX)(AX*1), X3
	VMOVDQA Y3, Y7
	MOVQ gs+40(FP), R9
	SHRQ $5, R9

p42tvec:
	Q8STEP42
	DECQ R9
	JNZ p42tvec
	VMOVSS (BX), X20
	MOVQ wsStride+88(FP), R9
	VMOVSS (BX)(R9*1), X21
	Q8TAILSCALE(0, X20, X22, Y22, Y0, Y8)
	Q8TAILSCALE(0, X21, X23, Y23, Y4, Y12)
	Q8TAILSCALE(32, X20, X22, Y22, Y1, Y9)
	Q8TAILSCALE(32, X21, X23, Y23, Y5, Y13)
	Q8TAILSCALE(64, X20, X22, Y22, Y2, Y10)
	Q8TAILSCALE(64, X21, X23, Y23, Y6, Y14)
	Q8TAILSCALE(96, X20, X22, Y22, Y3, Y11)
	Q8TAILSCALE(96, X21, X23, Y23, Y7, Y15)
	ADDQ $4, BX
	ADDQ $4, AX
	DECQ R11
	JNZ p42tgrp

p42store:
	MOVQ 0(R12), R9
	HSUM8(Y8, X8, X0)
	MOVSS X8, (R9)(CX*4)
	HSUM8(Y12, X12, X0)
	MOVSS X12, 4(R9)(CX*4)
	MOVQ 8(R12), R9
	HSUM8(Y9, X9, X0)
	MOVSS X9, (R9)(CX*4)
	HSUM8(Y13, X13, X0)
	MOVSS X13, 4(R9)(CX*4)
	MOVQ 16(R12), R9
	HSUM8(Y10, X10, X0)
	MOVSS X10, (R9)(CX*4)
	HSUM8(Y14, X14, X0)
	MOVSS X14, 4(R9)(CX*4)
	MOVQ 24(R12), R9
	HSUM8(Y11, X11, X0)
	MOVSS X11, (R9)(CX*4)
	HSUM8(Y15, X15, X0)
	MOVSS X15, 4(R9)(CX*4)
	ADDQ R13, SI
	MOVQ wsStride+88(FP), R9
	ADDQ R9, BX
	ADDQ $2, CX
	CMPQ CX, rows+16(FP)
	JB p42row
	VZEROUPPER
	RET

// q8permd orders the dwords of two VPACKSSDW + VPACKSSWB results (which
// interleave the 128-bit lanes) back into element order.
DATA q8permd<>+0(SB)/4, $0
DATA q8permd<>+4(SB)/4, $4
DATA q8permd<>+8(SB)/4, $1
DATA q8permd<>+12(SB)/4, $5
DATA q8permd<>+16(SB)/4, $2
DATA q8permd<>+20(SB)/4, $6
DATA q8permd<>+24(SB)/4, $3
DATA q8permd<>+28(SB)/4, $7
GLOBL q8permd<>(SB), RODATA|NOPTR, $32

// func quantQ8GroupAVX2(x *float32, n int, q *int8) (scale float32, sum int32)
// Quantizes one group of n (a positive multiple of 32) values as
// quantizeQ8 does: scale = max |x| / 127, q = x·(1/scale) rounded half away
// from zero (trunc, then ±1 where the exact remainder is at least one
// half), and returns the scale and the sum of q.
TEXT ·quantQ8GroupAVX2(SB), NOSPLIT, $0-32
	MOVQ         x+0(FP), SI
	MOVQ         n+8(FP), CX
	MOVQ         q+16(FP), DI
	SHLQ         $2, CX
	MOVL         $0x7fffffff, AX
	VMOVD        AX, X7
	VPBROADCASTD X7, Y7         // |.| mask
	VXORPS       Y0, Y0, Y0
	XORQ         AX, AX

qmax:
	VANDPS (SI)(AX*1), Y7, Y1
	VMAXPS Y1, Y0, Y0
	ADDQ   $32, AX
	CMPQ   AX, CX
	JB     qmax
	VEXTRACTF128 $1, Y0, X1
	VMAXPS       X1, X0, X0
	VMOVHLPS     X0, X1, X1
	VMAXPS       X1, X0, X0
	VMOVSHDUP    X0, X1
	VMAXSS       X1, X0, X0     // max |x|
	MOVL         $0x42fe0000, AX // 127
	VMOVD        AX, X2
	VDIVSS       X2, X0, X3     // scale
	VMOVSS       X3, scale+24(FP)
	VXORPS       X5, X5, X5
	VXORPS       X6, X6, X6
	VUCOMISS     X6, X3
	JEQ          qzero
	MOVL         $0x3f800000, AX // 1
	VMOVD        AX, X4
	VDIVSS       X3, X4, X5     // 1 / scale

qzero:
	VBROADCASTSS X5, Y5
	MOVL         $0x80000000, AX
	VMOVD        AX, X8
	VPBROADCASTD X8, Y8         // sign mask
	MOVL         $0x3f000000, AX
	VMOVD        AX, X9
	VPBROADCASTD X9, Y9         // 0.5
	MOVL         $0x3f800000, AX
	VMOVD        AX, X10
	VPBROADCASTD X10, Y10       // 1
	VPXOR        Y11, Y11, Y11
	XORQ         AX, AX
	XORQ         BX, BX

// QROUND rounds x·inv for the 8 floats at O(SI)(AX*1) into int32s in R.
#define QROUND(O, R) \
	VMULPS     O(SI)(AX*1), Y5, Y0; \
	VROUNDPS   $3, Y0, Y1; \
	VSUBPS     Y1, Y0, Y2; \
	VANDPS     Y7, Y2, Y2; \
	VCMPPS     $0x1d, Y9, Y2, Y2; \
	VANDPS     Y8, Y0, Y3; \
	VORPS      Y10, Y3, Y3; \
	VANDPS     Y3, Y2, Y2; \
	VADDPS     Y2, Y1, Y1; \
	VCVTTPS2DQ Y1, R; \
	VPADDD     R, Y11, Y11

qloop:
	QROUND(0, Y4)
	QROUND(32, Y6)
	QROUND(64, Y12)
	QROUND(96, Y13)
	VPACKSSDW Y6, Y4, Y14
	VPACKSSDW Y13, Y12, Y15
	VPACKSSWB Y15, Y14, Y14
	VMOVDQU   q8permd<>(SB), Y0
	VPERMD    Y14, Y0, Y14
	VMOVDQU   Y14, (DI)(BX*1)
	ADDQ      $128, AX
	ADDQ      $32, BX
	CMPQ      AX, CX
	JB        qloop
	VEXTRACTI128 $1, Y11, X0
	VPADDD       X0, X11, X11
	VPSHUFD      $0x4e, X11, X0
	VPADDD       X0, X11, X11
	VPSHUFD      $0xb1, X11, X0
	VPADDD       X0, X11, X11
	VMOVD        X11, AX
	MOVL         AX, sum+28(FP)
	VZEROUPPER
	RET

// The exponential of eight floats, for the SwiGLU gate and softmax: n =
// round(x·log2 e), r = x - n·ln 2 (ln 2 split in two, Cody-Waite), e^r by
// its Taylor polynomial of degree 7 (truncation under 4e-9 relative on
// |r| ≤ ln2/2), times 2^n built in the exponent bits. x is clamped to
// [-87, 88] and results below e^-87 are 0; within about 2 ulp of
// math.Exp (TestExpAVX2). The constants are in expc<> as 8-float vectors,
// in the order of the EXPC offsets below.
DATA expc<>+0(SB)/8, $0x3fb8aa3b3fb8aa3b
DATA expc<>+8(SB)/8, $0x3fb8aa3b3fb8aa3b
DATA expc<>+16(SB)/8, $0x3fb8aa3b3fb8aa3b
DATA expc<>+24(SB)/8, $0x3fb8aa3b3fb8aa3b
DATA expc<>+32(SB)/8, $0x3f3180003f318000
DATA expc<>+40(SB)/8, $0x3f3180003f318000
DATA expc<>+48(SB)/8, $0x3f3180003f318000
DATA expc<>+56(SB)/8, $0x3f3180003f318000
DATA expc<>+64(SB)/8, $0xb95e8083b95e8083
DATA expc<>+72(SB)/8, $0xb95e8083b95e8083
DATA expc<>+80(SB)/8, $0xb95e8083b95e8083
DATA expc<>+88(SB)/8, $0xb95e8083b95e8083
DATA expc<>+96(SB)/8, $0x39500d0139500d01
DATA expc<>+104(SB)/8, $0x39500d0139500d01
DATA expc<>+112(SB)/8, $0x39500d0139500d01
DATA expc<>+120(SB)/8, $0x39500d0139500d01
DATA expc<>+128(SB)/8, $0x3ab60b613ab60b61
DATA expc<>+136(SB)/8, $0x3ab60b613ab60b61
DATA expc<>+144(SB)/8, $0x3ab60b613ab60b61
DATA expc<>+152(SB)/8, $0x3ab60b613ab60b61
DATA expc<>+160(SB)/8, $0x3c0888893c088889
DATA expc<>+168(SB)/8, $0x3c0888893c088889
DATA expc<>+176(SB)/8, $0x3c0888893c088889
DATA expc<>+184(SB)/8, $0x3c0888893c088889
DATA expc<>+192(SB)/8, $0x3d2aaaab3d2aaaab
DATA expc<>+200(SB)/8, $0x3d2aaaab3d2aaaab
DATA expc<>+208(SB)/8, $0x3d2aaaab3d2aaaab
DATA expc<>+216(SB)/8, $0x3d2aaaab3d2aaaab
DATA expc<>+224(SB)/8, $0x3e2aaaab3e2aaaab
DATA expc<>+232(SB)/8, $0x3e2aaaab3e2aaaab
DATA expc<>+240(SB)/8, $0x3e2aaaab3e2aaaab
DATA expc<>+248(SB)/8, $0x3e2aaaab3e2aaaab
DATA expc<>+256(SB)/8, $0x3f0000003f000000
DATA expc<>+264(SB)/8, $0x3f0000003f000000
DATA expc<>+272(SB)/8, $0x3f0000003f000000
DATA expc<>+280(SB)/8, $0x3f0000003f000000
DATA expc<>+288(SB)/8, $0x3f8000003f800000
DATA expc<>+296(SB)/8, $0x3f8000003f800000
DATA expc<>+304(SB)/8, $0x3f8000003f800000
DATA expc<>+312(SB)/8, $0x3f8000003f800000
DATA expc<>+320(SB)/8, $0x42b0000042b00000
DATA expc<>+328(SB)/8, $0x42b0000042b00000
DATA expc<>+336(SB)/8, $0x42b0000042b00000
DATA expc<>+344(SB)/8, $0x42b0000042b00000
DATA expc<>+352(SB)/8, $0xc2ae0000c2ae0000
DATA expc<>+360(SB)/8, $0xc2ae0000c2ae0000
DATA expc<>+368(SB)/8, $0xc2ae0000c2ae0000
DATA expc<>+376(SB)/8, $0xc2ae0000c2ae0000
GLOBL expc<>(SB), RODATA|NOPTR, $384

#define EXPC_LOG2E 0
#define EXPC_LN2HI 32
#define EXPC_LN2LO 64
#define EXPC_C7 96
#define EXPC_C6 128
#define EXPC_C5 160
#define EXPC_C4 192
#define EXPC_C3 224
#define EXPC_C2 256
#define EXPC_ONE 288
#define EXPC_HI 320
#define EXPC_LO 352

// EXP8 sets Y to e^Y; R holds expc<>'s address. Clobbers Y0, Y1, Y3.
#define EXP8(Y, R) \
	VCMPPS       $0x1d, EXPC_LO(R), Y, Y3; \
	VMAXPS       EXPC_LO(R), Y, Y; \
	VMINPS       EXPC_HI(R), Y, Y; \
	VMULPS       EXPC_LOG2E(R), Y, Y0; \
	VROUNDPS     $0, Y0, Y0; \
	VFNMADD231PS EXPC_LN2HI(R), Y0, Y; \
	VFNMADD231PS EXPC_LN2LO(R), Y0, Y; \
	VMOVUPS      EXPC_C7(R), Y1; \
	VFMADD213PS  EXPC_C6(R), Y, Y1; \
	VFMADD213PS  EXPC_C5(R), Y, Y1; \
	VFMADD213PS  EXPC_C4(R), Y, Y1; \
	VFMADD213PS  EXPC_C3(R), Y, Y1; \
	VFMADD213PS  EXPC_C2(R), Y, Y1; \
	VFMADD213PS  EXPC_ONE(R), Y, Y1; \
	VFMADD213PS  EXPC_ONE(R), Y, Y1; \
	VCVTPS2DQ    Y0, Y0; \
	VPSLLD       $23, Y0, Y0; \
	VPADDD       EXPC_ONE(R), Y0, Y0; \
	VMULPS       Y0, Y1, Y; \
	VANDPS       Y3, Y, Y

// func expShiftAVX2(x *float32, n int, m float32) float32
// x[i] = e^(x[i]-m) for n (a positive multiple of 8) values; returns their
// sum (8 lanes, then HSUM8).
TEXT ·expShiftAVX2(SB), NOSPLIT, $0-28
	MOVQ         x+0(FP), SI
	MOVQ         n+8(FP), CX
	VBROADCASTSS m+16(FP), Y5
	LEAQ         expc<>(SB), R8
	SHLQ         $2, CX
	XORQ         AX, AX
	VXORPS       Y6, Y6, Y6

expsloop:
	VMOVUPS (SI)(AX*1), Y4
	VSUBPS  Y5, Y4, Y4
	EXP8(Y4, R8)
	VMOVUPS Y4, (SI)(AX*1)
	VADDPS  Y4, Y6, Y6
	ADDQ    $32, AX
	CMPQ    AX, CX
	JB      expsloop
	HSUM8(Y6, X6, X0)
	VZEROUPPER
	MOVSS   X6, ret+24(FP)
	RET

// func siluGateAVX2(h, gate *float32, n int)
// h[i] = silu(h[i])·g[i] = h[i]·(1/(1+e^-h[i]))·g[i] for n (a positive
// multiple of 8) values.
TEXT ·siluGateAVX2(SB), NOSPLIT, $0-24
	MOVQ   h+0(FP), SI
	MOVQ   gate+8(FP), DI
	MOVQ   n+16(FP), CX
	LEAQ   expc<>(SB), R8
	SHLQ   $2, CX
	XORQ   AX, AX
	VXORPS Y7, Y7, Y7

siluloop:
	VMOVUPS (SI)(AX*1), Y5
	VSUBPS  Y5, Y7, Y4
	EXP8(Y4, R8)
	VADDPS  EXPC_ONE(R8), Y4, Y4
	VMOVUPS EXPC_ONE(R8), Y6
	VDIVPS  Y4, Y6, Y6
	VMULPS  Y6, Y5, Y5
	VMULPS  (DI)(AX*1), Y5, Y5
	VMOVUPS Y5, (SI)(AX*1)
	ADDQ    $32, AX
	CMPQ    AX, CX
	JB      siluloop
	VZEROUPPER
	RET

DATA iota8<>+0(SB)/8, $0x0000000100000000
DATA iota8<>+8(SB)/8, $0x0000000300000002
DATA iota8<>+16(SB)/8, $0x0000000500000004
DATA iota8<>+24(SB)/8, $0x0000000700000006
GLOBL iota8<>(SB), RODATA|NOPTR, $32

// func argmaxAVX2(x *float32, n int, vals *[8]float32, idx *[8]int32)
// For each of 8 lanes (values i ≡ lane mod 8, i < n, n a positive multiple
// of 8): the first index holding the lane's largest value (strictly
// greater wins, so NaN never does; a lane of -Inf and NaN keeps -Inf at 0).
TEXT ·argmaxAVX2(SB), NOSPLIT, $0-32
	MOVQ         x+0(FP), SI
	MOVQ         n+8(FP), CX
	MOVL         $0xff800000, AX
	VMOVD        AX, X0
	VPBROADCASTD X0, Y0           // lane maxima: -Inf
	VPXOR        Y1, Y1, Y1       // their indices
	VMOVDQU      iota8<>(SB), Y2  // current indices
	MOVL         $8, AX
	VMOVD        AX, X3
	VPBROADCASTD X3, Y3
	SHLQ         $2, CX
	XORQ         AX, AX

amaxloop:
	VMOVUPS   (SI)(AX*1), Y4
	VCMPPS    $0x1e, Y0, Y4, Y5
	VBLENDVPS Y5, Y4, Y0, Y0
	VPBLENDVB Y5, Y2, Y1, Y1
	VPADDD    Y3, Y2, Y2
	ADDQ      $32, AX
	CMPQ      AX, CX
	JB        amaxloop
	MOVQ      vals+16(FP), DI
	VMOVUPS   Y0, (DI)
	MOVQ      idx+24(FP), DI
	VMOVDQU   Y1, (DI)
	VZEROUPPER
	RET
