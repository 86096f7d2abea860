//! `cognate bench`: load scenarios against a server, with the server's own
//! CPU time per operation set beside the cryptography the operation cannot
//! avoid, measured by this same binary in the same run.
//!
//! The server runs as a child process (`cognate serve` from this binary) so
//! its CPU time is read from `/proc/<pid>/stat` apart from the load
//! generator's. Workers keep one HTTP/1.1 connection each. Users are made
//! through the admin API (AdminCreateUser + AdminSetUserPassword), so set-up
//! costs no confirmation round trips.

use cognate_crypto::{jwt, sigv4, srp};
use http_body_util::{BodyExt as _, Full};
use hyper::body::Bytes;
use serde_json::{Value, json};
use std::time::{Duration, Instant};

#[derive(Debug, clap::Args)]
pub struct BenchArgs {
    /// Scenarios to run (password-sign-in, srp-sign-in, refresh, get-user); all by default.
    #[arg(long = "scenario")]
    scenarios: Vec<String>,
    /// Concurrent connections.
    #[arg(long, default_value_t = 4)]
    concurrency: usize,
    /// Seconds per scenario.
    #[arg(long, default_value_t = 10)]
    duration: u64,
    /// Users to sign in with (spread over the workers).
    #[arg(long, default_value_t = 32)]
    users: usize,
    /// Print the results as JSON instead of a table.
    #[arg(long)]
    json: bool,
    /// Run the server on this (empty) PostgreSQL database instead of a temporary SQLite file.
    #[arg(long = "bench-database-url")]
    database_url: Option<String>,
}

const KEY_ID: &str = "AKIABENCHMARK0000001";
const KEY_SECRET: &str = "bench/secret/access/key/000000000000000";
const PASSWORD: &str = "Bench-Passw0rd!";

/// One keep-alive HTTP/1.1 connection.
struct Conn {
    send: hyper::client::conn::http1::SendRequest<Full<Bytes>>,
    host: String,
}

impl Conn {
    async fn open(addr: &str) -> Result<Conn, String> {
        let stream = tokio::net::TcpStream::connect(addr).await.map_err(|e| format!("connect {addr}: {e}"))?;
        let _ = stream.set_nodelay(true);
        let (send, conn) = hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
            .await
            .map_err(|e| format!("handshake: {e}"))?;
        tokio::spawn(conn);
        Ok(Conn { send, host: addr.to_string() })
    }

    /// One JSON-protocol call; signed when `signed`. Returns (status, body).
    async fn call(&mut self, op: &str, body: &Value, signed: bool) -> Result<(u16, Value), String> {
        let payload = body.to_string().into_bytes();
        let target = format!("AWSCognitoIdentityProviderService.{op}");
        let mut headers: Vec<(String, String)> = vec![
            ("content-type".into(), "application/x-amz-json-1.1".into()),
            ("x-amz-target".into(), target),
            ("host".into(), self.host.clone()),
        ];
        if signed {
            let pairs: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
            let req = sigv4::Request { method: "POST", path: "/", query: "", headers: &pairs, body: &payload };
            let now =
                std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64);
            let added = sigv4::sign(&req, KEY_ID, KEY_SECRET, "us-east-1", "cognito-idp", now);
            headers.extend(added);
        }
        let mut builder = hyper::Request::builder().method("POST").uri("/");
        for (k, v) in &headers {
            builder = builder.header(k, v);
        }
        let request = builder.body(Full::new(Bytes::from(payload))).map_err(|e| e.to_string())?;
        self.send.ready().await.map_err(|e| e.to_string())?;
        let resp = self.send.send_request(request).await.map_err(|e| e.to_string())?;
        let status = resp.status().as_u16();
        let bytes = resp.into_body().collect().await.map_err(|e| e.to_string())?.to_bytes();
        Ok((status, serde_json::from_slice(&bytes).unwrap_or(Value::Null)))
    }

    async fn ok(&mut self, op: &str, body: &Value, signed: bool) -> Result<Value, String> {
        match self.call(op, body, signed).await? {
            (200, v) => Ok(v),
            (s, v) => Err(format!("{op}: HTTP {s} {v}")),
        }
    }
}

/// A user the scenarios sign in as, with the tokens set-up obtained.
#[derive(Clone)]
struct BenchUser {
    name: String,
    refresh: String,
    access: String,
}

