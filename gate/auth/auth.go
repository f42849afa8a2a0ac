// Package auth authenticates bearer tokens for the gate.
//
// It parses the METRICS_TOKENS list (`token` or `name:token`, comma
// separated) and token files (one such entry per line, see ParseFile),
// parses Authorization headers, and matches a presented token against the
// configured ones in constant time. A Keyring holds the Set in force and
// swaps it whole when a token file is re-read; watching files is the
// gate's job, not this package's. Only SHA-256 digests of the
// tokens are kept in memory; the plain tokens are dropped once parsed.
//
// Nothing in this package ever puts a token into an error, a log line or a
// String method: callers may log any value it returns. Rate limiting and HTTP
// status codes live elsewhere (package ratelimit and package gate).
package auth

import (
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Limits on what is accepted as a token. They keep headers small and stop
// trivially guessable tokens from being configured.
const (
	MinTokenLen = 16
	MaxTokenLen = 512
	maxNameLen  = 64
)

// Sentinel errors; callers branch on them with errors.Is and turn them into
// a reason label (Reason) and an HTTP status at the edge.
var (
	ErrMissing   = errors.New("missing Authorization header")
	ErrMalformed = errors.New("malformed Authorization header")
	ErrScheme    = errors.New("Authorization scheme is not Bearer")
	ErrUnknown   = errors.New("unknown token")
)

// Reason maps an authentication error to the short label used in metrics,
// logs and the audit log.
func Reason(err error) string {
	switch {
	case errors.Is(err, ErrMissing):
		return "missing"
	case errors.Is(err, ErrScheme):
		return "wrong_scheme"
	case errors.Is(err, ErrMalformed):
		return "malformed"
	case errors.Is(err, ErrUnknown):
		return "unknown_token"
	default:
		return "error"
	}
}

// Token is one configured credential: its caller name and the digest of the
// secret. The secret itself is not kept.
type Token struct {
	Name   string
	digest [sha256.Size]byte
}

// Digest returns the SHA-256 digest of a token. Exported so that tests and
// the harness can compare without keeping the plain token around.
func Digest(token string) [sha256.Size]byte { return sha256.Sum256([]byte(token)) }

// NewToken returns a credential for name with the given secret. The name is
// taken as given; ParseList names unnamed entries with UnnamedName.
func NewToken(name, secret string) Token {
	return Token{Name: name, digest: Digest(secret)}
}

// UnnamedName is the caller name of an unnamed METRICS_TOKENS entry at
// position pos (1-based): "token-1", "token-2"… It says nothing about the
// secret: a name derived from the token's digest would be a fingerprint of
// it in every log line, metric label and audit entry, and an unsalted one
// can be checked against a guess. The price is that the name follows the
// entry's position, so reordering the list renames unnamed tokens; give a
// token a name (`name:token`) when its label must stay put.
func UnnamedName(pos int) string { return "token-" + strconv.Itoa(pos) }

// ParseList parses a METRICS_TOKENS value. Entries are separated by commas;
// each is `token` or `name:token` (split at the first colon, so a name cannot
// contain one). Surrounding white space is ignored. Errors name the entry by
// position and never quote it.
func ParseList(s string) ([]Token, error) {
	if strings.TrimSpace(s) == "" {
		return nil, errors.New("no tokens: expected `token` or `name:token`, comma separated")
	}
	var (
		out     []Token
		names   = map[string]int{}
		digests = map[[sha256.Size]byte]int{}
	)
	for i, raw := range strings.Split(s, ",") {
		pos := i + 1
		entry := strings.TrimSpace(raw)
		if entry == "" {
			return nil, fmt.Errorf("entry %d is empty", pos)
		}
		name, secret, named := strings.Cut(entry, ":")
		if !named {
			name, secret = UnnamedName(pos), entry
		}
		name, secret = strings.TrimSpace(name), strings.TrimSpace(secret)
		if named {
			if err := validName(name); err != nil {
				return nil, fmt.Errorf("entry %d: %w", pos, err)
			}
		}
		if err := validSecret(secret); err != nil {
			return nil, fmt.Errorf("entry %d: %w", pos, err)
		}
		t := NewToken(name, secret)
		if j, dup := names[t.Name]; dup {
			return nil, fmt.Errorf("entry %d: name %q already used by entry %d", pos, t.Name, j)
		}
		if j, dup := digests[t.digest]; dup {
			return nil, fmt.Errorf("entry %d: same token as entry %d", pos, j)
		}
		names[t.Name], digests[t.digest] = pos, pos
		out = append(out, t)
	}
	return out, nil
}

func validName(name string) error {
	if name == "" {
		return errors.New("empty name before ':'")
	}
	if len(name) > maxNameLen {
		return fmt.Errorf("name longer than %d characters", maxNameLen)
	}
	for _, r := range name {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '-' || r == '.') {
			return errors.New("name may only contain letters, digits, '_', '-' and '.'")
		}
	}
	return nil
}

