package session

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"testing"
)

func TestSealOpen(t *testing.T) {
	a, b := newSecret(), newSecret()
	ka := a.derive(rowSession)
	sealed := ka.seal(rowSession, []byte("claims"))
	tests := []struct {
		name   string
		keys   rowKeys
		rowKey string
		data   []byte
		ok     bool
	}{
		{"same keys and row", ka, rowSession, sealed, true},
		{"other row kind", ka, rowTokenCache, sealed, false},
		{"other secret", b.derive(rowSession), rowSession, sealed, false},
		{"same secret, other purpose", a.derive(rowPending), rowSession, sealed, false},
		{"flipped bit", ka, rowSession, append(append([]byte{}, sealed[:len(sealed)-1]...), sealed[len(sealed)-1]^1), false},
		{"truncated", ka, rowSession, sealed[:5], false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.keys.open(tt.rowKey, bytes.Clone(tt.data)) // open overwrites its input
			if tt.ok != (err == nil) {
				t.Fatalf("open: err = %v, want ok %v", err, tt.ok)
			}
			if tt.ok && !bytes.Equal(got, []byte("claims")) {
				t.Fatalf("open = %q", got)
			}
		})
	}
	if a.derive(rowSession).partition == a.derive(rowPending).partition {
		t.Fatal("one secret gives the same partition for two purposes")
	}
	if s, err := parseSecret(a.String()); err != nil || s != a {
		t.Fatalf("parseSecret(String()) = %v, %v", s, err)
	}
}

// BenchmarkOpenSession is the crypto cost of reading a session: deriving
// its keys from the cookie and opening a 2 KB claim set.
func BenchmarkOpenSession(b *testing.B) {
	s := newSecret()
	sealed := s.derive(rowSession).seal(rowSession, bytes.Repeat([]byte("x"), 2048))
	row := make([]byte, len(sealed)) // the row as decoded, which open overwrites
	b.ReportAllocs()
	for b.Loop() {
		copy(row, sealed)
		if _, err := s.derive(rowSession).open(rowSession, row); err != nil {
			b.Fatal(err)
		}
	}
}

// The keys stay those of HKDF-SHA256 (RFC 5869) with the package's labels,
// whatever way they are computed, or every live session would be lost.
func TestDeriveIsHKDF(t *testing.T) {
	for _, tt := range []struct {
		name string
		salt []byte
		kind string
	}{
		{"session, no salt", nil, rowSession},
		{"pending, server key as salt", []byte(rand.Text()), rowPending},
		{"salt longer than a block", bytes.Repeat([]byte("s"), 100), rowPending},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s := newSecret()
			k := s.deriveWith(tt.salt, tt.kind)
			want, err := hkdf.Key(sha256.New, s[:], tt.salt, "b2c-functions-go "+schema+" "+tt.kind+" partition", 32)
			if err != nil {
				t.Fatal(err)
			}
			if k.partition != base64.RawURLEncoding.EncodeToString(want) {
				t.Fatalf("partition %q, want the HKDF output %q", k.partition, base64.RawURLEncoding.EncodeToString(want))
			}
			key, err := hkdf.Key(sha256.New, s[:], tt.salt, "b2c-functions-go "+schema+" "+tt.kind+" data", 32)
			if err != nil {
				t.Fatal(err)
			}
			block, _ := aes.NewCipher(key)
			aead, _ := cipher.NewGCM(block)
			sealed := k.seal(tt.kind, []byte("claims"))
			if _, err := aead.Open(nil, sealed[:aead.NonceSize()], sealed[aead.NonceSize():], k.associatedData(tt.kind)); err != nil {
				t.Fatalf("data sealed by derive does not open with the HKDF key: %v", err)
			}
		})
	}
}
