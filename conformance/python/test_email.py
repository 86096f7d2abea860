"""Email through a real SMTP server (aiosmtpd): verification codes reach
the mailbox, not the outbox, over plain SMTP, STARTTLS or implicit TLS with
AUTH (a private CA made here, on loopback); a relay that is down, refuses
the password or shows an untrusted certificate is
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


def serve(smtp_port, url=None, **extra_env):
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("COGNATE_")}
    env.update(
        COGNATE_ADMIN_ACCESS_KEY_ID=ACCESS_KEY_ID,
        COGNATE_ADMIN_SECRET_ACCESS_KEY=SECRET_ACCESS_KEY,
        COGNATE_LOG="warn",
        COGNATE_SMTP_URL=url or f"smtp://127.0.0.1:{smtp_port}",
        COGNATE_EMAIL_FROM="no-reply@cognate.test",
        **extra_env,
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


# --------------------------------------------------------------------------
# TLS and AUTH
# --------------------------------------------------------------------------

USER, PASSWORD = "mailer", "relay-s3cret"


def make_certificates(directory):
    """A private CA and a certificate for 127.0.0.1 signed by it: (ca.pem,
    cert.pem, key.pem) in `directory`."""
    import datetime
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = datetime.datetime.now(datetime.timezone.utc)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Cognate test CA")])
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
          .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=5))
          .not_valid_after(now + datetime.timedelta(days=1))
          .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
          .sign(ca_key, hashes.SHA256()))
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (x509.CertificateBuilder().subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
            .issuer_name(ca_name).public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .sign(ca_key, hashes.SHA256()))
    paths = [directory / n for n in ("ca.pem", "cert.pem", "key.pem")]
    paths[0].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths[1].write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    paths[2].write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return paths


def authenticator(server, session, envelope, mechanism, auth_data):
    from aiosmtpd.smtp import AuthResult, LoginPassword
    ok = isinstance(auth_data, LoginPassword) and auth_data.login == USER.encode() and auth_data.password == PASSWORD.encode()
    if ok:
        session.authenticated_as = (mechanism, auth_data.login.decode())
    return AuthResult(success=ok)


class AuthMailbox(Mailbox):
    """Keeps who sent each message (mechanism, user) and over what."""

    async def handle_DATA(self, server, session, envelope):
        over_tls = session.ssl is not None or server.transport.get_extra_info("ssl_object") is not None
        self.messages.append((getattr(session, "authenticated_as", None), over_tls, envelope.content.decode("utf-8")))
        return "250 OK"


@pytest.fixture
def certificates(tmp_path):
    return make_certificates(tmp_path)


@pytest.fixture(params=["starttls", "implicit"])
def tls_relay(request, certificates):
    """A relay that takes mail only over TLS and only after AUTH: STARTTLS
    on a plain port, or TLS from the first byte."""
    import ssl
    ca, cert, key = certificates
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    box = AuthMailbox()
    port = _free_port()
    common = dict(hostname="127.0.0.1", port=port, authenticator=authenticator, auth_required=True)
    if request.param == "starttls":
        controller = Controller(box, tls_context=context, require_starttls=True, auth_require_tls=True, **common)
        url = f"smtp+starttls://{USER}@127.0.0.1:{port}"
    else:
        # aiosmtpd's auth_require_tls knows STARTTLS only; the whole
        # connection is TLS here (the handler checks the transport).
        controller = Controller(box, ssl_context=context, auth_require_tls=False, **common)
        url = f"smtps://{USER}@127.0.0.1:{port}"
    controller.start()
    yield box, port, url, ca
    controller.stop()


def sign_up(endpoint, name):
    public, client_id = clients(endpoint)
    return public.sign_up(ClientId=client_id, Username=name, Password="Passw0rd!",
                          UserAttributes=[{"Name": "email", "Value": f"{name}@example.com"}])


def test_codes_are_mailed_over_tls_after_auth(tls_relay):
    box, port, url, ca = tls_relay
    proc, endpoint = serve(port, url=url, COGNATE_SMTP_PASSWORD=PASSWORD, COGNATE_SMTP_CA_FILE=str(ca))
    try:
        out = sign_up(endpoint, "tia")
        assert out["CodeDeliveryDetails"]["DeliveryMedium"] == "EMAIL"
        assert len(box.messages) == 1
        (mechanism, user), over_tls, content = box.messages[0]
        assert user == USER and mechanism in ("PLAIN", "LOGIN") and over_tls, box.messages[0][:2]
        assert re.search(r"Hello tia, code \d{6}\.", content)
    finally:
        proc.terminate()
        proc.wait(timeout=15)


@pytest.mark.parametrize("case", ["wrong password", "untrusted certificate"])
def test_a_relay_that_refuses_or_is_not_trusted_is_a_delivery_failure(tls_relay, case):
    box, port, url, ca = tls_relay
    env = {"COGNATE_SMTP_PASSWORD": PASSWORD, "COGNATE_SMTP_CA_FILE": str(ca)}
    if case == "wrong password":
        env["COGNATE_SMTP_PASSWORD"] = "not-the-password"
    else:
        del env["COGNATE_SMTP_CA_FILE"]
    proc, endpoint = serve(port, url=url, **env)
    try:
        with pytest.raises(ClientError) as exc:
            sign_up(endpoint, "tod")
        assert exc.value.response["Error"]["Code"] == "CodeDeliveryFailureException"
        assert box.messages == []
    finally:
        proc.terminate()
        proc.wait(timeout=15)


def test_credentials_are_never_sent_in_clear():
    """smtp:// with a user is refused at start: AUTH only inside TLS."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("COGNATE_")}
    env.update(COGNATE_SMTP_URL="smtp://mailer@127.0.0.1:2525", COGNATE_SMTP_PASSWORD=PASSWORD,
               COGNATE_ADMIN_ACCESS_KEY_ID=ACCESS_KEY_ID, COGNATE_ADMIN_SECRET_ACCESS_KEY=SECRET_ACCESS_KEY)
    out = subprocess.run([BIN, "serve", "--ephemeral", "--listen", "127.0.0.1:0"], env=env, capture_output=True,
                         text=True, timeout=30, stdin=subprocess.DEVNULL)
    assert out.returncode != 0
    assert "SMTP credentials need TLS" in out.stderr + out.stdout
    assert PASSWORD not in out.stderr + out.stdout
