package auth

import "slices"

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
	// IdentityProvider is idp: the external provider that signed the user
	// in, empty for a local account.
	IdentityProvider string
	// NewUser is true in the token of the sign-up that created the user.
	NewUser bool
	// Policy is the user flow that issued the token (tfp or acr).
	Policy string
	// Raw holds every claim as decoded from JSON, for display and
	// extension attributes (extension_...).
	Raw map[string]any
}

// Email is the user's first email address: from emails, else from an email
// claim; "" when the user flow sends neither.
func (c Claims) Email() string {
	if len(c.Emails) > 0 {
		return c.Emails[0]
	}
	s, _ := c.Raw["email"].(string)
	return s
}

func claimsFrom(raw map[string]any) Claims {
	str := func(k string) string { s, _ := raw[k].(string); return s }
	c := Claims{
		Subject: str("sub"), ObjectID: str("oid"), Name: str("name"),
		GivenName: str("given_name"), FamilyName: str("family_name"), IdentityProvider: str("idp"),
		Policy: str("tfp"), Raw: raw,
	}
	if c.Policy == "" {
		c.Policy = str("acr")
	}
	c.NewUser, _ = raw["newUser"].(bool)
	if list, ok := raw["emails"].([]any); ok {
		for _, e := range list {
			if s, ok := e.(string); ok && s != "" && !slices.Contains(c.Emails, s) {
				c.Emails = append(c.Emails, s)
			}
		}
	}
	return c
}
