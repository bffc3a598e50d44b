// kernels.cu: the module the cuda runner loads; scripts/gen-ptx.sh compiles
// it to kernels_sm_XX.ptx.
#include "matvec.cu"
#include "norm.cu"
#include "rope.cu"
#include "attention.cu"
#include "canary.cu"
