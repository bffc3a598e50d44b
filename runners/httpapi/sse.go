package httpapi

import (
	"bytes"
	"errors"
	"io"
	"strconv"
	"time"
)

// DefaultMaxSSELine is the longest SSE line NewSSEReader accepts (4 MiB):
// large enough for a chunk that carries an inline image, small enough that a
// broken upstream cannot make the reader grow without bound.
const DefaultMaxSSELine = 4 << 20

// ErrSSELineTooLong is returned by SSEReader.Next when one line of the stream
// exceeds the reader's limit.
var ErrSSELineTooLong = errors.New("httpapi: SSE line too long")

// Event is one dispatched server-sent event.
type Event struct {
	// Event is the event type: the last "event:" field of the event, or
	// "message" when it had none (as the SSE specification says).
	Event string
	// Data is the event's data fields joined by "\n", without the final
	// newline. It aliases the reader's buffer and is valid only until the
	// next call to Next; copy it to keep it.
	Data []byte
	// ID is the last event ID: it persists across events until an "id:"
	// field changes it.
	ID string
	// Retry is the reconnection time of a "retry:" field in this event, or 0.
	Retry time.Duration
}

// SSEReader decodes a text/event-stream as the WHATWG HTML specification
// ("Server-sent events", section 9.2.6) describes: lines end in LF, CRLF or
// CR; a leading UTF-8 BOM is skipped; lines starting with ":" are comments;
// "data" fields accumulate; a blank line dispatches the event; an event with
// no data is not dispatched; an incomplete event at the end of the stream is
// discarded.
//
// Each line must fit in the reader's limit (DefaultMaxSSELine unless set by
// NewSSEReaderSize); a longer line fails with ErrSSELineTooLong. In steady
// state Next does not allocate: data is returned in a reused buffer and event
// names and IDs are interned.
//
// An SSEReader is not safe for concurrent use.
type SSEReader struct {
	r   io.Reader
	buf []byte
	lo  int // start of unread bytes in buf
	hi  int // end of unread bytes in buf
	max int
	err error // sticky error from r

	started        bool // BOM handled
	skipLF         bool // previous line ended in CR: a leading LF belongs to it
	pendingPartial bool // an unterminated line was discarded at the end
	// crAt and lfAt cache the absolute index in buf of the next CR and LF at
	// or after lo; hi means "none before hi"; below lo means "rescan".
	crAt int
	lfAt int

	data    []byte
	hasData bool
	evType  []byte
	retry   time.Duration
	id      string
	names   [8]string // interned event names
	nNames  int
}

// NewSSEReader returns a reader of r with the default line limit.
func NewSSEReader(r io.Reader) *SSEReader { return NewSSEReaderSize(r, DefaultMaxSSELine) }

// NewSSEReaderSize returns a reader of r that accepts lines up to maxLine
// bytes (DefaultMaxSSELine when maxLine <= 0).
func NewSSEReaderSize(r io.Reader, maxLine int) *SSEReader {
	if maxLine <= 0 {
		maxLine = DefaultMaxSSELine
	}
	size := 4096
	if size > maxLine+1 {
		size = maxLine + 1
	}
	return &SSEReader{r: r, buf: make([]byte, size), max: maxLine, crAt: -1, lfAt: -1}
}

// Next returns the next event. It returns io.EOF when the stream ended
// cleanly between events, io.ErrUnexpectedEOF when it ended in the middle of
// an event (the partial event is discarded), ErrSSELineTooLong for an
// oversize line, and otherwise the error of the underlying reader.
func (s *SSEReader) Next() (Event, error) {
	for {
		line, err := s.readLine()
		if err != nil {
			if err == io.EOF && (s.hasData || len(s.evType) > 0 || s.pendingPartial) {
				s.pendingPartial = false
				s.resetEvent()
				return Event{}, io.ErrUnexpectedEOF
			}
			return Event{}, err
		}
		if len(line) == 0 {
			if !s.hasData {
				s.resetEvent()
				continue
			}
			ev := Event{Event: s.eventName(), Data: s.data[:len(s.data)-1], ID: s.id, Retry: s.retry}
			s.hasData = false
			s.evType = s.evType[:0]
			s.retry = 0
			return ev, nil
		}
		s.field(line)
	}
}

func (s *SSEReader) resetEvent() {
	s.data = s.data[:0]
	s.hasData = false
	s.evType = s.evType[:0]
	s.retry = 0
}

