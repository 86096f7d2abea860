"""Shared fixtures for the Cognate conformance suite.

The suite drives a Cognate server with clients nobody on the team wrote
(boto3 and the AWS CLI v1) and asserts what real Amazon Cognito does.

Server: by default the session starts ``$COGNATE_BIN`` (default
``<repo>/target/debug/cognate``) as
``cognate serve --data-dir <temporary directory> --listen 127.0.0.1:<free port>``
(a SQLite file, the default engine) and stops it at the end. If ``COGNATE_ENDPOINT`` is set, that server is used instead and
nothing is started. Server output goes to ``conformance/logs/``.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import pathlib
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid

import boto3
import pytest
import requests
from botocore import UNSIGNED
from botocore.awsrequest import AWSRequest
from botocore.auth import SigV4Auth
from botocore.config import Config
from botocore.credentials import Credentials
from botocore.exceptions import ClientError

CONFORMANCE_DIR = pathlib.Path(__file__).resolve().parent.parent
REPO_ROOT = CONFORMANCE_DIR.parent

ACCESS_KEY_ID = "AKIACOGNATETEST00001"
SECRET_ACCESS_KEY = "cognateConformanceTestSecretKey000000001"  # 40 chars
WRONG_SECRET_ACCESS_KEY = "cognateConformanceTestSecretKey999999999"  # 40 chars
UNKNOWN_ACCESS_KEY_ID = "AKIAUNKNOWNKEY000001"
REGION = "us-east-1"
TARGET_PREFIX = "AWSCognitoIdentityProviderService"
JSON_CONTENT_TYPE = "application/x-amz-json-1.1"

assert len(SECRET_ACCESS_KEY) == 40 and len(WRONG_SECRET_ACCESS_KEY) == 40

READY_TIMEOUT_S = 20.0

# Keep anything configured on this machine (profiles, config files,
# endpoint overrides) out of the clients under test.
_NOWHERE = CONFORMANCE_DIR / "logs" / "no-such-dir"
for _var in list(os.environ):
    if _var.startswith("AWS_"):
        del os.environ[_var]
os.environ["AWS_CONFIG_FILE"] = str(_NOWHERE / "config")
os.environ["AWS_SHARED_CREDENTIALS_FILE"] = str(_NOWHERE / "credentials")
os.environ["AWS_EC2_METADATA_DISABLED"] = "true"


# --------------------------------------------------------------------------
# Server lifecycle
# --------------------------------------------------------------------------

def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _tail(path: pathlib.Path, limit: int = 4000) -> str:
    try:
        data = path.read_bytes()
    except OSError:
        return "<no log>"
    return data[-limit:].decode("utf-8", "replace")


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=10)


def _storage_args(data_dir: pathlib.Path):
    """A SQLite file in `data_dir` by default (the engine `cognate serve`
    runs out of the box); COGNATE_CONFORMANCE_DATABASE_URL runs the suite
    against that (empty) PostgreSQL database instead."""
    url = os.environ.get("COGNATE_CONFORMANCE_DATABASE_URL")
    return ["--database-url", url] if url else ["--data-dir", str(data_dir)]


# The log of the server this session started (empty with COGNATE_ENDPOINT).
SERVER_LOG: list = []


# The function the session server runs triggers through (Lambda Runtime API).
LAMBDA_ARN = "arn:aws:lambda:us-east-1:123456789012:function:conformance-triggers"
LAMBDA_RUNTIME_API: list = []


@pytest.fixture(scope="session")
def lambda_runtime_api(endpoint):
    """host:port of the session server's Lambda Runtime API for LAMBDA_ARN."""
    if not LAMBDA_RUNTIME_API:
        pytest.skip("the server under test was not started by this suite")
    return LAMBDA_RUNTIME_API[-1]


@pytest.fixture
def server_log():
    """Path of the session server's log file, or None for an external server."""
    return SERVER_LOG[-1] if SERVER_LOG else None


