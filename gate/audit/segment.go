package audit

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// Segments. The log at PATH (say audit/audit.jsonl) is written to PATH, the
// active segment. When it would grow past Options.MaxBytes it is renamed to
// the next numbered segment beside it — audit-000001.jsonl, then
// audit-000002.jsonl … (stem, six-digit number, extension) — and a new
// empty PATH is started. The chain runs on across segments: the first entry
// of a segment carries the next sequence number and the previous segment's
// head as its prev, so the segments read in order are one chain, and a
// missing segment shows as a gap in both the numbers and the chain.

// segmentDigits is the width of a rotated segment's number.
const segmentDigits = 6

// maxLine bounds the bytes kept of one line while reading a log: a longer
// line cannot be an entry the gate wrote, and is reported as corrupt.
const maxLine = 1 << 20

// segmentName returns the name of rotated segment n of the log at active.
func segmentName(active string, n int) string {
	ext := filepath.Ext(active)
	return fmt.Sprintf("%s-%0*d%s", strings.TrimSuffix(active, ext), segmentDigits, n, ext)
}

// segmentNumber returns n when name is rotated segment n of the log whose
// active file is named activeBase (both base names).
func segmentNumber(activeBase, name string) (int, bool) {
	ext := filepath.Ext(activeBase)
	stem := strings.TrimSuffix(activeBase, ext)
	num, ok := strings.CutPrefix(name, stem+"-")
	if !ok {
		return 0, false
	}
	num, ok = strings.CutSuffix(num, ext)
	if !ok || len(num) < segmentDigits {
		return 0, false
	}
	for _, c := range num {
		if c < '0' || c > '9' {
			return 0, false
		}
	}
	n, err := strconv.Atoi(num)
	return n, err == nil && n > 0
}

// segmentFile is one file of a log.
type segmentFile struct {
	path string
	num  int // rotated segment number; 0: the active file
}

// rotated lists the rotated segments of the log at active, oldest first.
func rotated(active string) ([]segmentFile, error) {
	dir, base := filepath.Split(active)
	if dir == "" {
		dir = "."
	}
	des, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var segs []segmentFile
	for _, de := range des {
		if n, ok := segmentNumber(base, de.Name()); ok && de.Type().IsRegular() {
			segs = append(segs, segmentFile{path: filepath.Join(dir, de.Name()), num: n})
		}
	}
	sort.Slice(segs, func(i, j int) bool { return segs[i].num < segs[j].num })
	return segs, nil
}

// Segments returns the files of a log, oldest first. path is the active
// file (its rotated siblings are found beside it) or a directory holding
// one log's segments (*.jsonl). The active file is last; it may be absent
// when the gate stopped between renaming a full segment and starting the
// next one.
func Segments(path string) ([]string, error) {
	segs, err := segmentFiles(path)
	if err != nil {
		return nil, err
	}
	out := make([]string, len(segs))
	for i, s := range segs {
		out[i] = s.path
	}
	return out, nil
}

func segmentFiles(path string) ([]segmentFile, error) {
	fi, err := os.Stat(path)
	switch {
	case err == nil && fi.IsDir():
		active, err := activeIn(path)
		if err != nil {
			return nil, err
		}
		path = active
	case err != nil && !errors.Is(err, fs.ErrNotExist):
		return nil, fmt.Errorf("audit log: %w", err)
	}
	segs, err := rotated(path)
	if err != nil {
		return nil, fmt.Errorf("audit log: %w", err)
	}
	if _, err := os.Stat(path); err == nil {
		segs = append(segs, segmentFile{path: path})
	} else if len(segs) == 0 {
		return nil, fmt.Errorf("audit log: %w", err)
	}
	return segs, nil
}

// ActivePath returns the active file of the log at path: path itself, or
// for a directory the active file of the one log it holds (which may not
// exist if only rotated segments are left).
func ActivePath(path string) (string, error) {
	if fi, err := os.Stat(path); err == nil && fi.IsDir() {
		return activeIn(path)
	}
	return path, nil
}

// activeIn finds the one log in dir and returns its active file's path
// (which may not exist if only rotated segments are left).
func activeIn(dir string) (string, error) {
	des, err := os.ReadDir(dir)
	if err != nil {
		return "", fmt.Errorf("audit log: %w", err)
	}
	stems := map[string]bool{}
	for _, de := range des {
		name := de.Name()
		if !de.Type().IsRegular() || filepath.Ext(name) != ".jsonl" {
			continue
		}
		stem := strings.TrimSuffix(name, ".jsonl")
		if i := strings.LastIndexByte(stem, '-'); i > 0 {
			if _, ok := segmentNumber(stem[:i]+".jsonl", name); ok {
				stem = stem[:i]
			}
		}
		stems[stem] = true
	}
	switch len(stems) {
	case 0:
		return "", fmt.Errorf("audit log: no *.jsonl segments in %s", dir)
	case 1:
		for s := range stems {
			return filepath.Join(dir, s+".jsonl"), nil
		}
	}
	names := make([]string, 0, len(stems))
	for s := range stems {
		names = append(names, s+".jsonl")
	}
	sort.Strings(names)
	return "", fmt.Errorf("audit log: %s holds several logs (%s): name the active file", dir, strings.Join(names, ", "))
}

// lineReader reads a log line by line, keeping at most maxLine bytes of a
// line, so memory does not grow with the log.
type lineReader struct {
	br  *bufio.Reader
	off int64 // offset of the next line
	buf []byte
}

func newLineReader(r io.Reader) *lineReader {
	return &lineReader{br: bufio.NewReaderSize(r, 64<<10)}
}

// next returns the next line without its newline, the line's offset, and
// whether it ended with a newline (false: the last bytes of the file). The
// line is valid until the next call. At the end it returns io.EOF.
func (lr *lineReader) next() (line []byte, off int64, complete bool, err error) {
	lr.buf = lr.buf[:0]
	start := lr.off
	for {
		chunk, err := lr.br.ReadSlice('\n')
		lr.off += int64(len(chunk))
		if room := maxLine - len(lr.buf); room > 0 {
			lr.buf = append(lr.buf, chunk[:min(len(chunk), room)]...)
		}
		switch {
		case err == nil:
			return bytes.TrimSuffix(lr.buf, []byte("\n")), start, true, nil
		case errors.Is(err, bufio.ErrBufferFull):
			continue
		case errors.Is(err, io.EOF):
			if lr.off == start {
				return nil, start, false, io.EOF
			}
			return lr.buf, start, false, nil
		default:
			return nil, start, false, err
		}
	}
}

// lastLine returns the last complete line of the file at path (without its
// newline), reading backwards from the end: the previous segment's head is
// found without reading the segment.
func lastLine(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	end := fi.Size()
	var tail []byte
	const chunk = 4 << 10
	for pos := end; pos > 0 && len(tail) <= maxLine; {
		n := min(int64(chunk), pos)
		pos -= n
		b := make([]byte, n)
		if _, err := f.ReadAt(b, pos); err != nil {
			return nil, err
		}
		tail = append(b, tail...)
		t := tail
		if len(t) > 0 && t[len(t)-1] == '\n' {
			t = t[:len(t)-1]
		} else if i := bytes.LastIndexByte(t, '\n'); i >= 0 {
			t = t[:i] // an incomplete last line: not an entry
		} else if pos > 0 {
			continue
		} else {
			return nil, errors.New("no complete line")
		}
		if i := bytes.LastIndexByte(t, '\n'); i >= 0 {
			return t[i+1:], nil
		}
		if pos == 0 {
			return t, nil
		}
	}
	return nil, errors.New("no complete line")
}