func (s *SSEReader) field(line []byte) {
	if line[0] == ':' {
		return // comment
	}
	name, value := line, []byte(nil)
	if i := bytes.IndexByte(line, ':'); i >= 0 {
		name, value = line[:i], line[i+1:]
		if len(value) > 0 && value[0] == ' ' {
			value = value[1:]
		}
	}
	switch string(name) { // no allocation: the compiler compares in place
	case "data":
		if !s.hasData {
			s.data = s.data[:0]
			s.hasData = true
		}
		s.data = append(s.data, value...)
		s.data = append(s.data, '\n')
	case "event":
		s.evType = append(s.evType[:0], value...)
	case "id":
		if bytes.IndexByte(value, 0) < 0 && string(value) != s.id {
			s.id = string(value)
		}
	case "retry":
		if len(value) == 0 {
			return
		}
		for _, c := range value {
			if c < '0' || c > '9' {
				return
			}
		}
		if ms, err := strconv.ParseInt(string(value), 10, 64); err == nil && ms <= int64(time.Duration(1<<62)/time.Millisecond) {
			s.retry = time.Duration(ms) * time.Millisecond
		}
	}
}

// eventName returns the current event type as a string, interning the few
// names a provider uses so that steady-state decoding does not allocate.
func (s *SSEReader) eventName() string {
	if len(s.evType) == 0 {
		return "message"
	}
	for i := 0; i < s.nNames; i++ {
		if s.names[i] == string(s.evType) {
			return s.names[i]
		}
	}
	n := string(s.evType)
	if s.nNames < len(s.names) {
		s.names[s.nNames] = n
		s.nNames++
	} else {
		copy(s.names[1:], s.names[:len(s.names)-1])
		s.names[0] = n
	}
	return n
}

// readLine returns the next line without its terminator. The slice aliases
// buf and is valid until the next call.
func (s *SSEReader) readLine() ([]byte, error) {
	for {
		if !s.started {
			if s.hi-s.lo < 3 && s.err == nil {
				if err := s.fill(); err != nil {
					return nil, err
				}
				continue
			}
			s.started = true
			if bytes.HasPrefix(s.buf[s.lo:s.hi], []byte{0xEF, 0xBB, 0xBF}) {
				s.lo += 3
			}
		}
		if s.skipLF && s.lo < s.hi {
			s.skipLF = false
			if s.buf[s.lo] == '\n' {
				s.lo++
			}
		}
		if end := s.lineEnd(); end >= 0 {
			line := s.buf[s.lo:end]
			if s.buf[end] == '\r' {
				if end+1 < s.hi {
					if s.buf[end+1] == '\n' {
						end++
					}
				} else {
					s.skipLF = true
				}
			}
			s.lo = end + 1
			return line, nil
		}
		if s.err != nil {
			if s.lo < s.hi {
				// An unterminated last line is not a line: discard it.
				s.lo = s.hi
				s.pendingPartial = true
			}
			return nil, s.err
		}
		if s.hi-s.lo > s.max {
			return nil, ErrSSELineTooLong
		}
		if err := s.fill(); err != nil {
			return nil, err
		}
	}
}

// lineEnd returns the absolute index of the first CR or LF in buf[lo:hi], or
// -1. It caches both positions so that a buffer with only one kind of line
// ending is scanned once.
func (s *SSEReader) lineEnd() int {
	if s.crAt < s.lo {
		s.crAt = s.hi
		if i := bytes.IndexByte(s.buf[s.lo:s.hi], '\r'); i >= 0 {
			s.crAt = s.lo + i
		}
	}
	if s.lfAt < s.lo {
		s.lfAt = s.hi
		if i := bytes.IndexByte(s.buf[s.lo:s.hi], '\n'); i >= 0 {
			s.lfAt = s.lo + i
		}
	}
	end := min(s.crAt, s.lfAt)
	if end >= s.hi {
		return -1
	}
	return end
}

// fill reads more bytes, compacting or growing the buffer first. A read
// error is kept and reported once the buffered lines are consumed.
func (s *SSEReader) fill() error {
	if s.lo > 0 {
		n := copy(s.buf, s.buf[s.lo:s.hi])
		s.hi = n
		s.lo = 0
	}
	s.crAt, s.lfAt = -1, -1 // positions moved; rescan
	if s.hi == len(s.buf) {
		if len(s.buf) > s.max {
			return ErrSSELineTooLong
		}
		size := 2 * len(s.buf)
		if size > s.max+1 {
			size = s.max + 1
		}
		nb := make([]byte, size)
		copy(nb, s.buf[:s.hi])
		s.buf = nb
	}
	for range 100 {
		n, err := s.r.Read(s.buf[s.hi:])
		s.hi += n
		if err != nil {
			s.err = err
			return nil
		}
		if n > 0 {
			return nil
		}
	}
	s.err = io.ErrNoProgress
	return nil
}
