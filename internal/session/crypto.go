package session

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
)

// A secret is 256 random bits that only the browser holds: the session
// cookie, or the state parameter of a pending sign-in. The table never stores
// it; it stores only what is derived from it, so a copy of the table can
// neither find a row from a cookie nor decrypt one without it.
type secret [32]byte

func newSecret() secret {
	var s secret
	rand.Read(s[:]) // never fails (crypto/rand, Go 1.24+)
	return s
}

func (s secret) String() string { return base64.RawURLEncoding.EncodeToString(s[:]) }

func parseSecret(v string) (secret, error) {
	var s secret
	b, err := base64.RawURLEncoding.DecodeString(v)
	if err != nil || len(b) != len(s) {
		return s, errors.New("session: malformed secret")
	}
	copy(s[:], b)
	// One spelling per secret: the decoder skips line breaks and ignores
	// the last character's spare bits.
	if s.String() != v {
		return s, errors.New("session: malformed secret")
	}
	return s, nil
}

// schema versions every row; it is part of the associated data, so a row
// written under another schema fails to open instead of being misread.
const schema = "v1"

// rowKeys are the partition key and the data key derived from a secret with
// HKDF-SHA256 (RFC 5869), one label per purpose.
type rowKeys struct {
	partition string
	aead      cipher.AEAD
}

func (s secret) derive(kind string) rowKeys { return s.deriveWith(nil, kind) }

// deriveWith derives the keys with salt as HKDF's salt (RFC 5869 §3.1): a
// server secret as salt makes keys that the secret alone does not give.
//
// It is HKDF-SHA256 written out for two 32-byte outputs, one HashLen each,
// so one HMAC keyed with the pseudorandom key serves both expands (§2.3:
// T(1) = HMAC(PRK, info | 0x01)): a page view derives keys on every request.
func (s secret) deriveWith(salt []byte, kind string) rowKeys {
	extract := hmac.New(sha256.New, salt) // §2.2: no salt is HashLen zeros, as HMAC pads an empty key
	extract.Write(s[:])
	var prk, id, key [sha256.Size]byte
	expand := hmac.New(sha256.New, extract.Sum(prk[:0]))
	info := make([]byte, 0, 64)
	info = append(append(append(info, "b2c-functions-go "+schema+" "...), kind...), " partition\x01"...)
	expand.Write(info)
	expand.Sum(id[:0])
	expand.Reset()
	info = append(append(append(info[:0], "b2c-functions-go "+schema+" "...), kind...), " data\x01"...)
	expand.Write(info)
	expand.Sum(key[:0])
	block, err := aes.NewCipher(key[:])
	if err != nil {
		panic(err) // only for impossible lengths
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		panic(err)
	}
	// base64url: table keys may not hold '/', '\\', '#' or '?'.
	return rowKeys{partition: base64.RawURLEncoding.EncodeToString(id[:]), aead: aead}
}

// associatedData binds a ciphertext to its row, so a row's data cannot be
// moved to another row or kind and still open.
func (k rowKeys) associatedData(rowKey string) []byte {
	return []byte(k.partition + "|" + rowKey + "|" + schema)
}

func (k rowKeys) seal(rowKey string, plaintext []byte) []byte {
	nonce := make([]byte, k.aead.NonceSize(), k.aead.NonceSize()+len(plaintext)+k.aead.Overhead())
	rand.Read(nonce)
	return k.aead.Seal(nonce, nonce, plaintext, k.associatedData(rowKey))
}

// open decrypts sealed in place: sealed is overwritten, so callers pass a
// copy of their own, such as a row just decoded.
func (k rowKeys) open(rowKey string, sealed []byte) ([]byte, error) {
	n := k.aead.NonceSize()
	if len(sealed) < n {
		return nil, fmt.Errorf("session: sealed %s data too short", rowKey)
	}
	b, err := k.aead.Open(sealed[n:n], sealed[:n], sealed[n:], k.associatedData(rowKey))
	if err != nil {
		return nil, fmt.Errorf("session: cannot open %s data: %w", rowKey, err)
	}
	return b, nil
}
