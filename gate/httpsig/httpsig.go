// Package httpsig signs and verifies HTTP messages with RFC 9421 HTTP
// Message Signatures, using ed25519 keys (alg "ed25519").
//
// It implements the subset the gate needs, not the whole RFC: components
// are header fields (by lowercase name, without ;sf, ;key, ;bs or ;req
// parameters) and the derived components @status (responses) and
// @method, @authority, @path and @query (requests); parameters are
// created, expires, nonce, alg, keyid and tag, kept in the order given.
// Signature-Input is serialised as an RFC 8941 dictionary of inner lists
// and Signature as a dictionary of byte sequences (§4).
//
// A signature proves that the holder of the private key produced the
// covered components. It says nothing about the body unless a digest of
// the body (Repr-Digest, RFC 9530) is among them: check that digest
// against the body too. Key files (PKCS#8 and PKIX PEM) and key ids are in
// keys.go. Unkeyed digests (LIVESHA, Repr-Digest) live in gate/integrity.
package httpsig

import (
	"crypto/ed25519"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Header names.
const (
	HeaderSignatureInput = "Signature-Input"
	HeaderSignature      = "Signature"
)

// Alg is the only algorithm this package signs and verifies with.
const Alg = "ed25519"

// Errors callers branch on.
var (
	ErrNoSignature      = errors.New("message carries no signature")
	ErrMalformed        = errors.New("malformed signature field")
	ErrUnsupported      = errors.New("unsupported signature feature")
	ErrMissingComponent = errors.New("covered component absent from the message")
	ErrNotCovered       = errors.New("signature does not cover a required component")
	ErrAlg              = errors.New("signature algorithm is not ed25519")
	ErrBadSignature     = errors.New("signature does not verify")
	ErrKey              = errors.New("not a usable ed25519 key")
	ErrExpired          = errors.New("signature expired")
	ErrTooOld           = errors.New("signature older than the maximum age")
	ErrNotYetValid      = errors.New("signature created in the future")
)

// DefaultSkew is how far the signer's clock and the verifier's may differ
// before created or expires count against a signature.
const DefaultSkew = 30 * time.Second

// Message is the HTTP message a signature covers: a response (its status
// and header) or a request.
type Message struct {
	header http.Header
	status int           // responses
	req    *http.Request // requests
}

// Response is a response message with status and header h.
func Response(status int, h http.Header) Message { return Message{header: h, status: status} }

// Request is the request message r.
func Request(r *http.Request) Message { return Message{header: r.Header, req: r} }

// Header is the message's header.
func (m Message) Header() http.Header { return m.header }

// value returns the canonical value of one component (§2.1, §2.2).
func (m Message) value(id string) (string, error) {
	if !strings.HasPrefix(id, "@") {
		if id != strings.ToLower(id) || id == "" {
			return "", fmt.Errorf("%w: component %q: field names are lowercase", ErrMalformed, id)
		}
		vs, ok := m.header[http.CanonicalHeaderKey(id)]
		if !ok {
			return "", fmt.Errorf("%w: %s", ErrMissingComponent, id)
		}
		// Each field line trimmed, all lines joined with ", " (§2.1).
		parts := make([]string, len(vs))
		for i, v := range vs {
			parts[i] = strings.Trim(v, " \t")
		}
		return strings.Join(parts, ", "), nil
	}
	if id == "@status" {
		if m.req != nil || m.status < 100 || m.status > 999 {
			return "", fmt.Errorf("%w: @status is for responses", ErrMissingComponent)
		}
		return strconv.Itoa(m.status), nil
	}
	r := m.req
	switch id {
	case "@method", "@authority", "@path", "@query":
		if r == nil {
			return "", fmt.Errorf("%w: %s is for requests", ErrMissingComponent, id)
		}
	default:
		return "", fmt.Errorf("%w: derived component %s", ErrUnsupported, id)
	}
	switch id {
	case "@method":
		if r.Method == "" {
			return http.MethodGet, nil
		}
		return r.Method, nil
	case "@authority":
		return authority(r), nil
	case "@path":
		if p := r.URL.EscapedPath(); p != "" {
			return p, nil
		}
		return "/", nil
	default: // @query
		return "?" + r.URL.RawQuery, nil
	}
}

// authority is the request's host, lowercase, without the scheme's
// default port (§2.2.3).
func authority(r *http.Request) string {
	host := r.Host
	if host == "" {
		host = r.URL.Host
	}
	host = strings.ToLower(host)
	scheme := r.URL.Scheme
	if scheme == "" {
		scheme = "http"
		if r.TLS != nil {
			scheme = "https"
		}
	}
	if scheme == "http" {
		return strings.TrimSuffix(host, ":80")
	}
	if scheme == "https" {
		return strings.TrimSuffix(host, ":443")
	}
	return host
}

// Input is one signature's covered components and parameters: the value of
// its member in Signature-Input and of the @signature-params line.
type Input struct {
	Components []string // component identifiers, e.g. "@status", "content-type"
	Params     Params
}

// String serialises in as an inner list with parameters.
func (in Input) String() string {
	s, err := in.serialise()
	if err != nil {
		return "<" + err.Error() + ">"
	}
	return s
}

func (in Input) serialise() (string, error) {
	var b strings.Builder
	b.WriteByte('(')
	for i, c := range in.Components {
		if i > 0 {
			b.WriteByte(' ')
		}
		if err := appendBareItem(&b, c); err != nil {
			return "", fmt.Errorf("component %q: %w", c, err)
		}
	}
	b.WriteByte(')')
	if err := in.Params.append(&b); err != nil {
		return "", err
	}
	return b.String(), nil
}

// Base builds the signature base of m for in (§2.5): one line per covered
// component, then the @signature-params line, with no trailing newline.
func Base(m Message, in Input) ([]byte, error) {
	params, err := in.serialise()
	if err != nil {
		return nil, err
	}
	var b strings.Builder
	seen := map[string]bool{}
	for _, c := range in.Components {
		if seen[c] {
			return nil, fmt.Errorf("%w: component %q covered twice", ErrMalformed, c)
		}
		seen[c] = true
		if c == "@signature-params" {
			return nil, fmt.Errorf("%w: @signature-params cannot be covered", ErrMalformed)
		}
		v, err := m.value(c)
		if err != nil {
			return nil, err
		}
		if strings.ContainsAny(v, "\r\n") {
			return nil, fmt.Errorf("%w: component %q holds a line break", ErrMalformed, c)
		}
		appendBareItem(&b, c) // validated by serialise
		b.WriteString(": ")
		b.WriteString(v)
		b.WriteByte('\n')
	}
	b.WriteString(`"@signature-params": `)
	b.WriteString(params)
	return []byte(b.String()), nil
}

// SignInput signs m for in with key and returns the Signature-Input and
// Signature member values for label, e.g. `sig1=("@status");created=1` and
// `sig1=:BASE64:`.
func SignInput(m Message, label string, in Input, key ed25519.PrivateKey) (sigInput, sig string, err error) {
	if len(key) != ed25519.PrivateKeySize {
		return "", "", fmt.Errorf("sign: %w", ErrKey)
	}
	if !validKey(label) {
		return "", "", fmt.Errorf("sign: %w: label %q", ErrMalformed, label)
	}
	base, err := Base(m, in)
	if err != nil {
		return "", "", fmt.Errorf("sign: %w", err)
	}
	s := ed25519.Sign(key, base)
	return label + "=" + in.String(), label + "=:" + base64.StdEncoding.EncodeToString(s) + ":", nil
}

// Signer signs messages with one key, covering the same components each
// time, with the parameters created, expires (with a Validity), keyid and
// alg.
type Signer struct {
	Key        ed25519.PrivateKey
	KeyID      string
	Label      string   // the member name, e.g. "sig1"
	Components []string // covered, in this order
	// Validity, if positive, sets expires that long after created: a
	// verifier refuses the signature after it, so a recorded message
	// cannot be replayed as fresh for longer.
	Validity time.Duration
	Now      func() time.Time // nil: time.Now
}

// Sign sets m's Signature-Input and Signature headers, replacing any.
func (s *Signer) Sign(m Message) error {
	now := time.Now
	if s.Now != nil {
		now = s.Now
	}
	created := now().Unix()
	params := Params{{"created", created}}
	if s.Validity > 0 {
		params = append(params, Param{"expires", created + int64((s.Validity+time.Second-1)/time.Second)})
	}
	in := Input{Components: s.Components, Params: append(params, Param{"keyid", s.KeyID}, Param{"alg", Alg})}
	sigInput, sig, err := SignInput(m, s.Label, in, s.Key)
	if err != nil {
		return err
	}
	m.header.Set(HeaderSignatureInput, sigInput)
	m.header.Set(HeaderSignature, sig)
	return nil
}

// VerifyOptions say which signature to check and what it must cover.
type VerifyOptions struct {
	// Label picks the signature; "" takes the only one (several: an error).
	Label string
	// Required components must all be covered.
	Required []string
	// Now is the verifier's clock (nil: time.Now). A signature whose
	// expires has passed (ErrExpired) or whose created is ahead of it
	// (ErrNotYetValid), by more than Skew, fails.
	Now func() time.Time
	// MaxAge, if positive, also fails a signature created longer ago
	// than it, or carrying no created (ErrTooOld).
	MaxAge time.Duration
	// Skew allowed between the clocks (0: DefaultSkew).
	Skew time.Duration
}

// Verified describes a signature that verified.
type Verified struct {
	Label   string
	Input   Input
	KeyID   string    // the keyid parameter, "" if absent
	Created time.Time // zero if absent
	Expires time.Time // zero if absent
}

// Verify checks m's signature against pub. The error names what failed:
// no signature (ErrNoSignature), a malformed field, a required component
// not covered (ErrNotCovered) or absent (ErrMissingComponent), another
// algorithm (ErrAlg), or a signature that does not match (ErrBadSignature).
func Verify(m Message, pub ed25519.PublicKey, o VerifyOptions) (Verified, error) {
	if len(pub) != ed25519.PublicKeySize {
		return Verified{}, fmt.Errorf("verify: %w", ErrKey)
	}
	rawIn, rawSig := m.header.Values(HeaderSignatureInput), m.header.Values(HeaderSignature)
	switch {
	case len(rawIn) == 0 && len(rawSig) == 0:
		return Verified{}, ErrNoSignature
	case len(rawIn) == 0:
		return Verified{}, fmt.Errorf("%w: Signature header without Signature-Input", ErrNoSignature)
	case len(rawSig) == 0:
		return Verified{}, fmt.Errorf("%w: Signature-Input header without Signature", ErrNoSignature)
	}
	inputs, err := parseDictionary(strings.Join(rawIn, ", "))
	if err != nil {
		return Verified{}, fmt.Errorf("Signature-Input: %w", err)
	}
	sigs, err := parseDictionary(strings.Join(rawSig, ", "))
	if err != nil {
		return Verified{}, fmt.Errorf("Signature: %w", err)
	}
	label := o.Label
	if label == "" {
		if len(inputs) != 1 {
			return Verified{}, fmt.Errorf("%w: Signature-Input holds %d signatures; name one", ErrUnsupported, len(inputs))
		}
		label = inputs[0].key
	}
	var in, sg *member
	for i := range inputs {
		if inputs[i].key == label {
			in = &inputs[i]
		}
	}
	for i := range sigs {
		if sigs[i].key == label {
			sg = &sigs[i]
		}
	}
	if in == nil || sg == nil {
		return Verified{}, fmt.Errorf("%w: no signature labelled %q in both Signature-Input and Signature", ErrNoSignature, label)
	}
	if !in.inner {
		return Verified{}, fmt.Errorf("Signature-Input %s: %w: not an inner list", label, ErrMalformed)
	}
	sigBytes, ok := sg.items[0].([]byte)
	if sg.inner || !ok {
		return Verified{}, fmt.Errorf("Signature %s: %w: not a byte sequence", label, ErrMalformed)
	}
	v := Verified{Label: label, Input: Input{Params: in.params}}
	for _, it := range in.items {
		c, ok := it.(string)
		if !ok {
			return Verified{}, fmt.Errorf("Signature-Input %s: %w: component identifiers are strings", label, ErrMalformed)
		}
		v.Input.Components = append(v.Input.Components, c)
	}
	for _, req := range o.Required {
		found := false
		for _, c := range v.Input.Components {
			found = found || c == req
		}
		if !found {
			return Verified{}, fmt.Errorf("%w: %s (signature %s covers %s)", ErrNotCovered, req, label, v.Input.String())
		}
	}
	if a, ok := in.params.Get("alg"); ok {
		if s, _ := a.(string); s != Alg {
			return Verified{}, fmt.Errorf("%w: alg %v", ErrAlg, a)
		}
	}
	if k, ok := in.params.Get("keyid"); ok {
		v.KeyID, _ = k.(string)
	}
	for _, p := range []struct {
		name string
		dst  *time.Time
	}{{"created", &v.Created}, {"expires", &v.Expires}} {
		if c, ok := in.params.Get(p.name); ok {
			n, ok := c.(int64)
			if !ok {
				return Verified{}, fmt.Errorf("Signature-Input %s: %w: %s is not an integer", label, ErrMalformed, p.name)
			}
			*p.dst = time.Unix(n, 0).UTC()
		}
	}
	base, err := Base(m, v.Input)
	if err != nil {
		return Verified{}, err
	}
	if !ed25519.Verify(pub, base, sigBytes) {
		return Verified{}, fmt.Errorf("%w: signature %s (keyid %q)", ErrBadSignature, label, v.KeyID)
	}
	if err := o.checkTimes(v); err != nil {
		return Verified{}, fmt.Errorf("signature %s: %w", label, err)
	}
	return v, nil
}

// checkTimes applies the verifier's clock to a signature that verified:
// created and expires are covered by it, so only the signer could have
// set them.
func (o VerifyOptions) checkTimes(v Verified) error {
	now, skew := time.Now(), o.Skew
	if o.Now != nil {
		now = o.Now()
	}
	if skew <= 0 {
		skew = DefaultSkew
	}
	switch {
	case !v.Expires.IsZero() && now.After(v.Expires.Add(skew)):
		return fmt.Errorf("%w at %s (created %s), %s ago", ErrExpired, v.Expires.Format(time.RFC3339),
			v.Created.Format(time.RFC3339), now.Sub(v.Expires).Round(time.Second))
	case !v.Created.IsZero() && v.Created.After(now.Add(skew)):
		return fmt.Errorf("%w: created %s, %s ahead of this clock", ErrNotYetValid, v.Created.Format(time.RFC3339), v.Created.Sub(now).Round(time.Second))
	case o.MaxAge > 0 && v.Created.IsZero():
		return fmt.Errorf("%w: no created parameter to tell its age", ErrTooOld)
	case o.MaxAge > 0 && now.Sub(v.Created) > o.MaxAge:
		return fmt.Errorf("%w %s: created %s, %s ago", ErrTooOld, o.MaxAge, v.Created.Format(time.RFC3339), now.Sub(v.Created).Round(time.Second))
	}
	return nil
}
