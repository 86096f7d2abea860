"""Cognito triggers written for AWS Lambda, with nothing Cognate-specific:
a plain `handler(event, context)` as a team would deploy it. The conformance
suite runs it under Amazon's own runtime interface client (awslambdaric)
pointed at Cognate's Lambda Runtime API."""

# The "legacy" user store a migration reads from.
LEGACY_USERS = {
    "legacy-lee": {"password": "Legacy-Passw0rd!", "email": "lee@legacy.example.com"},
}


def handler(event, context):
    source = event["triggerSource"]
    if source.startswith("PreSignUp_"):
        # Auto-confirm sign-ups from the company domain.
        email = event["request"]["userAttributes"].get("email", "")
        if email.endswith("@blocked.example.com"):
            raise Exception("Sign-ups from this domain are closed")
        if email.endswith("@example.com"):
            event["response"]["autoConfirmUser"] = True
            event["response"]["autoVerifyEmail"] = True
        return event
    if source.startswith("TokenGeneration_"):
        # Version 2 event: claims for both tokens, a scope for the access token.
        event["response"]["claimsAndScopeOverrideDetails"] = {
            "idTokenGeneration": {"claimsToAddOrOverride": {"department": "engineering"}},
            "accessTokenGeneration": {
                "claimsToAddOrOverride": {"tier": "gold"},
                "scopesToAdd": ["orders/read"],
            },
        }
        return event
    if source == "UserMigration_Authentication":
        user = LEGACY_USERS.get(event["userName"])
        if user is None or user["password"] != event["request"]["password"]:
            raise Exception("Bad password")
        event["response"]["userAttributes"] = {"email": user["email"], "email_verified": "true"}
        event["response"]["finalUserStatus"] = "CONFIRMED"
        event["response"]["messageAction"] = "SUPPRESS"
        return event
    return event