struct Setup {
    pool: String,
    client: String,
    users: Vec<BenchUser>,
}

async fn setup(addr: &str, users: usize) -> Result<Setup, String> {
    let mut c = Conn::open(addr).await?;
    let pool = c.ok("CreateUserPool", &json!({"PoolName": "bench"}), true).await?["UserPool"]["Id"]
        .as_str()
        .ok_or("no pool id")?
        .to_string();
    let flows = ["ALLOW_USER_PASSWORD_AUTH", "ALLOW_USER_SRP_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"];
    let client = c
        .ok(
            "CreateUserPoolClient",
            &json!({"UserPoolId": pool, "ClientName": "bench", "ExplicitAuthFlows": flows}),
            true,
        )
        .await?["UserPoolClient"]["ClientId"]
        .as_str()
        .ok_or("no client id")?
        .to_string();
    let mut out = Vec::with_capacity(users);
    for i in 0..users {
        let name = format!("user{i:06}");
        c.ok("AdminCreateUser", &json!({"UserPoolId": pool, "Username": name, "MessageAction": "SUPPRESS"}), true)
            .await?;
        c.ok(
            "AdminSetUserPassword",
            &json!({"UserPoolId": pool, "Username": name, "Password": PASSWORD, "Permanent": true}),
            true,
        )
        .await?;
        let r = c.ok("InitiateAuth", &password_auth(&client, &name), false).await?;
        let t = &r["AuthenticationResult"];
        out.push(BenchUser {
            name,
            refresh: t["RefreshToken"].as_str().unwrap_or_default().to_string(),
            access: t["AccessToken"].as_str().unwrap_or_default().to_string(),
        });
    }
    Ok(Setup { pool, client, users: out })
}

fn password_auth(client: &str, user: &str) -> Value {
    json!({"ClientId": client, "AuthFlow": "USER_PASSWORD_AUTH", "AuthParameters": {"USERNAME": user, "PASSWORD": PASSWORD}})
}

/// One operation of a scenario (SRP is its two calls).
async fn operation(scenario: &str, c: &mut Conn, s: &Setup, u: &BenchUser) -> Result<(), String> {
    match scenario {
        "password-sign-in" => c.ok("InitiateAuth", &password_auth(&s.client, &u.name), false).await.map(|_| ()),
        "refresh" => {
            let body = json!({"ClientId": s.client, "AuthFlow": "REFRESH_TOKEN_AUTH", "AuthParameters": {"REFRESH_TOKEN": u.refresh}});
            c.ok("InitiateAuth", &body, false).await.map(|_| ())
        }
        "get-user" => c.ok("GetUser", &json!({"AccessToken": u.access}), false).await.map(|_| ()),
        "srp-sign-in" => {
            let (a, big_a) = srp::client::generate_a();
            let body = json!({"ClientId": s.client, "AuthFlow": "USER_SRP_AUTH", "AuthParameters": {"USERNAME": u.name, "SRP_A": hex::encode(&big_a)}});
            let r = c.ok("InitiateAuth", &body, false).await?;
            let p = &r["ChallengeParameters"];
            let field = |k: &str| p[k].as_str().unwrap_or_default().to_string();
            let pool_name = srp::pool_name(&s.pool);
            let key = srp::client::session_key(
                &a,
                &big_a,
                &field("SRP_B"),
                &field("SALT"),
                pool_name,
                &field("USER_ID_FOR_SRP"),
                PASSWORD,
            )
            .map_err(|e| e.to_string())?;
            let now =
                std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64);
            let ts = srp::format_timestamp(now);
            let block = field("SECRET_BLOCK");
            let sig = srp::client::claim_signature(&key, pool_name, &field("USER_ID_FOR_SRP"), &block, &ts)
                .map_err(|e| e.to_string())?;
            let body = json!({"ClientId": s.client, "ChallengeName": "PASSWORD_VERIFIER", "ChallengeResponses": {
                "USERNAME": field("USER_ID_FOR_SRP"), "PASSWORD_CLAIM_SECRET_BLOCK": block, "PASSWORD_CLAIM_SIGNATURE": sig, "TIMESTAMP": ts}});
            c.ok("RespondToAuthChallenge", &body, false).await.map(|_| ())
        }
        other => Err(format!("unknown scenario {other}")),
    }
}

/// The server process's CPU time (user + system), from /proc.
fn cpu_time(pid: u32) -> Option<Duration> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    // USER_HZ is 100 on Linux.
    Some(Duration::from_millis(ticks * 10))
}

fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status.lines().find(|l| l.starts_with("VmRSS:"))?.split_whitespace().nth(1)?.parse().ok()
}

/// Median time of `f` over `n` runs.
fn median_time(n: usize, mut f: impl FnMut()) -> Duration {
    let mut v: Vec<Duration> = (0..n)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed()
        })
        .collect();
    v.sort();
    v.get(n / 2).copied().unwrap_or_default()
}

/// The cryptography each scenario cannot avoid, measured here and now.
fn crypto_floor() -> Result<Vec<(&'static str, Duration)>, String> {
    let hash = cognate_idp::passwords::hash(PASSWORD).map_err(|e| e.to_string())?;
    let argon = median_time(9, || {
        let _ = cognate_idp::passwords::verify(PASSWORD, &hash);
    });
    let key = jwt::SigningKey::generate("bench").map_err(|e| e.to_string())?;
    let claims: serde_json::Map<String, Value> =
        serde_json::from_value(json!({"sub": "x", "iat": 1, "exp": 2})).unwrap_or_default();
    let sign = median_time(51, || {
        let _ = key.sign(&claims);
    });
    let token = key.sign(&claims).map_err(|e| e.to_string())?;
    let keys = jwt::VerifyingKeys::from_signing_keys(&[&key]).map_err(|e| e.to_string())?;
    let verify = median_time(201, || {
        let _ = jwt::verify(&token, &keys);
    });
    let v = srp::make_verifier("pool", "user", PASSWORD);
    let (_, big_a) = srp::client::generate_a();
    let a_hex = hex::encode(&big_a);
    let srp_server = median_time(21, || {
        if let Ok(ch) = srp::server_challenge(&v.verifier) {
            let _ = srp::session_key(&a_hex, &ch.big_b, &ch.b_secret, &v.verifier);
        }
    });
    Ok(vec![
        ("password-sign-in", argon + 2 * sign),
        ("srp-sign-in", srp_server + 2 * sign),
        ("refresh", 2 * sign),
        ("get-user", verify),
    ])
}

#[derive(Debug, serde::Serialize)]
struct Row {
    scenario: String,
    operations: usize,
    errors: usize,
    ops_per_sec: f64,
    p50_ms: f64,
    p99_ms: f64,
    max_ms: f64,
    server_cpu_us_per_op: f64,
    crypto_us_per_op: f64,
    efficiency: f64,
}

