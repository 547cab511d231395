package emulator

import "strings"

// IssuerForm is the form of the issuer (iss) a tenant puts in tokens and
// discovery: the portal's "Issuer (iss) claim" setting (tokens-overview.md,
// Compatibility) or a custom policy's IssuanceClaimPattern
// (jwt-issuer-technical-profile.md).
type IssuerForm int

const (
	// IssuerTenantID is https://{host}/{tenantID}/v2.0/, B2C's default
	// (AuthorityAndTenantGuid).
	IssuerTenantID IssuerForm = iota
	// IssuerTFP is https://{host}/tfp/{tenantID}/{policy}/v2.0/, the policy
	// in lower case as in the documented example (AuthorityWithTfp).
	IssuerTFP
)

// Issuer is the iss of tokens issued through the TLS listener in B2C's
// default form, IssuerTenantID: the tenant GUID and no policy. PolicyIssuer
// gives the issuer of any form and host.
func (s *Server) Issuer() string {
	return "https://" + s.tlsHost + "/" + s.cfg.TenantID + "/v2.0/"
}

// SetIssuerForm switches the issuer the tenant puts in tokens and discovery,
// as the portal's "Issuer (iss) claim" setting does (tokens-overview.md).
// Tokens issued before keep theirs. B2C only: an External ID tenant has one
// issuer, ExternalIDIssuer.
func (s *Server) SetIssuerForm(f IssuerForm) { s.issuerForm.Store(int32(f)) }

// PolicyIssuer is the iss of the tokens of a policy issued through host (a
// host:port, TLSHost or CustomDomainHost), in the current issuer form.
func (s *Server) PolicyIssuer(host, policy string) string {
	return s.issuer(IssuerForm(s.issuerForm.Load()), host, policy)
}

func (s *Server) issuer(f IssuerForm, host, policy string) string {
	if f == IssuerTFP {
		return "https://" + host + "/tfp/" + s.cfg.TenantID + "/" + strings.ToLower(policy) + "/v2.0/"
	}
	return "https://" + host + "/" + s.cfg.TenantID + "/v2.0/"
}

// knownIssuer reports whether iss is one the emulator issues, in either form,
// through either TLS host, or in External ID mode its one issuer.
func (s *Server) knownIssuer(iss string) bool {
	if s.cfg.ExternalID {
		return iss == s.ExternalIDIssuer()
	}
	for _, host := range []string{s.tlsHost, s.customHost} {
		if host == "" {
			continue
		}
		if iss == s.issuer(IssuerTenantID, host, "") {
			return true
		}
		for _, p := range s.cfg.Policies {
			if iss == s.issuer(IssuerTFP, host, p.Name) {
				return true
			}
		}
	}
	return false
}
