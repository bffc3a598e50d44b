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

// The AVX-512 VNNI Q8_0 kernels (256-bit, EVEX-encoded VPDPBUSD on Y0-Y15):
// activations as int8 (x8). Per 32 values the weights' magnitudes multiply
// the activations carrying the weights' signs, four products per int32
// lane (|w| ≤ 127, so the unsigned operand is exact); per group the lanes
// are converted and scaled as in the AVX2 kernels.

// func dotQ8VNNI(q *int8, ws *float32, x8 *int8, xs *float32, n, gs int) float32
TEXT ·dotQ8VNNI(SB), NOSPLIT, $0-52
	MOVQ q+0(FP), SI
	MOVQ ws+8(FP), BX
	MOVQ x8+16(FP), DI
	MOVQ xs+24(FP), DX
	MOVQ n+32(FP), CX
	MOVQ gs+40(FP), R8
	XORQ AX, AX
	VXORPS Y5, Y5, Y5

v1group:
	LEAQ  (AX)(R8*1), R9
	VPXOR Y3, Y3, Y3

v1inner:
	VMOVDQU  (SI)(AX*1), Y1
	VPABSB   Y1, Y2
	VMOVDQU  (DI)(AX*1), Y4
	VPSIGNB  Y1, Y4, Y4
	VPDPBUSD Y4, Y2, Y3
	ADDQ     $32, AX
	CMPQ     AX, R9
	JB       v1inner
	Q8SCALE1
	ADDQ         $4, BX
	ADDQ         $4, DX
	CMPQ         AX, CX
	JB           v1group
	HSUM8(Y5, X5, X6)
	VZEROUPPER
	MOVSS        X5, ret+48(FP)
	RET

// func dotQ8x4VNNI(q *int8, ws *float32, x8 *int8, xs *float32, n, gs, ng int, out *[4]float32)
// Four inputs back to back: x8 holds n values each, xs ng = n/gs scales each.
TEXT ·dotQ8x4VNNI(SB), NOSPLIT, $0-64
	MOVQ q+0(FP), SI
	MOVQ ws+8(FP), BX
	MOVQ x8+16(FP), DI
	MOVQ xs+24(FP), DX
	MOVQ n+32(FP), CX
	MOVQ gs+40(FP), R8
	LEAQ (DI)(CX*1), R10
	LEAQ (R10)(CX*1), R11
	LEAQ (R11)(CX*1), R12
	MOVQ ng+48(FP), R13
	SHLQ $2, R13        // bytes between the inputs' scales
	XORQ AX, AX
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3

v4group:
	LEAQ  (AX)(R8*1), R9
	VPXOR Y4, Y4, Y4
	VPXOR Y5, Y5, Y5
	VPXOR Y6, Y6, Y6
	VPXOR Y7, Y7, Y7

v4inner:
	VMOVDQU  (SI)(AX*1), Y8
	VPABSB   Y8, Y9
	VMOVDQU  (DI)(AX*1), Y10
	VPSIGNB  Y8, Y10, Y10
	VPDPBUSD Y10, Y9, Y4
	VMOVDQU  (R10)(AX*1), Y11
	VPSIGNB  Y8, Y11, Y11
	VPDPBUSD Y11, Y9, Y5
	VMOVDQU  (R11)(AX*1), Y10
	VPSIGNB  Y8, Y10, Y10
	VPDPBUSD Y10, Y9, Y6
	VMOVDQU  (R12)(AX*1), Y11
	VPSIGNB  Y8, Y11, Y11
	VPDPBUSD Y11, Y9, Y7
	ADDQ     $32, AX
	CMPQ     AX, R9
	JB       v4inner
	Q8SCALE4
	ADDQ         $4, BX
	ADDQ         $4, DX
	CMPQ         AX, CX
	JB           v4group
	MOVQ         out+56(FP), DI
	STORE4(DI)
	VZEROUPPER
	RET
