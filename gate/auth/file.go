package auth

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"
	"sync/atomic"
)

// MaxFileSize bounds a token file. A few thousand entries fit; anything
// larger is a mistake (a wrong path), not a token list.
const MaxFileSize = 1 << 20

// FileError says why a token file was rejected: the file, the line (0 when
// the problem is the whole file) and the problem. It never holds any part of
// a token, so it may be logged, audited and shown in selftest.
type FileError struct {
	Path    string
	Line    int
	Problem string
}

func (e *FileError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("token file %s: line %d: %s", e.Path, e.Line, e.Problem)
	}
	return fmt.Sprintf("token file %s: %s", e.Path, e.Problem)
}

// ReadFile reads and parses the token file at path (see ParseFile). It
// also returns the SHA-256 of the content, so a caller polling the file can
// tell whether it changed since the last read.
func ReadFile(path, defaultName string) ([]Token, [sha256.Size]byte, error) {
	data, err := readBounded(path)
	if err != nil {
		return nil, [sha256.Size]byte{}, err
	}
	toks, err := ParseFile(path, data, defaultName)
	return toks, sha256.Sum256(data), err
}

func readBounded(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, &FileError{Path: path, Problem: openProblem(err)}
	}
	defer f.Close()
	// A token file every user may read hands the tokens to all of them
	// (and one every user may write, the gate itself): refused, as the
	// signing key is. A symlink (a Kubernetes secret volume) is judged by
	// the file it points to; group access stays allowed (fsGroup).
	if fi, err := f.Stat(); err == nil && fi.Mode().IsRegular() && fi.Mode().Perm()&0o007 != 0 {
		return nil, &FileError{Path: path, Problem: fmt.Sprintf("open to every user (mode %04o): chmod 600 (or 640) it", fi.Mode().Perm())}
	}
	data, err := io.ReadAll(io.LimitReader(f, MaxFileSize+1))
	if err != nil {
		return nil, &FileError{Path: path, Problem: openProblem(err)}
	}
	if len(data) > MaxFileSize {
		return nil, &FileError{Path: path, Problem: fmt.Sprintf("larger than %d bytes", MaxFileSize)}
	}
	return data, nil
}

// openProblem describes a read failure without repeating the path.
func openProblem(err error) string {
	var pe *fs.PathError
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return "missing (no such file)"
	case errors.Is(err, fs.ErrPermission):
		return "unreadable (permission denied)"
	case errors.As(err, &pe):
		return "unreadable (" + pe.Err.Error() + ")"
	default:
		return "unreadable"
	}
}

// ParseFile parses the content of a token file: one entry per line, in the
// syntax of one METRICS_TOKENS entry (`token` or `name:token`); lines whose
// first non-blank character is '#' and blank lines are ignored. A bare token
// is named defaultName, or by its entry's position (UnnamedName, as in
// METRICS_TOKENS) when defaultName is empty. The file is valid only as a
// whole: at least one entry, every entry valid, no name and no token twice.
// Errors are *FileError naming path and line; they never quote a token, nor
// a name (a token pasted where a name belongs would otherwise leak).
func ParseFile(path string, data []byte, defaultName string) ([]Token, error) {
	fail := func(line int, format string, a ...any) error {
		return &FileError{Path: path, Line: line, Problem: fmt.Sprintf(format, a...)}
	}
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, fail(0, "empty")
	}
	var (
		out     []Token
		names   = map[string]int{}
		digests = map[[sha256.Size]byte]int{}
	)
	for i, raw := range strings.Split(string(data), "\n") {
		line := i + 1
		entry := strings.TrimSpace(raw)
		if entry == "" || strings.HasPrefix(entry, "#") {
			continue
		}
		if strings.Contains(entry, ",") {
			return nil, fail(line, "more than one entry (one entry per line, no commas)")
		}
		bare := defaultName
		if bare == "" {
			bare = UnnamedName(len(out) + 1)
		}
		t, err := parseEntry(entry, bare)
		if err != nil {
			return nil, fail(line, "%v", err)
		}
		if j, dup := names[t.Name]; dup {
			return nil, fail(line, "name already used on line %d", j)
		}
		if j, dup := digests[t.digest]; dup {
			return nil, fail(line, "same token as line %d", j)
		}
		names[t.Name], digests[t.digest] = line, line
		out = append(out, t)
	}
	if len(out) == 0 {
		return nil, fail(0, "no tokens (only comments and blank lines)")
	}
	return out, nil
}

// parseEntry parses one `token` or `name:token` entry; a bare token is
// named bare.
func parseEntry(entry, bare string) (Token, error) {
	name, secret, named := strings.Cut(entry, ":")
	if !named {
		name, secret = bare, entry
	}
	name, secret = strings.TrimSpace(name), strings.TrimSpace(secret)
	if named {
		if err := validName(name); err != nil {
			return Token{}, err
		}
	}
	if err := validSecret(secret); err != nil {
		return Token{}, err
	}
	return NewToken(name, secret), nil
}

// Keyring holds the Set in force and replaces it whole: a request reads
// the current Set once and matches against it, so a rotation never shows it
// half a set. The Sets themselves are never modified.
type Keyring struct {
	cur atomic.Pointer[Set]
}

// NewKeyring returns a Keyring holding set.
func NewKeyring(set *Set) *Keyring {
	k := &Keyring{}
	k.cur.Store(set)
	return k
}

// Set returns the Set in force.
func (k *Keyring) Set() *Set { return k.cur.Load() }

// Swap puts set in force and returns the one it replaces.
func (k *Keyring) Swap(set *Set) *Set { return k.cur.Swap(set) }

// Names returns the caller names of the Set in force.
func (k *Keyring) Names() []string { return k.Set().Names() }

// Authenticate matches an Authorization header against the Set in force.
func (k *Keyring) Authenticate(header string) (string, error) { return k.Set().Authenticate(header) }

// Contains reports whether value is a token of the Set in force.
func (k *Keyring) Contains(value string) bool { return k.Set().Contains(value) }

// Changes lists what differs from old to new by caller name only: names
// added, names removed, and names kept whose token was replaced.
func Changes(old, new *Set) (added, removed, replaced []string) {
	before := map[string][sha256.Size]byte{}
	for _, t := range old.tokens {
		before[t.Name] = t.digest
	}
	after := map[string]bool{}
	for _, t := range new.tokens {
		after[t.Name] = true
		d, ok := before[t.Name]
		switch {
		case !ok:
			added = append(added, t.Name)
		case d != t.digest:
			replaced = append(replaced, t.Name)
		}
	}
	for _, t := range old.tokens {
		if !after[t.Name] {
			removed = append(removed, t.Name)
		}
	}
	return added, removed, replaced
}
