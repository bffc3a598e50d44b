package cuda

import (
	"errors"
	"fmt"

	"github.com/actorinfer/actorinfer/runners"
)

// Driver is the slice of the CUDA driver API the runner uses. NewDriver
// (built with -tags cuda) is the real one over gorgonia.org/cu; FakeDriver
// executes the kernels on the host.
//
// Threading: a Context and everything made from it (modules, functions,
// memory) are used by one goroutine at a time, locked to its OS thread (the
// Runner's owner goroutine). CreateContext makes the new context current on
// the calling thread.
type Driver interface {
	// Name describes the driver and device, for logs.
	Name() string
	// CreateContext creates a context on device and makes it current.
	CreateContext(device int) (Context, error)
}

// DevicePtr is a device address. Pointer arithmetic in bytes is allowed
// within one allocation.
type DevicePtr uint64

// Function is a kernel of a loaded module.
type Function interface {
	// Name is the kernel's entry name.
	Name() string
}

// Module is a loaded PTX module.
type Module interface {
	// Function looks up a kernel by its entry name.
	Function(name string) (Function, error)
}

// Dim3 is a grid or block shape; zero sizes count as 1.
type Dim3 struct{ X, Y, Z int }

// Context is one CUDA context: its modules, memory and default stream.
// After a sticky error every call fails with an *Error until Destroy; then
// the driver needs a new context.
type Context interface {
	// LoadModule loads PTX text (NUL-terminated or not).
	LoadModule(ptx []byte) (Module, error)
	// Alloc allocates bytes of device memory.
	Alloc(bytes int64) (DevicePtr, error)
	// Free releases an allocation.
	Free(p DevicePtr) error
	// CopyHtoD copies src to device memory at dst.
	CopyHtoD(dst DevicePtr, src []float32) error
	// CopyDtoH copies len(dst) values from device memory at src; it waits
	// for the work queued before it.
	CopyDtoH(dst []float32, src DevicePtr) error
	// CopyDtoD copies n float32 values between device addresses.
	CopyDtoD(dst, src DevicePtr, n int) error
	// Launch queues fn on the default stream with the grid and block
	// shapes, sharedBytes of dynamic shared memory and args, each a
	// DevicePtr, int32 or float32 in the kernel's parameter order.
	Launch(fn Function, grid, block Dim3, sharedBytes int, args ...any) error
	// Synchronize waits for the queued work and reports its first error.
	Synchronize() error
	// Destroy destroys the context and everything in it. It is the only
	// call that succeeds on a poisoned context.
	Destroy() error
}

// Result is a CUresult code of the CUDA driver API.
type Result int

// The CUresult codes the runner and its drivers name (cuda.h).
const (
	Success                   Result = 0
	ErrInvalidValue           Result = 1
	ErrOutOfMemory            Result = 2
	ErrNotInitialized         Result = 3
	ErrDeinitialized          Result = 4
	ErrNoDevice               Result = 100
	ErrInvalidDevice          Result = 101
	ErrInvalidImage           Result = 200
	ErrInvalidContext         Result = 201
	ErrNoBinaryForGPU         Result = 209
	ErrInvalidPTX             Result = 218
	ErrUnsupportedPTXVersion  Result = 222
	ErrInvalidHandle          Result = 400
	ErrNotFound               Result = 500
	ErrIllegalAddress         Result = 700 // sticky
	ErrLaunchOutOfResources   Result = 701
	ErrLaunchTimeout          Result = 702 // sticky
	ErrAssert                 Result = 710 // sticky (device-side assert)
	ErrHardwareStackError     Result = 714 // sticky
	ErrIllegalInstruction     Result = 715 // sticky
	ErrMisalignedAddress      Result = 716 // sticky
	ErrInvalidAddressSpace    Result = 717 // sticky
	ErrInvalidPC              Result = 718 // sticky
	ErrLaunchFailed           Result = 719 // sticky (a trap lands here)
	ErrCooperativeLaunchLarge Result = 720
	ErrNotSupported           Result = 801
	ErrUnknown                Result = 999
)

