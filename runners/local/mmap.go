package local

import (
	"fmt"
	"os"
	"syscall"
	"unsafe"
)

// mapping is a read-only view of a whole file: memory-mapped where the
// platform allows it, otherwise read into memory.
type mapping struct {
	data   []byte
	mapped bool
}

// openMapping maps path read-only. An empty file is refused.
func openMapping(path string) (*mapping, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	size := st.Size()
	if size <= 0 {
		return nil, fmt.Errorf("%s: empty file", path)
	}
	if int64(int(size)) != size {
		return nil, fmt.Errorf("%s: file too large (%d bytes)", path, size)
	}
	if data, err := syscall.Mmap(int(f.Fd()), 0, int(size), syscall.PROT_READ, syscall.MAP_SHARED); err == nil {
		return &mapping{data: data, mapped: true}, nil
	}
	// Fall back to reading (file systems without mmap support).
	data := make([]byte, size)
	if _, err := f.ReadAt(data, 0); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &mapping{data: data}, nil
}

// close unmaps the file. The data must no longer be used.
func (m *mapping) close() error {
	if m == nil || !m.mapped || m.data == nil {
		return nil
	}
	err := syscall.Munmap(m.data)
	m.data = nil
	return err
}

// release tells the kernel this process no longer needs the pages wholly
// inside b (a part of the mapping; anything else is ignored): they leave
// its resident set, and come back from the file if read again.
func (m *mapping) release(b []byte) {
	if m == nil || !m.mapped || len(b) == 0 || len(m.data) == 0 {
		return
	}
	base := uintptr(unsafe.Pointer(&m.data[0]))
	start := uintptr(unsafe.Pointer(&b[0])) - base
	if start >= uintptr(len(m.data)) || uintptr(len(b)) > uintptr(len(m.data))-start {
		return
	}
	page := uintptr(os.Getpagesize())
	lo := (base + start + page - 1) &^ (page - 1)
	hi := (base + start + uintptr(len(b))) &^ (page - 1)
	if lo >= hi {
		return
	}
	_ = syscall.Madvise(m.data[lo-base:hi-base], syscall.MADV_DONTNEED)
}