pub async fn run(args: BenchArgs) -> Result<(), String> {
    let all = ["password-sign-in", "srp-sign-in", "refresh", "get-user"];
    let scenarios: Vec<String> =
        if args.scenarios.is_empty() { all.iter().map(|s| s.to_string()).collect() } else { args.scenarios.clone() };
    if let Some(bad) = scenarios.iter().find(|s| !all.contains(&s.as_str())) {
        return Err(format!("unknown scenario {bad}; choose from {}", all.join(", ")));
    }
    let floor = tokio::task::spawn_blocking(crypto_floor).await.map_err(|e| e.to_string())??;

    // The server: this binary, in its own process, on a fresh SQLite file.
    let dir = std::env::temp_dir().join(format!("cognate-bench-{}", cognate_crypto::ids::uuid_v4()));
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
        l.local_addr().map_err(|e| e.to_string())?.port()
    };
    let addr = format!("127.0.0.1:{port}");
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let mut command = tokio::process::Command::new(exe);
    command.args(["serve", "--listen", &addr, "--data-dir"]).arg(&dir);
    if let Some(url) = &args.database_url {
        command.args(["--database-url", url]);
    }
    let mut child = command
        .env("COGNATE_ADMIN_ACCESS_KEY_ID", KEY_ID)
        .env("COGNATE_ADMIN_SECRET_ACCESS_KEY", KEY_SECRET)
        .env("COGNATE_LOG", "warn")
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| format!("cannot start the server: {e}"))?;
    let pid = child.id().ok_or("server exited")?;
    let result = async {
        let started = Instant::now();
        loop {
            if Conn::open(&addr).await.is_ok() {
                break;
            }
            if started.elapsed() > Duration::from_secs(20) {
                return Err("the server did not start".to_string());
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let idle_rss = rss_kib(pid);
        let setup = std::sync::Arc::new(setup(&addr, args.users.max(1)).await?);
        let mut rows = Vec::new();
        for scenario in &scenarios {
            rows.push(run_scenario(scenario, &addr, pid, &setup, &args, &floor).await?);
        }
        Ok((rows, idle_rss, rss_kib(pid)))
    }
    .await;
    let _ = child.kill().await;
    let _ = std::fs::remove_dir_all(&dir);
    let (rows, idle_rss, busy_rss) = result?;
    if args.json {
        println!(
            "{}",
            json!({"concurrency": args.concurrency, "duration_s": args.duration, "idle_rss_kib": idle_rss, "rss_after_kib": busy_rss, "scenarios": rows})
        );
    } else {
        println!(
            "{:<18} {:>9} {:>6} {:>10} {:>8} {:>8} {:>8} {:>14} {:>12} {:>10}",
            "scenario",
            "ops",
            "errors",
            "ops/s",
            "p50 ms",
            "p99 ms",
            "max ms",
            "server µs/op",
            "crypto µs/op",
            "efficiency"
        );
        for r in &rows {
            println!(
                "{:<18} {:>9} {:>6} {:>10.1} {:>8.2} {:>8.2} {:>8.2} {:>14.0} {:>12.0} {:>10.2}",
                r.scenario,
                r.operations,
                r.errors,
                r.ops_per_sec,
                r.p50_ms,
                r.p99_ms,
                r.max_ms,
                r.server_cpu_us_per_op,
                r.crypto_us_per_op,
                r.efficiency
            );
        }
        println!("server RSS: idle {} KiB, after the scenarios {} KiB", idle_rss.unwrap_or(0), busy_rss.unwrap_or(0));
    }
    Ok(())
}

async fn run_scenario(
    scenario: &str,
    addr: &str,
    pid: u32,
    setup: &std::sync::Arc<Setup>,
    args: &BenchArgs,
    floor: &[(&'static str, Duration)],
) -> Result<Row, String> {
    let deadline = Instant::now() + Duration::from_secs(args.duration);
    let cpu_before = cpu_time(pid);
    let started = Instant::now();
    let mut tasks = Vec::new();
    for w in 0..args.concurrency.max(1) {
        let (setup, addr, scenario) = (setup.clone(), addr.to_string(), scenario.to_string());
        tasks.push(tokio::spawn(async move {
            let mut conn = Conn::open(&addr).await?;
            let (mut latencies, mut errors, mut i) = (Vec::new(), 0usize, w);
            while Instant::now() < deadline {
                let user = &setup.users[i % setup.users.len()];
                i += 1;
                let t = Instant::now();
                match operation(&scenario, &mut conn, &setup, user).await {
                    Ok(()) => latencies.push(t.elapsed()),
                    Err(_) => {
                        errors += 1;
                        conn = Conn::open(&addr).await?;
                    }
                }
            }
            Ok::<_, String>((latencies, errors))
        }));
    }
    let mut latencies = Vec::new();
    let mut errors = 0;
    for t in tasks {
        let (l, e) = t.await.map_err(|e| e.to_string())??;
        latencies.extend(l);
        errors += e;
    }
    let wall = started.elapsed();
    let cpu = match (cpu_before, cpu_time(pid)) {
        (Some(a), Some(b)) => b.saturating_sub(a),
        _ => Duration::ZERO,
    };
    latencies.sort();
    let ops = latencies.len();
    let pct = |p: f64| {
        latencies.get(((ops as f64 * p) as usize).min(ops.saturating_sub(1))).map_or(0.0, |d| d.as_secs_f64() * 1000.0)
    };
    let server_us = if ops > 0 { cpu.as_secs_f64() * 1e6 / ops as f64 } else { 0.0 };
    let crypto_us = floor.iter().find(|(s, _)| *s == scenario).map_or(0.0, |(_, d)| d.as_secs_f64() * 1e6);
    Ok(Row {
        scenario: scenario.to_string(),
        operations: ops,
        errors,
        ops_per_sec: ops as f64 / wall.as_secs_f64(),
        p50_ms: pct(0.50),
        p99_ms: pct(0.99),
        max_ms: latencies.last().map_or(0.0, |d| d.as_secs_f64() * 1000.0),
        server_cpu_us_per_op: server_us,
        crypto_us_per_op: crypto_us,
        efficiency: if server_us > 0.0 { crypto_us / server_us } else { 0.0 },
    })
}
