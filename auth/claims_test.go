package auth

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"reflect"
	"testing"
)

// Claims cope with whatever a user flow sends: application claims are
// opt-in per B2C user flow, External ID sends another set, and nothing
// panics or invents a value.
func TestClaimsAccessors(t *testing.T) {
	tests := []struct {
		name                   string
		raw                    map[string]any
		userID, display, email string
	}{
		{"B2C, all claims", map[string]any{"oid": "o", "sub": "o", "name": "Alice", "emails": []any{"a@x", "a@x", "b@x"}}, "o", "Alice", "a@x"},
		{"B2C, no application claims", map[string]any{"sub": legacySubject}, "", "", ""},
		{"B2C, sub only", map[string]any{"sub": "s"}, "s", "", ""},
		{"given and family names", map[string]any{"oid": "o", "given_name": "Ann", "family_name": "Lee"}, "o", "Ann Lee", ""},
		{"External ID", map[string]any{"oid": "o", "sub": "pairwise", "tid": "t", "preferred_username": "ann@x", "email": "ann@mail"}, "o", "ann@mail", "ann@mail"},
		{"External ID, username only", map[string]any{"oid": "o", "preferred_username": "+15551234"}, "o", "+15551234", ""},
		{"wrong types", map[string]any{"oid": 7, "name": []any{"x"}, "emails": "a@x", "newUser": "yes"}, "", "", ""},
		{"nothing", nil, "", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := claimsFrom(claimsJSON(t, tt.raw))
			if c.UserID() != tt.userID || c.DisplayName() != tt.display || c.Email() != tt.email {
				t.Fatalf("UserID %q, DisplayName %q, Email %q; want %q, %q, %q", c.UserID(), c.DisplayName(), c.Email(), tt.userID, tt.display, tt.email)
			}
		})
	}
	if c := claimsFrom(claimsJSON(t, map[string]any{"emails": []any{"a@x", "a@x", "b@x"}})); len(c.Emails) != 2 {
		t.Fatalf("Emails %q, want the two distinct addresses", c.Emails)
	}
}

func claimsJSON(t *testing.T, claims map[string]any) json.RawMessage {
	t.Helper()
	b, err := json.Marshal(claims)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// A session written before sessions kept a decoded profile still loads,
// with the same claims and the ID token's expiry: an upgrade signs no one
// out.
func TestSessionWrittenBeforeProfiles(t *testing.T) {
	old := `{"claims":{"oid":"o1","name":"Alice","emails":["a@x"],"tfp":"B2C_1_susi","exp":1900000000},` +
		`"policy":"B2C_1_susi","account":"acc","apiPolicy":"B2C_1_susi","idToken":"tok"}`
	d, err := decodeSessionData([]byte(old))
	if err != nil {
		t.Fatal(err)
	}
	c := d.claims()
	if c.ObjectID != "o1" || c.Name != "Alice" || c.Email() != "a@x" || c.Policy != "B2C_1_susi" {
		t.Errorf("claims %+v", c)
	}
	if d.IDTokenExpires != 1900000000 || d.AccountID != "acc" || d.idToken() != "tok" {
		t.Errorf("exp %d, account %q, token %q", d.IDTokenExpires, d.AccountID, d.idToken())
	}
	var raw map[string]any
	if err := json.Unmarshal(c.Raw, &raw); err != nil || raw["name"] != "Alice" {
		t.Errorf("Raw %s: %v", c.Raw, err)
	}

	// And what is written now reads back the same, without decoding Raw.
	var now sessionData
	now.withIDToken("tok", raw)
	if err := now.withClaims(c.Raw); err != nil {
		t.Fatal(err)
	}
	// A profile edit's claims leave the sign-in token's expiry alone: it
	// is that token that goes out as id_token_hint.
	edited := now
	if err := edited.withClaims(json.RawMessage(`{"oid":"o1","exp":1950000000}`)); err != nil || edited.IDTokenExpires != 1900000000 {
		t.Errorf("after new claims: exp %d, %v; want the token's 1900000000", edited.IDTokenExpires, err)
	}
	legacy, err := json.Marshal(now)
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range [][]byte{now.marshal(), legacy} { // today's layout, and the JSON of earlier versions
		again, err := decodeSessionData(b)
		if err != nil || again.claims().Name != "Alice" || again.IDTokenExpires != 1900000000 || string(again.Claims) != string(now.Claims) ||
			again.AccountID != now.AccountID || again.idToken() != now.idToken() || !reflect.DeepEqual(again.claims(), now.claims()) {
			t.Errorf("round trip of %.20q: %+v, %v", b, again, err)
		}
	}
	// A payload cut short is refused, at every length.
	b := now.marshal()
	for n := range len(b) {
		if _, err := decodeSessionData(b[:n]); err == nil {
			t.Fatalf("a payload cut to %d of %d bytes decoded", n, len(b))
		}
	}
}

// A session keeps one copy of the claims: the ID token kept for
// id_token_hint is stored without its payload segment, which is those
// claims base64url-encoded, and comes back whole. After a profile edit the
// claims are another token's, and the sign-in token is kept whole.
func TestSessionKeepsOneCopyOfTheClaims(t *testing.T) {
	claims := []byte(`{"exp":1900000000,"oid":"o1","name":"Alice","emails":["a@x"],"tfp":"B2C_1_susi"}`)
	payload := base64.RawURLEncoding.EncodeToString(claims)
	token := "eyJhbGciOiJSUzI1NiIsImtpZCI6ImsxIn0." + payload + ".c2lnbmF0dXJl"
	var d sessionData
	var m map[string]any
	if err := json.Unmarshal(claims, &m); err != nil {
		t.Fatal(err)
	}
	d.withIDToken(token, m)
	if err := d.withClaims(claims); err != nil { // as b2c.Result.RawClaims holds them
		t.Fatal(err)
	}
	edited := d
	if err := edited.withClaims(json.RawMessage(`{"oid":"o1","name":"Alice B."}`)); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name     string
		d        sessionData
		wantSeen bool // the payload segment is in the stored bytes
	}{
		{"signed in", d, false},
		{"after a profile edit", edited, true},
	} {
		b := tt.d.marshal()
		if seen := bytes.Contains(b, []byte(payload)); seen != tt.wantSeen {
			t.Errorf("%s: the token's payload segment stored: %v, want %v", tt.name, seen, tt.wantSeen)
		}
		again, err := decodeSessionData(b)
		if err != nil || again.idToken() != token || string(again.Claims) != string(tt.d.Claims) {
			t.Errorf("%s: decoded token %q, claims %s, %v; want the token whole and the claims kept", tt.name, again.idToken(), again.Claims, err)
		}
	}
	// A profile edit on a session as a page loads it, its token still cut,
	// keeps the token it was issued, not one made of the new claims.
	loaded, err := decodeSessionData(d.marshal())
	if err != nil {
		t.Fatal(err)
	}
	if err := loaded.withClaims(json.RawMessage(`{"oid":"o1","name":"Alice B."}`)); err != nil {
		t.Fatal(err)
	}
	if again, err := decodeSessionData(loaded.marshal()); err != nil || again.idToken() != token {
		t.Errorf("edited after a load: token %q, %v; want the one issued, %q", again.idToken(), err, token)
	}
	if n, whole := len(d.marshal()), len(claims)+len(token); n > whole-len(payload)+200 {
		t.Errorf("a payload of %d bytes for %d bytes of claims and token: the claims are stored twice", n, whole)
	}
	// Only a compact JWS with exactly those claims as its payload is cut.
	for _, other := range []string{"", "a.b", "a." + payload, "a." + payload + ".s.x", "a." + payload + "x.s"} {
		if got, cut := cutTokenPayload(other, claims); cut || got != other {
			t.Errorf("cutTokenPayload(%q) = %q, %v; want it kept whole", other, got, cut)
		}
	}
}

