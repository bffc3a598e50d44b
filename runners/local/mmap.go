package local

import (
	"fmt"
	"os"
	"syscall"
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
