package testenv

// The sample tenant that tests configure the emulator and the app with.
const (
	ClientID      = "11111111-2222-4333-8444-555555555555"
	SignUpSignIn  = "B2C_1_signupsignin1"
	ProfileEdit   = "B2C_1_profileediting1"
	PasswordReset = "B2C_1_passwordreset1"
	APIClientID   = "99999999-0000-4000-8000-0000000000a1"
	APIURI        = "https://contoso.onmicrosoft.com/tasks-api"
	APIScope      = APIURI + "/tasks.read"
)