var resultNames = map[Result]string{
	Success: "CUDA_SUCCESS", ErrInvalidValue: "CUDA_ERROR_INVALID_VALUE",
	ErrOutOfMemory: "CUDA_ERROR_OUT_OF_MEMORY", ErrNotInitialized: "CUDA_ERROR_NOT_INITIALIZED",
	ErrDeinitialized: "CUDA_ERROR_DEINITIALIZED", ErrNoDevice: "CUDA_ERROR_NO_DEVICE",
	ErrInvalidDevice: "CUDA_ERROR_INVALID_DEVICE", ErrInvalidImage: "CUDA_ERROR_INVALID_IMAGE",
	ErrInvalidContext: "CUDA_ERROR_INVALID_CONTEXT", ErrNoBinaryForGPU: "CUDA_ERROR_NO_BINARY_FOR_GPU",
	ErrInvalidPTX: "CUDA_ERROR_INVALID_PTX", ErrUnsupportedPTXVersion: "CUDA_ERROR_UNSUPPORTED_PTX_VERSION",
	ErrInvalidHandle: "CUDA_ERROR_INVALID_HANDLE", ErrNotFound: "CUDA_ERROR_NOT_FOUND",
	ErrIllegalAddress: "CUDA_ERROR_ILLEGAL_ADDRESS", ErrLaunchOutOfResources: "CUDA_ERROR_LAUNCH_OUT_OF_RESOURCES",
	ErrLaunchTimeout: "CUDA_ERROR_LAUNCH_TIMEOUT", ErrAssert: "CUDA_ERROR_ASSERT",
	ErrHardwareStackError: "CUDA_ERROR_HARDWARE_STACK_ERROR", ErrIllegalInstruction: "CUDA_ERROR_ILLEGAL_INSTRUCTION",
	ErrMisalignedAddress: "CUDA_ERROR_MISALIGNED_ADDRESS", ErrInvalidAddressSpace: "CUDA_ERROR_INVALID_ADDRESS_SPACE",
	ErrInvalidPC: "CUDA_ERROR_INVALID_PC", ErrLaunchFailed: "CUDA_ERROR_LAUNCH_FAILED",
	ErrCooperativeLaunchLarge: "CUDA_ERROR_COOPERATIVE_LAUNCH_TOO_LARGE", ErrNotSupported: "CUDA_ERROR_NOT_SUPPORTED",
	ErrUnknown: "CUDA_ERROR_UNKNOWN",
}

// String returns the cuda.h name, e.g. "CUDA_ERROR_ILLEGAL_ADDRESS".
func (r Result) String() string {
	if n, ok := resultNames[r]; ok {
		return n
	}
	return fmt.Sprintf("CUresult(%d)", int(r))
}

// Sticky reports whether r leaves the context unusable: every later call
// fails until the context is destroyed and recreated. These are the kernel
// faults of the driver API documentation ("the process is in an
// inconsistent state"): 700, 702, 710 and 714–719. Note 720
// (cooperative launch too large) is a launch-configuration error and not
// sticky.
func (r Result) Sticky() bool {
	switch r {
	case ErrIllegalAddress, ErrLaunchTimeout, ErrAssert,
		ErrHardwareStackError, ErrIllegalInstruction, ErrMisalignedAddress,
		ErrInvalidAddressSpace, ErrInvalidPC, ErrLaunchFailed:
		return true
	}
	return false
}

// Error is a failed driver call.
type Error struct {
	Op   string // the driver call, e.g. "cuLaunchKernel(matvec)"
	Code Result
}

func (e *Error) Error() string { return fmt.Sprintf("cuda: %s: %v (%d)", e.Op, e.Code, int(e.Code)) }

// Classify maps a driver error onto the runners vocabulary: sticky errors
// become a *runners.SessionFault with cause CudaContextPoisoned (the
// supervisor rebuilds the session); out of memory and launch resources
// become unsupported (the request is too big for this device, and retrying
// it will not help); every other driver error is internal. Errors that are
// not *Error pass through runners.AsError. nil stays nil.
func Classify(err error) error {
	if err == nil {
		return nil
	}
	var sf *runners.SessionFault
	if errors.As(err, &sf) {
		return err
	}
	var de *Error
	if !errors.As(err, &de) {
		return runners.AsError(err)
	}
	switch {
	case de.Code.Sticky():
		return &runners.SessionFault{Cause: runners.CudaContextPoisoned, Err: err}
	case de.Code == ErrOutOfMemory || de.Code == ErrLaunchOutOfResources:
		return runners.Errorf(runners.CodeUnsupported, "%v", err)
	}
	return runners.Errorf(runners.CodeInternal, "%v", err)
}