// A payload in the v1 layout, as sessions signed in before the ID token
// was cut hold it, reads with every field; written again it is v2, and
// reads the same.
func TestSessionPayloadV1(t *testing.T) {
	claims := `{"oid":"o1","name":"Alice"}`
	token := "eyJhbGciOiJSUzI1NiJ9." + base64.RawURLEncoding.EncodeToString([]byte(claims)) + ".c2ln"
	b := []byte{payloadV1}
	str := func(s string) {
		b = binary.AppendUvarint(b, uint64(len(s)))
		b = append(b, s...)
	}
	for _, s := range []string{claims, "B2C_1_susi", "acc", "B2C_1_api", token,
		"sub1", "o1", "Alice", "Al", "Ice", "alice@x", "tid1", "idp1", "B2C_1_susi"} {
		str(s)
	}
	b = binary.AppendUvarint(b, 2)
	str("a@x")
	str("b@x")
	b = binary.AppendUvarint(b, 1) // NewUser
	b = binary.AppendVarint(b, 1900000000)

	want := sessionData{Claims: json.RawMessage(claims), Policy: "B2C_1_susi", AccountID: "acc", APIPolicy: "B2C_1_api", IDToken: token, IDTokenExpires: 1900000000,
		Profile: &Claims{Subject: "sub1", ObjectID: "o1", Name: "Alice", GivenName: "Al", FamilyName: "Ice", Username: "alice@x", TenantID: "tid1",
			IdentityProvider: "idp1", Policy: "B2C_1_susi", Emails: []string{"a@x", "b@x"}, NewUser: true}}
	for _, tt := range []struct {
		name string
		b    []byte
	}{{"v1", b}, {"v1 written again", want.marshal()}} {
		got, err := decodeSessionData(tt.b)
		got.IDToken, got.idTokenCut = got.idToken(), false // as sent; the v2 layout keeps it cut until then
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("%s: decoded %+v (profile %+v), %v; want %+v (profile %+v)", tt.name, got, got.Profile, err, want, want.Profile)
		}
	}
	if again := want.marshal(); again[0] != payloadV2 || bytes.Contains(again, []byte(token)) {
		t.Errorf("written again: version %d, token whole %v; want v2 with the token cut", again[0], bytes.Contains(again, []byte(token)))
	}
}
