package auth

import "testing"

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
			c := claimsFrom(tt.raw)
			if c.UserID() != tt.userID || c.DisplayName() != tt.display || c.Email() != tt.email {
				t.Fatalf("UserID %q, DisplayName %q, Email %q; want %q, %q, %q", c.UserID(), c.DisplayName(), c.Email(), tt.userID, tt.display, tt.email)
			}
		})
	}
	if c := claimsFrom(map[string]any{"emails": []any{"a@x", "a@x", "b@x"}}); len(c.Emails) != 2 {
		t.Fatalf("Emails %q, want the two distinct addresses", c.Emails)
	}
}
