"""The operator's path: `cognate keys create` on a data directory, then
`cognate serve` on it, driven by boto3 with the key the command printed.
Also: the master key file is private, data survives a restart."""

import json
import os
import pathlib
import re
import stat
import subprocess
import time

import boto3
import pytest
import requests

from conftest import REPO_ROOT, _free_port

BIN = pathlib.Path(os.environ.get("COGNATE_BIN", REPO_ROOT / "target" / "debug" / "cognate"))


def _env():
    env = {k: v for k, v in os.environ.items() if not k.startswith("COGNATE_")}
    env["COGNATE_LOG"] = "warn"
    return env


def _serve(data_dir, port):
    proc = subprocess.Popen(
        [str(BIN), "serve", "--data-dir", str(data_dir), "--listen", f"127.0.0.1:{port}"],
        env=_env(),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            if requests.get(f"http://127.0.0.1:{port}/ready", timeout=1).status_code == 200:
                return proc
        except requests.RequestException:
            time.sleep(0.05)
    proc.kill()
    pytest.fail(f"cognate did not become ready: {proc.stderr.read().decode(errors='replace')}")


def _stop(proc):
    proc.terminate()
    assert proc.wait(timeout=15) == 0, "graceful shutdown exits 0"


def test_keys_create_then_serve(tmp_path):
    data = tmp_path / "data"
    out = subprocess.run(
        [str(BIN), "keys", "create", "--data-dir", str(data), "--description", "ops"],
        env=_env(), capture_output=True, text=True, check=True,
    ).stdout
    fields = dict(line.split(": ", 1) for line in out.strip().splitlines())
    key_id, secret = fields["AccessKeyId"], fields["SecretAccessKey"]
    assert key_id.startswith("AKIA") and len(secret) == 40

    mode = stat.S_IMODE((data / "master.key").stat().st_mode)
    assert mode == 0o600

    listed = subprocess.run([str(BIN), "keys", "list", "--data-dir", str(data)], env=_env(), capture_output=True, text=True, check=True).stdout
    assert key_id in listed and secret not in listed

    port = _free_port()
    proc = _serve(data, port)
    try:
        client = boto3.client(
            "cognito-idp", region_name="ap-south-1", endpoint_url=f"http://127.0.0.1:{port}",
            aws_access_key_id=key_id, aws_secret_access_key=secret,
        )
        pool_id = client.create_user_pool(PoolName="kept", AutoVerifiedAttributes=["email"])["UserPool"]["Id"]
        assert pool_id.startswith("ap-south-1_")
        app = client.create_user_pool_client(UserPoolId=pool_id, ClientName="app")["UserPoolClient"]["ClientId"]
        client.sign_up(ClientId=app, Username="cli", Password="Passw0rd!", UserAttributes=[{"Name": "email", "Value": "cli@example.com"}])

        # The operator's tools work on the same data directory while it serves.
        out = subprocess.run(
            [str(BIN), "outbox", "--data-dir", str(data), "--destination", "cli@example.com", "--json"],
            env=_env(), capture_output=True, text=True, check=True,
        ).stdout
        message = json.loads(out.strip().splitlines()[0])
        assert message["Destination"] == "cli@example.com" and re.search(r"\d{6}", message["Body"])
        keys_cmd = lambda *a: subprocess.run([str(BIN), "signing-keys", *a, "--pool", pool_id, "--data-dir", str(data)],
                                             env=_env(), capture_output=True, text=True, check=True).stdout
        first = keys_cmd("list").split()[0]
        new_kid = keys_cmd("rotate").strip()
        listed = keys_cmd("list")
        assert first in listed and new_kid in listed and "verifying" in listed
    finally:
        _stop(proc)
    logs = proc.stderr.read().decode(errors="replace")
    assert secret not in logs

    # Restart on the same directory: the pool and the key are still there.
    proc = _serve(data, port)
    try:
        client = boto3.client(
            "cognito-idp", region_name="ap-south-1", endpoint_url=f"http://127.0.0.1:{port}",
            aws_access_key_id=key_id, aws_secret_access_key=secret,
        )
        assert client.describe_user_pool(UserPoolId=pool_id)["UserPool"]["Name"] == "kept"
    finally:
        _stop(proc)

    subprocess.run([str(BIN), "keys", "delete", key_id, "--data-dir", str(data)], env=_env(), check=True)
    listed = subprocess.run([str(BIN), "keys", "list", "--data-dir", str(data)], env=_env(), capture_output=True, text=True, check=True).stdout
    assert key_id not in listed


def test_bad_settings_are_refused(tmp_path):
    r = subprocess.run([str(BIN), "serve", "--ephemeral", "--database-url", "postgres://x/y"], env=_env(), capture_output=True, text=True)
    assert r.returncode == 2 and "exclude each other" in r.stderr
    r = subprocess.run([str(BIN), "serve", "--account-id", "12"], env=_env(), capture_output=True, text=True)
    assert r.returncode == 2 and "12 digits" in r.stderr
    r = subprocess.run([str(BIN), "serve", "--ephemeral", "--io-threads", "0"], env=_env(), capture_output=True, text=True)
    assert r.returncode == 2 and "io_threads must be between 1 and 1024" in r.stderr


def test_bench_runs_every_scenario_without_errors():
    """`cognate bench` drives a server of its own and reports each scenario;
    a harness that reports errors or no operations is broken."""
    import json as _json

    r = subprocess.run(
        # Two request threads: the default is one, so this runs the other case.
        [str(BIN), "bench", "--duration", "1", "--users", "2", "--concurrency", "2", "--dataset-users", "500",
         "--io-threads", "2", "--json"],
        env=_env(), capture_output=True, text=True, timeout=300,
    )
    assert r.returncode == 0, r.stderr
    report = _json.loads(r.stdout)
    names = [s["scenario"] for s in report["scenarios"]]
    assert names == ["http-floor", "password-sign-in", "srp-sign-in", "mfa-sign-in", "trigger-sign-in", "refresh",
                     "get-user", "sign-up", "admin-create-user", "admin-get-user", "list-users",
                     "client-credentials", "code-exchange", "mixed"]
    for s in report["scenarios"]:
        assert s["errors"] == 0 and s["operations"] > 0, s
        assert s["server_cpu_us_per_op"] > 0, s
        # Reads have no cryptography they cannot avoid (GetUser's reused
        # token is checked once per node); everything else does, and the
        # server counts its own time in it.
        crypto = s["scenario"] not in ("http-floor", "get-user", "admin-get-user", "list-users")
        assert (s["crypto_us_per_op"] > 0) == crypto, s
        assert (s["in_server_efficiency"] is not None) == crypto, s
        if crypto:
            # (No upper bound: /proc counts CPU in 10 ms ticks, coarse for a 1 s run.)
            assert s["in_server_crypto_us_per_op"] > 0 and s["in_server_efficiency"] > 0, s
    assert report["dataset_users"] == 500 and report["start_to_ready_ms"] > 0 and report["io_threads"] == 2
    assert report["idle_rss_kib"] > 0 and report["rss_after_kib"] >= report["idle_rss_kib"] // 2
    # Every scenario ran its argon2id, SRP and signatures on the crypto
    # threads, none on a request thread (the meter counts the exceptions).
    assert report["inline_crypto_calls"] == 0, report


def test_audit_shows_admin_calls_and_sign_ins(tmp_path):
    """`cognate audit` reads the log of a live data directory, filters it,
    and --follow streams records as they are written."""
    data = tmp_path / "data"
    out = subprocess.run([str(BIN), "keys", "create", "--data-dir", str(data)], env=_env(),
                         capture_output=True, text=True, check=True).stdout
    fields = dict(line.split(": ", 1) for line in out.strip().splitlines())
    port = _free_port()
    proc = _serve(data, port)
    audit = lambda *a: subprocess.run([str(BIN), "audit", "--data-dir", str(data), "--json", *a], env=_env(),
                                      capture_output=True, text=True, check=True).stdout
    follower = None
    try:
        client = boto3.client(
            "cognito-idp", region_name="eu-west-1", endpoint_url=f"http://127.0.0.1:{port}",
            aws_access_key_id=fields["AccessKeyId"], aws_secret_access_key=fields["SecretAccessKey"],
        )
        pool_id = client.create_user_pool(PoolName="audited")["UserPool"]["Id"]
        app = client.create_user_pool_client(UserPoolId=pool_id, ClientName="app",
                                             ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"])["UserPoolClient"]["ClientId"]
        client.admin_create_user(UserPoolId=pool_id, Username="ops", TemporaryPassword="Temp-Passw0rd!", MessageAction="SUPPRESS")
        with pytest.raises(client.exceptions.NotAuthorizedException):
            client.initiate_auth(ClientId=app, AuthFlow="USER_PASSWORD_AUTH",
                                 AuthParameters={"USERNAME": "ops", "PASSWORD": "Wrong-Passw0rd!"})

        def records(*a):
            # The server writes records in batches; give it a moment.
            deadline = time.monotonic() + 10
            while True:
                rows = [json.loads(line) for line in audit(*a).splitlines()]
                if rows or time.monotonic() > deadline:
                    return rows
                time.sleep(0.1)

        created = records("--operation", "AdminCreateUser")
        assert len(created) == 1
        assert created[0]["Caller"] == fields["AccessKeyId"] and created[0]["Target"] == "ops"
        assert created[0]["UserPoolId"] == pool_id and created[0]["Outcome"] == "ok"
        assert created[0]["Source"] == "127.0.0.1"
        failed = records("--pool", pool_id, "--outcome", "NotAuthorizedException")
        assert [r["Operation"] for r in failed] == ["InitiateAuth"]
        assert failed[0]["Caller"] == "user:ops" and failed[0]["ClientId"] == app
        everything = audit("--since", "1h")
        assert "Wrong-Passw0rd!" not in everything and "Temp-Passw0rd!" not in everything
        assert fields["SecretAccessKey"] not in everything
        assert audit("--since", str(int(time.time()) + 3600)) == ""

        follower = subprocess.Popen([str(BIN), "audit", "--data-dir", str(data), "--json", "--follow",
                                     "--operation", "AdminDeleteUser"],
                                    env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        client.admin_delete_user(UserPoolId=pool_id, Username="ops")
        import threading
        watchdog = threading.Timer(20, follower.kill)  # a broken --follow fails, it does not hang
        watchdog.start()
        line = follower.stdout.readline()
        watchdog.cancel()
        assert line, "--follow printed nothing within 20 s"
        assert json.loads(line)["Operation"] == "AdminDeleteUser"

        # Retention: everything older than a minute from now goes.
        out = subprocess.run([str(BIN), "audit", "--data-dir", str(data), "--delete-before", str(int(time.time()) + 60)],
                             env=_env(), capture_output=True, text=True, check=True).stdout
        deleted = int(re.search(r"deleted (\d+) audit records", out).group(1))
        assert deleted >= 5, out
        assert audit("--operation", "AdminCreateUser") == ""
    finally:
        if follower is not None:
            follower.kill()
            follower.wait()
        _stop(proc)
