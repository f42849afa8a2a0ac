package gate

import (
	"crypto/ed25519"
	"net/http"

	"github.com/quannex/gameday/gate/httpsig"
)

// SignatureLabel names the gate's signature in Signature-Input and
// Signature.
const SignatureLabel = "sig1"

// SignedComponents are what every signed response's signature covers: the
// body's digest (and through it the body), its content type and the status;
// its parameters created and expires (created + SignatureValidity) are
// covered too. A verifier must also check Repr-Digest against the body,
// and refuse the signature after expires.
var SignedComponents = []string{"repr-digest", "content-type", "@status"}

// newSigner returns the response signer, or nil when no key is configured.
func (s *Server) newSigner() *httpsig.Signer {
	if s.opts.SigningKey == nil {
		return nil
	}
	id := s.opts.SigningKeyID
	if id == "" {
		id = httpsig.KeyID(s.opts.SigningKey.Public().(ed25519.PublicKey))
	}
	s.log.Info("metrics responses are signed (RFC 9421 HTTP Message Signatures, ed25519)",
		"keyid", id, "label", SignatureLabel, "covers", SignedComponents, "validity", s.opts.SignatureValidity.String())
	return &httpsig.Signer{Key: s.opts.SigningKey, KeyID: id, Label: SignatureLabel, Components: SignedComponents,
		Validity: s.opts.SignatureValidity}
}

// sign adds the signature headers for a response with status and the
// headers already in h (Content-Type and Repr-Digest among them). It runs
// before WriteHeader. A failure leaves the response unsigned and is logged:
// a verifier then reports the missing signature, and /metrics still never
// answers 500.
func (s *Server) sign(h http.Header, status int) {
	if s.signer == nil {
		return
	}
	if err := s.signer.Sign(httpsig.Response(status, h)); err != nil {
		s.log.Error("signing a response failed; it goes out unsigned", "status", status, "error", err.Error())
	}
}
