"""Email through a real SMTP server (aiosmtpd): verification codes reach
the mailbox, not the outbox, and a relay that is down is
CodeDeliveryFailureException rather than a silent loss."""

import os
import re
import subprocess
import time

import boto3
import pytest
import requests
from aiosmtpd.controller import Controller
from botocore import UNSIGNED
from botocore.config import Config
from botocore.exceptions import ClientError

from conftest import ACCESS_KEY_ID, REPO_ROOT, SECRET_ACCESS_KEY, _free_port, sign_request

BIN = os.environ.get("COGNATE_BIN", str(REPO_ROOT / "target" / "debug" / "cognate"))


class Mailbox:
    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.content.decode("utf-8")))
        return "250 OK"


@pytest.fixture
def mailbox():
    box = Mailbox()
    controller = Controller(box, hostname="127.0.0.1", port=_free_port())
    controller.start()
    yield box, controller.port
    controller.stop()


def serve(smtp_port):
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("COGNATE_")}
    env.update(
        COGNATE_ADMIN_ACCESS_KEY_ID=ACCESS_KEY_ID,
        COGNATE_ADMIN_SECRET_ACCESS_KEY=SECRET_ACCESS_KEY,
        COGNATE_LOG="warn",
        COGNATE_SMTP_URL=f"smtp://127.0.0.1:{smtp_port}",
        COGNATE_EMAIL_FROM="no-reply@cognate.test",
    )
    proc = subprocess.Popen([BIN, "serve", "--ephemeral", "--listen", f"127.0.0.1:{port}"], env=env,
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    endpoint = f"http://127.0.0.1:{port}"
    for _ in range(200):
        try:
            if requests.get(f"{endpoint}/ready", timeout=1).status_code == 200:
                return proc, endpoint
        except requests.RequestException:
            time.sleep(0.05)
    proc.kill()
    pytest.fail("cognate did not become ready")


def clients(endpoint):
    admin = boto3.client("cognito-idp", region_name="us-east-1", endpoint_url=endpoint,
                         aws_access_key_id=ACCESS_KEY_ID, aws_secret_access_key=SECRET_ACCESS_KEY)
    public = boto3.client("cognito-idp", region_name="us-east-1", endpoint_url=endpoint,
                          config=Config(signature_version=UNSIGNED))
    pool = admin.create_user_pool(PoolName="mail", AutoVerifiedAttributes=["email"],
                                  VerificationMessageTemplate={"EmailSubject": "Welcome, verify", "EmailMessage": "Hello {username}, code {####}."})
    client = admin.create_user_pool_client(UserPoolId=pool["UserPool"]["Id"], ClientName="app")
    return public, client["UserPoolClient"]["ClientId"]


def test_codes_are_mailed_through_smtp(mailbox):
    box, smtp_port = mailbox
    proc, endpoint = serve(smtp_port)
    try:
        public, client_id = clients(endpoint)
        out = public.sign_up(ClientId=client_id, Username="mia", Password="Passw0rd!",
                             UserAttributes=[{"Name": "email", "Value": "mia@example.com"}])
        assert out["CodeDeliveryDetails"]["DeliveryMedium"] == "EMAIL"
        assert len(box.messages) == 1
        sender, rcpts, content = box.messages[0]
        assert sender == "no-reply@cognate.test" and rcpts == ["mia@example.com"]
        assert "Subject: Welcome, verify" in content
        code = re.search(r"Hello mia, code (\d{6})\.", content).group(1)
        public.confirm_sign_up(ClientId=client_id, Username="mia", ConfirmationCode=code)

        # Mailed, so not kept in the outbox.
        url = f"{endpoint}/_cognate/outbox"
        assert requests.get(url, headers=sign_request("GET", url), timeout=10).json()["Messages"] == []
    finally:
        proc.terminate()
        proc.wait(timeout=15)


def test_a_relay_that_is_down_is_a_delivery_failure():
    proc, endpoint = serve(_free_port())  # nothing listens there
    try:
        public, client_id = clients(endpoint)
        with pytest.raises(ClientError) as exc:
            public.sign_up(ClientId=client_id, Username="max", Password="Passw0rd!",
                           UserAttributes=[{"Name": "email", "Value": "max@example.com"}])
        assert exc.value.response["Error"]["Code"] == "CodeDeliveryFailureException"
    finally:
        proc.terminate()
        proc.wait(timeout=15)