func validSecret(secret string) error {
	switch {
	case secret == "":
		return errors.New("empty token")
	case len(secret) < MinTokenLen:
		return fmt.Errorf("token shorter than %d characters", MinTokenLen)
	case len(secret) > MaxTokenLen:
		return fmt.Errorf("token longer than %d characters", MaxTokenLen)
	}
	for i := 0; i < len(secret); i++ {
		if !isToken68(secret[i]) {
			return errors.New("token has a character not allowed in a bearer token (RFC 6750 b64token)")
		}
	}
	return nil
}

// isToken68 reports whether c may appear in an RFC 6750 b64token
// (ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/", with trailing "=").
func isToken68(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
		c == '-' || c == '.' || c == '_' || c == '~' || c == '+' || c == '/' || c == '='
}

// ParseAuthorization extracts the bearer token from an Authorization header
// value. The scheme is case-insensitive; exactly one token must follow.
func ParseAuthorization(header string) (string, error) {
	if header == "" {
		return "", ErrMissing
	}
	if len(header) > MaxTokenLen+len("Bearer ")+16 {
		return "", fmt.Errorf("%w: too long", ErrMalformed)
	}
	scheme, rest, ok := strings.Cut(header, " ")
	if !ok {
		if strings.EqualFold(header, "bearer") {
			return "", fmt.Errorf("%w: no token after the scheme", ErrMalformed)
		}
		return "", ErrScheme
	}
	if !strings.EqualFold(scheme, "bearer") {
		return "", ErrScheme
	}
	token := strings.TrimLeft(rest, " ")
	if token == "" {
		return "", fmt.Errorf("%w: no token after the scheme", ErrMalformed)
	}
	for i := 0; i < len(token); i++ {
		if !isToken68(token[i]) {
			return "", fmt.Errorf("%w: token has characters outside RFC 6750 b64token", ErrMalformed)
		}
	}
	// "=" is only allowed as trailing padding.
	if trimmed := strings.TrimRight(token, "="); strings.Contains(trimmed, "=") || trimmed == "" {
		return "", fmt.Errorf("%w: '=' only allowed at the end of a token", ErrMalformed)
	}
	return token, nil
}

// Set matches presented tokens against a fixed list of credentials.
type Set struct {
	tokens []Token
}

// NewSet returns a Set over tokens. It keeps the slice it is given.
func NewSet(tokens []Token) *Set { return &Set{tokens: tokens} }

// Len reports how many credentials the set holds.
func (s *Set) Len() int { return len(s.tokens) }

// Names returns the caller names in configuration order.
func (s *Set) Names() []string {
	out := make([]string, len(s.tokens))
	for i, t := range s.tokens {
		out[i] = t.Name
	}
	return out
}

// Match returns the name of the credential whose token equals presented. It
// compares against every credential with subtle.ConstantTimeCompare and does
// not stop at the first match, so the time taken does not reveal which entry,
// or how much of a token, matched.
func (s *Set) Match(presented string) (string, error) {
	d := Digest(presented)
	found := -1
	for i := range s.tokens {
		if subtle.ConstantTimeCompare(d[:], s.tokens[i].digest[:]) == 1 {
			found = i
		}
	}
	if found < 0 {
		return "", ErrUnknown
	}
	return s.tokens[found].Name, nil
}

// Authenticate parses an Authorization header value and matches its token.
// It returns the caller's name, never the token.
func (s *Set) Authenticate(header string) (string, error) {
	tok, err := ParseAuthorization(header)
	if err != nil {
		return "", err
	}
	return s.Match(tok)
}

// SharedSecret reports a credential of a and one of b that hold the same
// secret, by their names: one secret in two roles (a metrics token that is
// also the admin token) is refused at start and at a re-read.
func SharedSecret(a, b *Set) (nameA, nameB string, shared bool) {
	for _, x := range a.tokens {
		for _, y := range b.tokens {
			if subtle.ConstantTimeCompare(x.digest[:], y.digest[:]) == 1 {
				return x.Name, y.Name, true
			}
		}
	}
	return "", "", false
}

// Contains reports whether value is one of the configured tokens; the gate
// uses it to spot a token pasted into a query string.
func (s *Set) Contains(value string) bool {
	_, err := s.Match(value)
	return err == nil
}