@pytest.fixture(scope="session")
def endpoint():
    """Base URL of the server under test (no trailing slash)."""
    external = os.environ.get("COGNATE_ENDPOINT")
    if external:
        yield external.rstrip("/")
        return

    binary = pathlib.Path(os.environ.get("COGNATE_BIN", REPO_ROOT / "target" / "debug" / "cognate"))
    if not (binary.is_file() and os.access(binary, os.X_OK)):
        pytest.exit(
            f"Cognate binary not found at {binary}: build it (cargo build) or set "
            "COGNATE_BIN, or point COGNATE_ENDPOINT at a running server",
            returncode=3,
        )

    port = _free_port()
    log_dir = CONFORMANCE_DIR / "logs"
    log_dir.mkdir(parents=True, exist_ok=True)
    log_path = log_dir / f"cognate-{time.strftime('%Y%m%dT%H%M%S')}-{port}.log"
    # One Lambda function served through the Runtime API, for test_lambda.py.
    runtime_api = f"127.0.0.1:{_free_port()}"
    config_path = log_dir / f"cognate-{port}.toml"
    config_path.write_text(f'[functions."{LAMBDA_ARN}"]\nruntime_api = "{runtime_api}"\n')
    LAMBDA_RUNTIME_API.append(runtime_api)
    SERVER_LOG.append(log_path)
    env = dict(os.environ)
    env["COGNATE_ADMIN_ACCESS_KEY_ID"] = ACCESS_KEY_ID
    env["COGNATE_ADMIN_SECRET_ACCESS_KEY"] = SECRET_ACCESS_KEY
    # A fresh master key per server, so nothing is written to a key file.
    env["COGNATE_MASTER_KEY"] = secrets.token_hex(32)
    url = f"http://127.0.0.1:{port}"

    data_dir = pathlib.Path(tempfile.mkdtemp(prefix="cognate-conformance-"))

    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            [
                str(binary),
                "serve",
                *_storage_args(data_dir),
                "--listen",
                f"127.0.0.1:{port}",
                "--config",
                str(config_path),
            ],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,
        )
        try:
            deadline = time.monotonic() + READY_TIMEOUT_S
            while True:
                if proc.poll() is not None:
                    raise RuntimeError(
                        f"cognate exited with status {proc.returncode} before becoming ready; "
                        f"log {log_path}:\n{_tail(log_path)}"
                    )
                try:
                    if requests.get(f"{url}/ready", timeout=1).status_code == 200:
                        break
                except requests.RequestException:
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError(
                        f"cognate not ready after {READY_TIMEOUT_S:.0f} s; log {log_path}:\n{_tail(log_path)}"
                    )
                time.sleep(0.1)
            sys.stderr.write(f"\n[conformance] cognate at {url}, log {log_path}\n")
            yield url
        finally:
            _stop(proc)
            shutil.rmtree(data_dir, ignore_errors=True)


# --------------------------------------------------------------------------
# boto3 clients
# --------------------------------------------------------------------------

def _config(**extra) -> Config:
    return Config(
        retries={"max_attempts": 1, "mode": "standard"},
        connect_timeout=5,
        read_timeout=30,
        **extra,
    )


@pytest.fixture(scope="session")
def make_client(endpoint):
    """Factory: make_client(region=..., key=..., secret=..., validate=True, unsigned=False)."""

    def make(region=REGION, key=ACCESS_KEY_ID, secret=SECRET_ACCESS_KEY, validate=True, unsigned=False):
        extra = {"parameter_validation": validate}
        if unsigned:
            extra["signature_version"] = UNSIGNED
        return boto3.session.Session().client(
            "cognito-idp",
            region_name=region,
            endpoint_url=endpoint,
            aws_access_key_id=key,
            aws_secret_access_key=secret,
            config=_config(**extra),
        )

    return make


@pytest.fixture(scope="session")
def cognito(make_client):
    """Admin client, us-east-1, signed with the configured admin keys."""
    return make_client()


@pytest.fixture(scope="session")
def cognito_raw(make_client):
    """Admin client with botocore's client-side parameter validation turned off,
    so invalid input reaches the server."""
    return make_client(validate=False)


@pytest.fixture(scope="session")
def unsigned_client(make_client):
    return make_client(unsigned=True)


@pytest.fixture(scope="session")
def wrong_secret_client(make_client):
    return make_client(secret=WRONG_SECRET_ACCESS_KEY)


@pytest.fixture(scope="session")
def unknown_key_client(make_client):
    return make_client(key=UNKNOWN_ACCESS_KEY_ID)


# --------------------------------------------------------------------------
# AWS CLI
# --------------------------------------------------------------------------

class CliResult:
    def __init__(self, proc: subprocess.CompletedProcess):
        self.returncode = proc.returncode
        self.stdout = proc.stdout
        self.stderr = proc.stderr

    @property
    def json(self):
        return json.loads(self.stdout) if self.stdout.strip() else None

    def __repr__(self):
        return f"CliResult(rc={self.returncode}, stdout={self.stdout[:500]!r}, stderr={self.stderr[:500]!r})"


def _aws_executable() -> str:
    beside_python = pathlib.Path(sys.executable).parent / "aws"
    if beside_python.exists():
        return str(beside_python)
    return str(CONFORMANCE_DIR / ".venv" / "bin" / "aws")


