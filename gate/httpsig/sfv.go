package httpsig

import (
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"
)

// The subset of RFC 8941 structured fields that Signature-Input and
// Signature use: a dictionary whose members are inner lists of strings or
// byte sequences, each with parameters whose values are integers, strings,
// tokens or booleans. Decimals are not supported.

// Token is an RFC 8941 token value, serialised without quotes.
type Token string

// Param is one parameter: created, keyid, alg, nonce, tag, ...
type Param struct {
	Key   string
	Value any // int64, string, Token or bool
}

// Params keep the order they were given or parsed in: the signature base
// repeats them in that order.
type Params []Param

// Get returns the value of key, if present.
func (ps Params) Get(key string) (any, bool) {
	for _, p := range ps {
		if p.Key == key {
			return p.Value, true
		}
	}
	return nil, false
}

func (ps Params) append(b *strings.Builder) error {
	for _, p := range ps {
		if !validKey(p.Key) {
			return fmt.Errorf("%w: parameter name %q", ErrMalformed, p.Key)
		}
		b.WriteByte(';')
		b.WriteString(p.Key)
		if v, ok := p.Value.(bool); ok && v {
			continue // a true boolean is the bare key
		}
		b.WriteByte('=')
		if err := appendBareItem(b, p.Value); err != nil {
			return fmt.Errorf("parameter %s: %w", p.Key, err)
		}
	}
	return nil
}

func appendBareItem(b *strings.Builder, v any) error {
	switch v := v.(type) {
	case int64:
		if v > 999_999_999_999_999 || v < -999_999_999_999_999 {
			return fmt.Errorf("%w: integer out of range", ErrMalformed)
		}
		b.WriteString(strconv.FormatInt(v, 10))
	case int:
		return appendBareItem(b, int64(v))
	case string:
		b.WriteByte('"')
		for i := 0; i < len(v); i++ {
			c := v[i]
			if c < 0x20 || c > 0x7e {
				return fmt.Errorf("%w: string holds a byte outside printable ASCII", ErrMalformed)
			}
			if c == '"' || c == '\\' {
				b.WriteByte('\\')
			}
			b.WriteByte(c)
		}
		b.WriteByte('"')
	case Token:
		if !validToken(string(v)) {
			return fmt.Errorf("%w: token %q", ErrMalformed, string(v))
		}
		b.WriteString(string(v))
	case bool:
		if v {
			b.WriteString("?1")
		} else {
			b.WriteString("?0")
		}
	case []byte:
		b.WriteByte(':')
		b.WriteString(base64.StdEncoding.EncodeToString(v))
		b.WriteByte(':')
	default:
		return fmt.Errorf("%w: unsupported value type %T", ErrMalformed, v)
	}
	return nil
}

func validKey(k string) bool {
	if k == "" || !(k[0] >= 'a' && k[0] <= 'z' || k[0] == '*') {
		return false
	}
	for i := 1; i < len(k); i++ {
		c := k[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || strings.IndexByte("_-.*", c) >= 0) {
			return false
		}
	}
	return true
}

func validToken(t string) bool {
	if t == "" || !(t[0] >= 'a' && t[0] <= 'z' || t[0] >= 'A' && t[0] <= 'Z' || t[0] == '*') {
		return false
	}
	for i := 1; i < len(t); i++ {
		if !isTChar(t[i]) && t[i] != ':' && t[i] != '/' {
			return false
		}
	}
	return true
}

func isTChar(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
		strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0
}

// member is one dictionary member: an inner list (items non-nil, maybe
// empty) or a single item, with its parameters.
type member struct {
	key    string
	inner  bool
	items  []any // the inner list's items; for a single item, items[0]
	params Params
}

// parser reads an RFC 8941 dictionary (§4.2.2).
type parser struct {
	s string
	i int
}

func (p *parser) fail(what string) error {
	return fmt.Errorf("%w: %s at offset %d", ErrMalformed, what, p.i)
}

func (p *parser) peek() byte {
	if p.i < len(p.s) {
		return p.s[p.i]
	}
	return 0
}

func (p *parser) skipSP() {
	for p.i < len(p.s) && p.s[p.i] == ' ' {
		p.i++
	}
}

func (p *parser) skipOWS() {
	for p.i < len(p.s) && (p.s[p.i] == ' ' || p.s[p.i] == '\t') {
		p.i++
	}
}

