package snapshot

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash"
)

// MinKeyLen is the shortest secret NewKey accepts (as for AUDIT_HMAC_KEY).
const MinKeyLen = 16

// keyIDLen is the length of the key id written in every file.
const keyIDLen = 8

// Key is the cache key: it authenticates what the gate writes into the
// cache directory and reads back (slot files, state files) with
// HMAC-SHA-256. Whoever can write the directory but does not hold the key
// cannot write a file the gate loads.
//
// A Key made by NewKey from a configured secret survives restarts: the next
// process loads what this one recorded. EphemeralKey makes a random key for
// one process: only what that process recorded is ever loaded, so a gate
// without a configured key serves no snapshot and trusts no state from
// before its start. The zero Key is not usable; Open replaces it with an
// ephemeral one.
type Key struct {
	secret    []byte
	id        [keyIDLen]byte
	ephemeral bool
}

// NewKey returns the cache key for secret (at least MinKeyLen bytes).
func NewKey(secret []byte) (Key, error) {
	if len(secret) < MinKeyLen {
		return Key{}, fmt.Errorf("cache key: must be at least %d bytes", MinKeyLen)
	}
	k := Key{secret: append([]byte(nil), secret...)}
	// The id names the key in files and logs without revealing it: an
	// HMAC of a fixed string, which nobody without the key can compute.
	m := hmac.New(sha256.New, k.secret)
	m.Write([]byte("quannex-gate cache key id v1"))
	copy(k.id[:], m.Sum(nil))
	return k, nil
}

// EphemeralKey returns a random key that lives as long as the process.
func EphemeralKey() Key {
	secret := make([]byte, 32)
	_, _ = rand.Read(secret) // crypto/rand.Read never fails on supported platforms
	k, _ := NewKey(secret)
	k.ephemeral = true
	return k
}

// ID is the key's id in hex: the first 8 bytes of an HMAC of a fixed
// string under the key. Logs and error messages may show it.
func (k Key) ID() string { return hex.EncodeToString(k.id[:]) }

// Ephemeral reports whether the key was made by EphemeralKey.
func (k Key) Ephemeral() bool { return k.ephemeral }

func (k Key) valid() bool { return len(k.secret) >= MinKeyLen }

func (k Key) mac() hash.Hash { return hmac.New(sha256.New, k.secret) }
