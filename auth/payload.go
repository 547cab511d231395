package auth

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
)

// A session's payload is read on every signed-in page, so it is a fixed
// binary layout rather than JSON, which encoding/json scans twice (the
// claims and the ID token are most of it): payloadV1, then each field in
// the order of appendPayload, strings and bytes as a uvarint length and
// their bytes, numbers as uvarints. Payloads written as JSON by earlier
// versions start with '{' and are still read.
const payloadV1 = 1

var errPayload = errors.New("auth: malformed session payload")

func (d *sessionData) marshal() []byte {
	p := d.Profile
	if p == nil {
		p = &Claims{}
	}
	b := []byte{payloadV1}
	for _, s := range []string{string(d.Claims), d.Policy, d.AccountID, d.APIPolicy, d.IDToken,
		p.Subject, p.ObjectID, p.Name, p.GivenName, p.FamilyName, p.Username, p.TenantID, p.IdentityProvider, p.Policy} {
		b = binary.AppendUvarint(b, uint64(len(s)))
		b = append(b, s...)
	}
	b = binary.AppendUvarint(b, uint64(len(p.Emails)))
	for _, e := range p.Emails {
		b = binary.AppendUvarint(b, uint64(len(e)))
		b = append(b, e...)
	}
	newUser := uint64(0)
	if p.NewUser {
		newUser = 1
	}
	b = binary.AppendUvarint(b, newUser)
	return binary.AppendVarint(b, d.IDTokenExpires)
}

// unmarshalPayload reads what marshal wrote.
func unmarshalPayload(b []byte) (sessionData, error) {
	var d sessionData
	if len(b) == 0 || b[0] != payloadV1 {
		return d, errPayload
	}
	r := payloadReader{b: b[1:]}
	claims := bytes.Clone(r.bytes()) // b may be a buffer the store reuses
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
	switch r.uvarint() {
	case 0:
	case 1:
		p.NewUser = true
	default:
		r.err = errPayload
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