@pytest.fixture(scope="session")
def aws_cli(endpoint, tmp_path_factory):
    """Run ``aws cognito-idp <args>`` against the server; returns CliResult.

    ``aws_cli("list-user-pools", "--max-results", "5")``; pass check=True to
    assert a zero exit status and get the parsed JSON output back.
    """
    home = tmp_path_factory.mktemp("aws-cli-home")
    exe = _aws_executable()

    def run(*args, region=REGION, key=ACCESS_KEY_ID, secret=SECRET_ACCESS_KEY, check=False, timeout=60):
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(home),
            "LANG": "C.UTF-8",
            "AWS_ACCESS_KEY_ID": key,
            "AWS_SECRET_ACCESS_KEY": secret,
            "AWS_DEFAULT_REGION": region,
            "AWS_CONFIG_FILE": str(_NOWHERE / "config"),
            "AWS_SHARED_CREDENTIALS_FILE": str(_NOWHERE / "credentials"),
            "AWS_MAX_ATTEMPTS": "1",
            "AWS_RETRY_MODE": "standard",
            "AWS_EC2_METADATA_DISABLED": "true",
            "AWS_PAGER": "",
        }
        cmd = [exe, "cognito-idp", *[str(a) for a in args], "--endpoint-url", endpoint, "--output", "json"]
        proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout)
        result = CliResult(proc)
        if check:
            assert result.returncode == 0, f"{' '.join(cmd)} failed: {result!r}"
            return result.json
        return result

    return run


# --------------------------------------------------------------------------
# Helpers shared by the test modules
# --------------------------------------------------------------------------

def unique_name(prefix: str = "conf") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def error_code(exc: ClientError) -> str:
    return exc.response["Error"]["Code"]


def status_code(exc: ClientError) -> int:
    return exc.response["ResponseMetadata"]["HTTPStatusCode"]


def force_delete_pool(client, pool_id: str) -> None:
    """Best-effort cleanup, also for pools with deletion protection."""
    try:
        client.delete_user_pool(UserPoolId=pool_id)
        return
    except ClientError as exc:
        if error_code(exc) == "ResourceNotFoundException":
            return
    try:
        client.update_user_pool(UserPoolId=pool_id, DeletionProtection="INACTIVE")
        client.delete_user_pool(UserPoolId=pool_id)
    except ClientError:
        pass


@pytest.fixture
def pools(cognito):
    """Factory creating pools that are deleted after the test:
    ``pools(PoolName=..., **CreateUserPool kwargs)`` -> UserPool dict."""
    created = []

    def create(client=None, **kwargs):
        client = client or cognito
        kwargs.setdefault("PoolName", unique_name("pool"))
        pool = client.create_user_pool(**kwargs)["UserPool"]
        created.append((client, pool["Id"]))
        return pool

    yield create
    for client, pool_id in reversed(created):
        force_delete_pool(client, pool_id)


@pytest.fixture
def pool(pools):
    """A freshly created pool with only a name."""
    return pools()


def sign_request(method, url, body=b"", headers=None, region=REGION, key=ACCESS_KEY_ID,
                 secret=SECRET_ACCESS_KEY, when=None):
    """SigV4-sign a raw request with botocore's signer; ``when`` (aware UTC
    datetime) fakes the signing time. Returns the headers to send."""
    request = AWSRequest(method=method, url=url, data=body, headers=dict(headers or {}))
    signer = SigV4Auth(Credentials(key, secret), "cognito-idp", region)
    if when is None:
        signer.add_auth(request)
    else:
        from unittest import mock

        fake_now = when.astimezone(_dt.timezone.utc).replace(tzinfo=None)
        with mock.patch("botocore.auth.get_current_datetime", lambda *a, **k: fake_now):
            signer.add_auth(request)
    return dict(request.headers.items())


def api_headers(operation: str) -> dict:
    return {"Content-Type": JSON_CONTENT_TYPE, "X-Amz-Target": f"{TARGET_PREFIX}.{operation}"}


def signed_post(endpoint, operation, body, *, raw=False, extra_headers=None, **sign_kwargs):
    """POST one JSON-protocol call, signed; ``body`` is a dict or (raw=True) bytes."""
    data = body if raw else json.dumps(body).encode()
    headers = api_headers(operation)
    headers.update(extra_headers or {})
    signed = sign_request("POST", endpoint + "/", data, headers, **sign_kwargs)
    return requests.post(endpoint + "/", data=data, headers=signed, timeout=30)


def error_type(response) -> str:
    """``__type`` of an AWS JSON error body, without any ``namespace#`` prefix."""
    return response.json().get("__type", "").rsplit("#", 1)[-1]
