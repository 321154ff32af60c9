"""Browser sign-in for deep links: Entra ID and Sign in with Slack, and the signed cookies that
remember who signed in."""