func parseDictionary(s string) ([]member, error) {
	p := &parser{s: s}
	p.skipSP()
	var out []member
	for p.i < len(p.s) {
		key, err := p.key()
		if err != nil {
			return nil, err
		}
		m := member{key: key}
		if p.peek() == '=' {
			p.i++
			if p.peek() == '(' {
				m.inner = true
				if m.items, err = p.innerList(); err != nil {
					return nil, err
				}
			} else {
				it, err := p.bareItem()
				if err != nil {
					return nil, err
				}
				m.items = []any{it}
			}
		} else {
			m.items = []any{true}
		}
		if m.params, err = p.params(); err != nil {
			return nil, err
		}
		replaced := false
		for i := range out {
			if out[i].key == key { // a later duplicate wins (§4.2.2)
				out[i], replaced = m, true
			}
		}
		if !replaced {
			out = append(out, m)
		}
		p.skipOWS()
		if p.i == len(p.s) {
			return out, nil
		}
		if p.peek() != ',' {
			return nil, p.fail("want ',' between members")
		}
		p.i++
		p.skipOWS()
		if p.i == len(p.s) {
			return nil, p.fail("trailing ','")
		}
	}
	return out, nil
}

func (p *parser) key() (string, error) {
	start := p.i
	if c := p.peek(); !(c >= 'a' && c <= 'z' || c == '*') {
		return "", p.fail("want a key")
	}
	for p.i < len(p.s) {
		c := p.s[p.i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || strings.IndexByte("_-.*", c) >= 0) {
			break
		}
		p.i++
	}
	return p.s[start:p.i], nil
}

func (p *parser) innerList() ([]any, error) {
	p.i++ // '('
	items := []any{}
	for {
		p.skipSP()
		if p.peek() == ')' {
			p.i++
			return items, nil
		}
		it, err := p.bareItem()
		if err != nil {
			return nil, err
		}
		ps, err := p.params()
		if err != nil {
			return nil, err
		}
		if len(ps) > 0 {
			return nil, fmt.Errorf("%w: component parameters (such as ;sf or ;req) are not supported", ErrUnsupported)
		}
		items = append(items, it)
		if c := p.peek(); c != ' ' && c != ')' {
			return nil, p.fail("want ' ' or ')' in an inner list")
		}
	}
}

func (p *parser) params() (Params, error) {
	var ps Params
	for p.peek() == ';' {
		p.i++
		p.skipSP()
		k, err := p.key()
		if err != nil {
			return nil, err
		}
		var v any = true
		if p.peek() == '=' {
			p.i++
			if v, err = p.bareItem(); err != nil {
				return nil, err
			}
		}
		replaced := false
		for i := range ps {
			if ps[i].Key == k {
				ps[i].Value, replaced = v, true
			}
		}
		if !replaced {
			ps = append(ps, Param{Key: k, Value: v})
		}
	}
	return ps, nil
}

func (p *parser) bareItem() (any, error) {
	c := p.peek()
	switch {
	case c == '-' || c >= '0' && c <= '9':
		start := p.i
		if c == '-' {
			p.i++
		}
		for p.i < len(p.s) && p.s[p.i] >= '0' && p.s[p.i] <= '9' {
			p.i++
		}
		if p.peek() == '.' {
			return nil, fmt.Errorf("%w: decimal values are not supported", ErrUnsupported)
		}
		digits := p.s[start:p.i]
		if len(strings.TrimPrefix(digits, "-")) == 0 || len(strings.TrimPrefix(digits, "-")) > 15 {
			return nil, p.fail("bad integer")
		}
		n, err := strconv.ParseInt(digits, 10, 64)
		if err != nil {
			return nil, p.fail("bad integer")
		}
		return n, nil
	case c == '"':
		p.i++
		var b strings.Builder
		for p.i < len(p.s) {
			c := p.s[p.i]
			p.i++
			switch {
			case c == '\\':
				if p.i == len(p.s) || p.s[p.i] != '"' && p.s[p.i] != '\\' {
					return nil, p.fail("bad escape in a string")
				}
				b.WriteByte(p.s[p.i])
				p.i++
			case c == '"':
				return b.String(), nil
			case c < 0x20 || c > 0x7e:
				return nil, p.fail("byte outside printable ASCII in a string")
			default:
				b.WriteByte(c)
			}
		}
		return nil, p.fail("unterminated string")
	case c == ':':
		p.i++
		end := strings.IndexByte(p.s[p.i:], ':')
		if end < 0 {
			return nil, p.fail("unterminated byte sequence")
		}
		b, err := base64.StdEncoding.DecodeString(p.s[p.i : p.i+end])
		if err != nil {
			return nil, p.fail("byte sequence is not base64")
		}
		p.i += end + 1
		return b, nil
	case c == '?':
		p.i++
		switch p.peek() {
		case '0':
			p.i++
			return false, nil
		case '1':
			p.i++
			return true, nil
		}
		return nil, p.fail("bad boolean")
	case c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '*':
		start := p.i
		for p.i < len(p.s) && (isTChar(p.s[p.i]) || p.s[p.i] == ':' || p.s[p.i] == '/') {
			p.i++
		}
		return Token(p.s[start:p.i]), nil
	}
	return nil, p.fail("want an item")
}
