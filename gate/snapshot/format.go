package snapshot

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"time"
)

// The slot file format; see the package documentation.
const (
	magic = "QNXSNAP3"
	// Earlier formats, unkeyed: recognised to say so, never loaded.
	magicV2 = "QNXSNAP2"
	magicV1 = "QNXSNAP1"

	offMAC   = len(magic)
	offKeyID = offMAC + sha256.Size
	offSeq   = offKeyID + keyIDLen
	offMeta  = offSeq + 8
	offBody  = offMeta + 4
	// headerLen is the fixed part before the metadata.
	headerLen = offBody + 4
	// maxMetaLen bounds the metadata: the gate writes about 250 bytes, and
	// the HMAC'd prefix must stay inside the file's first disk sector.
	maxMetaLen = 448
	// padTo is the multiple slot files are padded to.
	padTo = 4 << 10
)

// fileSize is the size of a slot file holding metadata and body of these
// lengths.
func fileSize(metaLen, bodyLen int) int {
	n := headerLen + metaLen + bodyLen
	return (n + padTo - 1) / padTo * padTo
}

// encode appends one slot file's bytes to buf: header, metadata, body and
// zero padding, the HMAC under key covering the magic and the header and
// metadata after it.
func encode(buf []byte, key Key, seq uint64, meta, body []byte) []byte {
	n := headerLen + len(meta) + len(body)
	size := fileSize(len(meta), len(body))
	buf = slices.Grow(buf, size)[:size]
	copy(buf, magic)
	copy(buf[offKeyID:], key.id[:])
	binary.BigEndian.PutUint64(buf[offSeq:], seq)
	binary.BigEndian.PutUint32(buf[offMeta:], uint32(len(meta)))
	binary.BigEndian.PutUint32(buf[offBody:], uint32(len(body)))
	copy(buf[headerLen:], meta)
	copy(buf[headerLen+len(meta):], body)
	clear(buf[n:])
	copy(buf[offMAC:], headerMAC(key, buf[:headerLen+len(meta)]))
	return buf
}

// headerMAC is the HMAC of a slot file's authenticated prefix (everything
// up to the body, the MAC field skipped).
func headerMAC(key Key, prefix []byte) []byte {
	m := key.mac()
	m.Write(prefix[:offMAC])
	m.Write(prefix[offKeyID:])
	return m.Sum(nil)
}

// header is a slot file's authenticated header.
type header struct {
	seq     uint64
	metaLen int
	bodyLen int
	meta    Meta
}

// decodeHeader checks a slot file's prefix (its first bytes, at least the
// header and metadata when the file has them) against key. It never
// panics, whatever the input (see FuzzDecode).
func decodeHeader(prefix []byte, key Key) (*header, *RejectError) {
	bad := func(reason, detail string) (*header, *RejectError) {
		return nil, &RejectError{Reason: reason, Detail: detail}
	}
	switch {
	case bytes.HasPrefix(prefix, []byte(magicV2)), bytes.HasPrefix(prefix, []byte(magicV1)):
		return bad(ReasonUnauthenticated, fmt.Sprintf("earlier unkeyed format %s: never loaded, since anyone who can write the cache directory could have written it", prefix[:len(magic)]))
	case !bytes.HasPrefix(prefix, []byte(magic)):
		return bad(ReasonUnauthenticated, "not a slot file (no QNXSNAP3 header)")
	case len(prefix) < headerLen:
		return bad(ReasonCorrupt, "shorter than the header")
	}
	if id := prefix[offKeyID:offSeq]; !bytes.Equal(id, key.id[:]) {
		return bad(ReasonOtherKey, fmt.Sprintf("written under cache key %s, not this gate's %s", hex.EncodeToString(id), key.ID()))
	}
	h := &header{
		seq:     binary.BigEndian.Uint64(prefix[offSeq:]),
		metaLen: int(binary.BigEndian.Uint32(prefix[offMeta:])),
		bodyLen: int(binary.BigEndian.Uint32(prefix[offBody:])),
	}
	if h.metaLen > maxMetaLen || headerLen+h.metaLen > len(prefix) {
		// Without the metadata there is nothing to authenticate: a file
		// this short was cut, a length this long was never written.
		return bad(ReasonCorrupt, "metadata length in the header exceeds the file or the format's limit")
	}
	if !hmac.Equal(headerMAC(key, prefix[:headerLen+h.metaLen]), prefix[offMAC:offKeyID]) {
		return bad(ReasonUnauthenticated, "HMAC does not verify under this gate's cache key: written without the key, or altered")
	}
	if err := json.Unmarshal(prefix[headerLen:headerLen+h.metaLen], &h.meta); err != nil {
		return bad(ReasonCorrupt, "metadata is not valid JSON")
	}
	return h, nil
}

// verifyBody checks what follows the metadata (body and padding) against
// an authentic header, and the generation time against now.
func (h *header) verifyBody(rest []byte, now time.Time) (*Snapshot, *RejectError) {
	bad := func(reason, detail string) (*Snapshot, *RejectError) {
		return nil, &RejectError{Reason: reason, Detail: detail}
	}
	m := h.meta
	switch {
	case h.bodyLen > len(rest):
		return bad(ReasonCorrupt, "body length in the header exceeds the file")
	case m.Kind != KindText && m.Kind != KindOpenMetrics:
		return bad(ReasonCorrupt, "unknown kind in the metadata")
	case m.ContentType == "":
		return bad(ReasonCorrupt, "metadata has no content type")
	case m.GeneratedAt.IsZero():
		return bad(ReasonCorrupt, "metadata has no generation time")
	case m.Size != h.bodyLen:
		return bad(ReasonCorrupt, fmt.Sprintf("size mismatch: metadata says %d bytes, header %d", m.Size, h.bodyLen))
	}
	body, pad := rest[:h.bodyLen], rest[h.bodyLen:]
	for _, b := range pad {
		if b != 0 {
			return bad(ReasonCorrupt, "padding after the body is not zero (torn or damaged write)")
		}
	}
	sum := sha256.Sum256(body)
	if hex.EncodeToString(sum[:]) != m.SHA256 {
		return bad(ReasonCorrupt, "sha-256 of the body does not match the metadata (torn or damaged write)")
	}
	if ahead := m.GeneratedAt.Sub(now); ahead > MaxClockSkew {
		return bad(ReasonFuture, fmt.Sprintf("generated %s in the future, more than the %s clock skew allowed", ahead.Round(time.Second), MaxClockSkew))
	}
	return &Snapshot{Meta: m, Seq: h.seq, Body: body}, nil
}

// decode verifies a whole slot file held in memory.
func decode(data []byte, key Key, now time.Time) (*Snapshot, *RejectError) {
	h, rej := decodeHeader(data[:min(len(data), headerLen+maxMetaLen)], key)
	if rej != nil {
		return nil, rej
	}
	if len(data) != fileSize(h.metaLen, h.bodyLen) {
		return nil, &RejectError{Reason: ReasonCorrupt, Detail: "file size does not match its header"}
	}
	return h.verifyBody(data[headerLen+h.metaLen:], now)
}
