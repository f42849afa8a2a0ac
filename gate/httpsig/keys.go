package httpsig

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"fmt"
)

// Key files are PEM: the private key PKCS#8 ("PRIVATE KEY", what
// `openssl genpkey -algorithm ed25519` writes), the public key PKIX
// ("PUBLIC KEY", what `openssl pkey -pubout` writes). Errors describe the
// file's kind and never quote its content.

// KeyID names pub: the first 16 hex digits of the SHA-256 of its 32 raw
// bytes. It tells keys apart in logs and in the keyid parameter; it is not
// a secret and proves nothing by itself.
func KeyID(pub ed25519.PublicKey) string {
	sum := sha256.Sum256(pub)
	return hex.EncodeToString(sum[:8])
}

// ParsePrivateKey reads an ed25519 private key from PKCS#8 PEM.
func ParsePrivateKey(pemBytes []byte) (ed25519.PrivateKey, error) {
	block, _ := pem.Decode(pemBytes)
	if block == nil {
		return nil, fmt.Errorf("%w: no PEM block (want a PKCS#8 \"PRIVATE KEY\")", ErrKey)
	}
	if block.Type != "PRIVATE KEY" {
		return nil, fmt.Errorf("%w: PEM block is %q, want a PKCS#8 \"PRIVATE KEY\" holding an ed25519 key", ErrKey, block.Type)
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("%w: PKCS#8 does not parse", ErrKey)
	}
	ek, ok := k.(ed25519.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("%w: holds %s key, want ed25519", ErrKey, keyKind(k))
	}
	return ek, nil
}

// ParsePublicKey reads an ed25519 public key from PKIX PEM.
func ParsePublicKey(pemBytes []byte) (ed25519.PublicKey, error) {
	block, _ := pem.Decode(pemBytes)
	if block == nil {
		return nil, fmt.Errorf("%w: no PEM block (want a \"PUBLIC KEY\")", ErrKey)
	}
	if block.Type != "PUBLIC KEY" {
		return nil, fmt.Errorf("%w: PEM block is %q, want a \"PUBLIC KEY\" holding an ed25519 key", ErrKey, block.Type)
	}
	k, err := x509.ParsePKIXPublicKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("%w: PKIX public key does not parse", ErrKey)
	}
	ek, ok := k.(ed25519.PublicKey)
	if !ok {
		return nil, fmt.Errorf("%w: holds %s key, want ed25519", ErrKey, keyKind(k))
	}
	return ek, nil
}

// MarshalPrivateKey encodes key as PKCS#8 PEM.
func MarshalPrivateKey(key ed25519.PrivateKey) ([]byte, error) {
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("marshal private key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
}

// MarshalPublicKey encodes pub as PKIX PEM.
func MarshalPublicKey(pub ed25519.PublicKey) ([]byte, error) {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil, fmt.Errorf("marshal public key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), nil
}

func keyKind(k any) string {
	switch k.(type) {
	case *rsa.PrivateKey, *rsa.PublicKey:
		return "an RSA"
	case *ecdsa.PrivateKey, *ecdsa.PublicKey:
		return "an ECDSA"
	default:
		return fmt.Sprintf("a %T", k)
	}
}
