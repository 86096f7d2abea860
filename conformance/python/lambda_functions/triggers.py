"""Cognito triggers written for AWS Lambda, with nothing Cognate-specific:
a plain `handler(event, context)` as a team would deploy it. The conformance
suite runs it under Amazon's own runtime interface client (awslambdaric)
pointed at Cognate's Lambda Runtime API."""

import base64
import json
import os

import aws_encryption_sdk
from aws_encryption_sdk.identifiers import CommitmentPolicy

# A custom sender decrypts its code as AWS's documentation shows: the
# Encryption SDK with a KMS keyring for the pool's key (KEY_ARN, set in the
# function's environment like any Lambda configuration).
ENCRYPTION = aws_encryption_sdk.EncryptionSDKClient(
    commitment_policy=CommitmentPolicy.REQUIRE_ENCRYPT_ALLOW_DECRYPT)
KEY_PROVIDER = (aws_encryption_sdk.StrictAwsKmsMasterKeyProvider(key_ids=[os.environ["KEY_ARN"]])
                if os.environ.get("KEY_ARN") else None)

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
    if source.startswith(("CustomEmailSender_", "CustomSMSSender_")):
        request = event["request"]
        code = None
        if request.get("code"):
            plaintext, header = ENCRYPTION.decrypt(source=base64.b64decode(request["code"]),
                                                   key_provider=KEY_PROVIDER)
            if header.encryption_context.get("userpool-id") != event["userPoolId"]:
                raise Exception("code encrypted for another pool")
            code = plaintext.decode()
        # "Send" it: a real sender would call an email or SMS provider here.
        with open(os.environ["SENT_MESSAGES"], "a") as out:
            out.write(json.dumps({"triggerSource": source, "userName": event["userName"], "code": code,
                                  "encrypted": request.get("code"),
                                  "type": request.get("type"), "clientMetadata": request.get("clientMetadata"),
                                  "userAttributes": request.get("userAttributes")}) + "\n")
        return event
    return event
