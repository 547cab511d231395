package auth

import (
	"encoding/json"
	"slices"
	"strings"
)

// Claims are the claims of the signed-in user's verified ID token. Which
// ones B2C sends is chosen per user flow ("Application claims"), so any of
// them may be empty.
type Claims struct {
	Subject    string // sub
	ObjectID   string // oid
	Name       string // name
	GivenName  string // given_name
	FamilyName string // family_name
	// Emails are B2C's emails claim, without repeats.
	Emails []string
	// Username is preferred_username, which External ID sends: an email
	// address or phone number the user signs in with.
	Username string
	// TenantID is tid, which External ID tokens carry.
	TenantID string
	// IdentityProvider is idp: the external provider that signed the user
	// in, empty for a local account.
	IdentityProvider string
	// NewUser is true in the token of the sign-up that created the user.
	NewUser bool
	// Policy is the user flow that issued the token (tfp or acr).
	Policy string
	// Raw holds every claim as the ID token's JSON, as issued, for
	// display and for extension attributes (extension_...): json.Unmarshal
	// it into the struct or map you need. It is the token's text: escape it
	// as any untrusted JSON before putting it in a page. The fields above
	// are decoded from it once, at sign-in, so a page view does not decode
	// every claim again.
	Raw json.RawMessage `json:"-"`
}

// legacySubject is what older B2C policies put in sub instead of an ID
// ("Overview of tokens in Azure AD B2C", Claims).
const legacySubject = "Not supported currently. Use oid claim."

// UserID is the stable ID of the user: oid, else a real sub; "" when the
// user flow sends neither (select "User's Object ID" as an application
// claim).
func (c Claims) UserID() string {
	if c.ObjectID != "" {
		return c.ObjectID
	}
	if c.Subject != legacySubject {
		return c.Subject
	}
	return ""
}

// DisplayName is a name to greet the user by: name, else given and family
// names, else the email address; "" when the user flow sends none.
func (c Claims) DisplayName() string {
	if c.Name != "" {
		return c.Name
	}
	if n := strings.TrimSpace(c.GivenName + " " + c.FamilyName); n != "" {
		return n
	}
	if e := c.Email(); e != "" {
		return e
	}
	return c.Username
}

// Email is the user's first email address: from emails, else from an email
// claim; "" when the user flow sends neither.
func (c Claims) Email() string {
	if len(c.Emails) > 0 {
		return c.Emails[0]
	}
	var claim struct {
		Email any `json:"email"`
	}
	_ = json.Unmarshal(c.Raw, &claim) // Raw is the token's JSON; any other type is no address
	s, _ := claim.Email.(string)
	return s
}

// claimsFrom decodes an ID token's claims; a claim of an unexpected type
// is left empty.
func claimsFrom(raw json.RawMessage) Claims {
	var m map[string]any
	_ = json.Unmarshal(raw, &m) // not an object: every field stays empty
	str := func(k string) string { s, _ := m[k].(string); return s }
	c := Claims{
		Subject: str("sub"), ObjectID: str("oid"), Name: str("name"),
		GivenName: str("given_name"), FamilyName: str("family_name"), IdentityProvider: str("idp"),
		Username: str("preferred_username"), TenantID: str("tid"), Policy: str("tfp"), Raw: raw,
	}
	if c.Policy == "" {
		c.Policy = str("acr")
	}
	c.NewUser, _ = m["newUser"].(bool)
	if list, ok := m["emails"].([]any); ok {
		for _, e := range list {
			if s, ok := e.(string); ok && s != "" && !slices.Contains(c.Emails, s) {
				c.Emails = append(c.Emails, s)
			}
		}
	}
	return c
}
