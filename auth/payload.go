package auth

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"strings"
)

// A session's payload is read on every signed-in page, so it is a fixed
// binary layout rather than JSON, which encoding/json scans twice (the
// claims and the ID token are most of it): a version byte, then each field
// in the order of marshal, strings and bytes as a uvarint length and their
// bytes, numbers as uvarints. Payloads written as JSON by earlier versions
// start with '{' and are still read.
//
// payloadV2 adds, after NewUser, whether the ID token is kept without its
// payload segment: a token's payload is its claims, base64url-encoded (RFC
// 7519 §3, RFC 7515 §7.1), and the session holds those claims already, so
// the segment is cut when it matches them and put back when the token is
// sent, at sign-out. That keeps a second copy of every claim out of each
// session row, and its encoding out of each page view.
const (
	payloadV1 = 1
	payloadV2 = 2
)

var errPayload = errors.New("auth: malformed session payload")

func (d *sessionData) marshal() []byte {
	p := d.Profile
	if p == nil {
		p = &Claims{}
	}
	token, cut := d.IDToken, d.idTokenCut
	if !cut {
		token, cut = cutTokenPayload(d.IDToken, d.Claims)
	}
	b := []byte{payloadV2}
	for _, s := range []string{string(d.Claims), d.Policy, d.AccountID, d.APIPolicy, token,
		p.Subject, p.ObjectID, p.Name, p.GivenName, p.FamilyName, p.Username, p.TenantID, p.IdentityProvider, p.Policy} {
		b = binary.AppendUvarint(b, uint64(len(s)))
		b = append(b, s...)
	}
	b = binary.AppendUvarint(b, uint64(len(p.Emails)))
	for _, e := range p.Emails {
		b = binary.AppendUvarint(b, uint64(len(e)))
		b = append(b, e...)
	}
	b = appendFlag(b, p.NewUser)
	b = appendFlag(b, cut)
	return binary.AppendVarint(b, d.IDTokenExpires)
}

// appendFlag writes a flag as a uvarint, 0 or 1.
func appendFlag(b []byte, on bool) []byte {
	if on {
		return binary.AppendUvarint(b, 1)
	}
	return binary.AppendUvarint(b, 0)
}

// jwtSegments splits a compact JWS into its three segments (RFC 7515 §7.1).
func jwtSegments(token string) (header, payload, signature string, ok bool) {
	header, rest, _ := strings.Cut(token, ".")
	payload, signature, ok = strings.Cut(rest, ".")
	return header, payload, signature, ok && !strings.Contains(signature, ".")
}

// cutTokenPayload returns token without its payload segment and true if
// that segment is claims base64url-encoded, else token and false.
func cutTokenPayload(token string, claims []byte) (string, bool) {
	header, payload, signature, ok := jwtSegments(token)
	if !ok || payload != base64.RawURLEncoding.EncodeToString(claims) {
		return token, false
	}
	return header + ".." + signature, true
}

// restoreTokenPayload undoes cutTokenPayload.
func restoreTokenPayload(token string, claims []byte) (string, bool) {
	header, payload, signature, ok := jwtSegments(token)
	if !ok || payload != "" {
		return "", false
	}
	return header + "." + base64.RawURLEncoding.EncodeToString(claims) + "." + signature, true
}

// unmarshalPayload reads what marshal wrote.
func unmarshalPayload(b []byte) (sessionData, error) {
	var d sessionData
	if len(b) == 0 || b[0] != payloadV1 && b[0] != payloadV2 {
		return d, errPayload
	}
	version := b[0]
	r := payloadReader{b: b[1:]}
	var claims []byte
	if c := r.bytes(); len(c) > 0 {
		claims = bytes.Clone(c) // b may be a buffer the store reuses
	}
	p := &Claims{}
	for _, s := range []*string{&d.Policy, &d.AccountID, &d.APIPolicy, &d.IDToken,
		&p.Subject, &p.ObjectID, &p.Name, &p.GivenName, &p.FamilyName, &p.Username, &p.TenantID, &p.IdentityProvider, &p.Policy} {
		*s = string(r.bytes())
	}
	if n := r.uvarint(); n > 0 && n <= uint64(len(r.b)) {
		p.Emails = make([]string, n)
		for i := range p.Emails {
			p.Emails[i] = string(r.bytes())
		}
	} else if n > 0 {
		r.err = errPayload
	}
	p.NewUser = r.flag()
	if version == payloadV2 && r.flag() {
		// A page does not send the token, so it stays cut until idToken.
		if _, payload, _, ok := jwtSegments(d.IDToken); !ok || payload != "" {
			r.err = errPayload
		}
		d.idTokenCut = true
	}
	exp, n := binary.Varint(r.b)
	if n <= 0 || r.err != nil || n != len(r.b) {
		return sessionData{}, errPayload
	}
	d.IDTokenExpires = exp
	d.Claims, d.Profile = json.RawMessage(claims), p
	return d, nil
}

type payloadReader struct {
	b   []byte
	err error
}

func (r *payloadReader) uvarint() uint64 {
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.err = errPayload
		return 0
	}
	r.b = r.b[n:]
	return v
}

// flag reads what appendFlag wrote; any other value is malformed.
func (r *payloadReader) flag() bool {
	v := r.uvarint()
	if v > 1 {
		r.err = errPayload
	}
	return v == 1
}

func (r *payloadReader) bytes() []byte {
	n := r.uvarint()
	if r.err != nil || n > uint64(len(r.b)) {
		r.err = errPayload
		return nil
	}
	s := r.b[:n:n]
	r.b = r.b[n:]
	return s
}
