//! The store suite: the same checks against every engine. PostgreSQL runs
//! when `COGNATE_TEST_POSTGRES_URL` names a server; with
//! `COGNATE_REQUIRE_POSTGRES=1` (as in CI) its absence is a failure.

use super::*;

fn pool_row(id: &str, now: i64) -> PoolRow {
    PoolRow {
        id: id.into(),
        region: "us-east-1".into(),
        name: format!("pool {id}"),
        created_at: now,
        updated_at: now,
        version: 1,
        config: "{}".into(),
    }
}

fn client_row(id: &str, pool: &str) -> ClientRow {
    ClientRow {
        id: id.into(),
        pool_id: pool.into(),
        name: "app".into(),
        created_at: 1,
        updated_at: 1,
        version: 1,
        config: "{}".into(),
    }
}

async fn suite(store: &Store) {
    store.ping().await.unwrap();
    assert_eq!(store.schema_version().await.unwrap(), migrations::LATEST);

    // Admin keys: unique ids settled by the database.
    let key = AdminKeyRow {
        access_key_id: "AKIA1".into(),
        secret_sealed: "v1.x".into(),
        description: "d".into(),
        created_at: 5,
    };
    store.insert_admin_key(&key).await.unwrap();
    assert!(matches!(store.insert_admin_key(&key).await, Err(StoreError::Conflict)));
    assert_eq!(store.get_admin_key("AKIA1").await.unwrap(), Some(key.clone()));
    assert_eq!(store.list_admin_keys().await.unwrap().len(), 1);
    assert!(store.delete_admin_key("AKIA1").await.unwrap());
    assert!(!store.delete_admin_key("AKIA1").await.unwrap());
    assert_eq!(store.get_admin_key("AKIA1").await.unwrap(), None);

    // Pools: insert, conflict, optimistic update, paging.
    for id in ["us-east-1_c", "us-east-1_a", "us-east-1_b"] {
        store.insert_pool(&pool_row(id, 10)).await.unwrap();
    }
    assert!(matches!(store.insert_pool(&pool_row("us-east-1_a", 10)).await, Err(StoreError::Conflict)));
    let mut elsewhere = pool_row("eu-west-1_a", 10);
    elsewhere.region = "eu-west-1".into();
    store.insert_pool(&elsewhere).await.unwrap();
    let page1 = store.list_pools("us-east-1", None, 2).await.unwrap();
    assert_eq!(page1.iter().map(|p| p.id.as_str()).collect::<Vec<_>>(), ["us-east-1_a", "us-east-1_b"]);
    let page2 = store.list_pools("us-east-1", Some("us-east-1_b"), 2).await.unwrap();
    assert_eq!(page2.iter().map(|p| p.id.as_str()).collect::<Vec<_>>(), ["us-east-1_c"]);
    assert_eq!(store.list_pools("eu-west-1", None, 10).await.unwrap(), vec![elsewhere]);
    assert!(store.update_pool("us-east-1_a", 1, "renamed", "{\"x\":1}", 20).await.unwrap());
    assert!(!store.update_pool("us-east-1_a", 1, "lost race", "{}", 21).await.unwrap(), "stale version must not write");
    let a = store.get_pool("us-east-1_a").await.unwrap().unwrap();
    assert_eq!((a.name.as_str(), a.version, a.updated_at, a.config.as_str()), ("renamed", 2, 20, "{\"x\":1}"));

    // Tags upsert and go away with their pool.
    store.put_tag("us-east-1_a", "team", "red").await.unwrap();
    store.put_tag("us-east-1_a", "team", "blue").await.unwrap();
    store.put_tag("us-east-1_a", "env", "dev").await.unwrap();
    let tags = store.list_tags("us-east-1_a").await.unwrap();
    assert_eq!(
        tags,
        vec![TagRow { key: "env".into(), value: "dev".into() }, TagRow { key: "team".into(), value: "blue".into() }]
    );
    store.delete_tag("us-east-1_a", "env").await.unwrap();
    assert_eq!(store.list_tags("us-east-1_a").await.unwrap().len(), 1);

    // Clients belong to a pool; a client of an unknown pool is refused.
    store.insert_client(&client_row("client1", "us-east-1_a")).await.unwrap();
    store.insert_client(&client_row("client2", "us-east-1_a")).await.unwrap();
    assert!(store.insert_client(&client_row("client3", "us-east-1_missing")).await.is_err());
    assert!(store.get_client("us-east-1_b", "client1").await.unwrap().is_none(), "client is scoped to its pool");
    assert_eq!(store.list_clients("us-east-1_a", None, 1).await.unwrap()[0].id, "client1");
    assert_eq!(store.list_clients("us-east-1_a", Some("client1"), 5).await.unwrap()[0].id, "client2");
    assert!(store.update_client("us-east-1_a", "client1", 1, "n", "{}", 3).await.unwrap());
    assert!(!store.update_client("us-east-1_a", "client1", 1, "n", "{}", 3).await.unwrap());

    // Client secrets: bounded, never the last one deleted.
    let secret = |id: &str| ClientSecretRow {
        id: id.into(),
        client_id: "client1".into(),
        secret_sealed: "v1.s".into(),
        created_at: 1,
    };
    assert!(store.insert_client_secret_bounded(&secret("s1"), 2).await.unwrap());
    assert!(store.insert_client_secret_bounded(&secret("s2"), 2).await.unwrap());
    assert!(!store.insert_client_secret_bounded(&secret("s3"), 2).await.unwrap());
    assert!(store.delete_client_secret_unless_last("client1", "s1").await.unwrap());
    assert!(!store.delete_client_secret_unless_last("client1", "s2").await.unwrap());
    assert_eq!(store.list_client_secrets("client1").await.unwrap().len(), 1);

    // Deleting a pool takes its clients, secrets and tags with it.
    assert!(store.delete_pool("us-east-1_a").await.unwrap());
    assert!(store.get_client("us-east-1_a", "client2").await.unwrap().is_none());
    assert!(store.list_client_secrets("client1").await.unwrap().is_empty());
    assert!(store.list_tags("us-east-1_a").await.unwrap().is_empty());
    assert!(!store.delete_pool("us-east-1_a").await.unwrap());

    users(store).await;
    directory(store).await;
    audit(store).await;

    // Concurrent inserts of one key: exactly one wins.
    let mut handles = Vec::new();
    for _ in 0..8 {
        let s = store.clone();
        handles.push(tokio::spawn(async move { s.insert_pool(&pool_row("us-east-1_race", 1)).await }));
    }
    let mut wins = 0;
    for h in handles {
        match h.await.unwrap() {
            Ok(()) => wins += 1,
            Err(StoreError::Conflict) => {}
            Err(e) => panic!("unexpected {e}"),
        }
    }
    assert_eq!(wins, 1);
    oauth(store).await;
}

async fn oauth(store: &Store) {
    let pool = "us-east-1_oauth";
    store.insert_pool(&pool_row(pool, 1)).await.unwrap();
    store.insert_pool(&pool_row("us-east-1_other", 1)).await.unwrap();

    // Domains: a name is global; a pool has one of each kind.
    let domain = |name: &str, pool: &str, custom: i64| DomainRow {
        domain: name.into(),
        pool_id: pool.into(),
        custom,
        config: "{}".into(),
        created_at: 1,
        updated_at: 1,
    };
    store.insert_domain(&domain("shop", pool, 0)).await.unwrap();
    assert!(matches!(store.insert_domain(&domain("shop", "us-east-1_other", 0)).await, Err(StoreError::Conflict)));
    assert!(matches!(store.insert_domain(&domain("shop2", pool, 0)).await, Err(StoreError::Conflict)));
    store.insert_domain(&domain("auth.example.com", pool, 1)).await.unwrap();
    let names: Vec<_> = store.pool_domains(pool).await.unwrap().into_iter().map(|d| d.domain).collect();
    assert_eq!(names, ["shop", "auth.example.com"]);
    assert!(!store.delete_domain("us-east-1_other", "shop").await.unwrap(), "only its own pool deletes it");
    assert!(store.delete_domain(pool, "shop").await.unwrap());
    assert_eq!(store.get_domain("shop").await.unwrap(), None);

    // Resource servers: unique per pool, limited per pool, paged.
    let rs = |id: &str| ResourceServerRow {
        pool_id: pool.into(),
        identifier: id.into(),
        config: "{}".into(),
        created_at: 1,
    };
    assert!(store.insert_resource_server(&rs("b"), 2).await.unwrap());
    assert!(matches!(store.insert_resource_server(&rs("b"), 2).await, Err(StoreError::Conflict)));
    assert!(store.insert_resource_server(&rs("a"), 2).await.unwrap());
    assert!(!store.insert_resource_server(&rs("c"), 2).await.unwrap(), "over the limit");
    let page = store.list_resource_servers(pool, Some("a"), 10).await.unwrap();
    assert_eq!(page.iter().map(|r| r.identifier.as_str()).collect::<Vec<_>>(), ["b"]);

    // The hosted UI's look: replaced, its first date kept.
    let look = |css: &str, at: i64| UiCustomizationRow {
        pool_id: pool.into(),
        client_id: "ALL".into(),
        css: css.into(),
        image: String::new(),
        created_at: at,
        updated_at: at,
    };
    store.put_ui_customization(&look("a", 1)).await.unwrap();
    store.put_ui_customization(&look("b", 2)).await.unwrap();
    let got = store.get_ui_customization(pool, "ALL").await.unwrap().unwrap();
    assert_eq!((got.css.as_str(), got.created_at, got.updated_at), ("b", 1, 2));
    assert_eq!(store.get_ui_customization(pool, "c1").await.unwrap(), None);

    // Codes: taken once, even by racing takers; an expired one is not given.
    let code = |hash: &str, expires_at: i64| AuthCodeRow {
        code_hash: hash.into(),
        pool_id: pool.into(),
        client_id: "c".into(),
        grant_doc: "{}".into(),
        expires_at,
    };
    store.insert_auth_code(&code("h1", 100), 10).await.unwrap();
    let mut handles = Vec::new();
    for _ in 0..8 {
        let s = store.clone();
        handles.push(tokio::spawn(async move { s.take_auth_code("h1", 20).await.unwrap() }));
    }
    let mut taken = 0;
    for h in handles {
        taken += usize::from(h.await.unwrap().is_some());
    }
    assert_eq!(taken, 1);
    store.insert_auth_code(&code("h2", 100), 10).await.unwrap();
    assert_eq!(store.take_auth_code("h2", 100).await.unwrap(), None, "expired at 100");

    // Sessions: found only in their pool and while live.
    let session = LoginSessionRow {
        id_hash: "s1".into(),
        pool_id: pool.into(),
        username_key: "ann".into(),
        auth_time: 5,
        expires_at: 50,
    };
    store.insert_login_session(&session, 10).await.unwrap();
    assert_eq!(store.login_session(pool, "s1", 49).await.unwrap(), Some(session.clone()));
    assert_eq!(store.login_session("us-east-1_other", "s1", 49).await.unwrap(), None);
    assert_eq!(store.login_session(pool, "s1", 50).await.unwrap(), None);
    store.delete_login_session("s1").await.unwrap();
    assert_eq!(store.login_session(pool, "s1", 20).await.unwrap(), None);
}

fn temp_path(name: &str) -> std::path::PathBuf {
    let n = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
    std::env::temp_dir().join(format!("cognate-store-{name}-{}-{n}", std::process::id()))
}

#[tokio::test]
async fn sqlite_file() {
    let dir = temp_path("file");
    let path = dir.join("cognate.db");
    let store = Store::open(&Location::SqliteFile(path.clone())).await.unwrap();
    suite(&store).await;
    // Reads run on connections that refuse to write (one connection writes).
    let write = || {
        q(
            "INSERT INTO pool_mfa (pool_id, config) VALUES ($1, $2) RETURNING config",
            vec![Text("us-east-1_b"), Text("{}")],
        )
    };
    assert!(fetch_all::<mfa::PoolMfaRow>(&store, write()).await.is_err());
    assert!(fetch_optional::<mfa::PoolMfaRow>(&store, write()).await.is_err());
    assert_eq!(store.get_pool_mfa("us-east-1_b").await.unwrap(), None);
    // The file and its WAL and shared-memory files are the owner's alone.
    #[cfg(unix)]
    for suffix in ["", "-wal", "-shm"] {
        use std::os::unix::fs::PermissionsExt as _;
        let file = dir.join(format!("cognate.db{suffix}"));
        let mode = std::fs::metadata(&file).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{}", file.display());
    }
    store.close().await;
    // Re-opening applies no migration twice and keeps the data.
    let again = Store::open(&Location::SqliteFile(path)).await.unwrap();
    assert!(again.get_pool("us-east-1_b").await.unwrap().is_some());
    again.close().await;
    let _ = std::fs::remove_dir_all(dir);
}

/// A database file an older Cognate left readable by all is tightened at
/// open.
#[cfg(unix)]
#[tokio::test]
async fn sqlite_file_left_world_readable_is_tightened() {
    use std::os::unix::fs::PermissionsExt as _;
    let dir = temp_path("mode");
    let path = dir.join("cognate.db");
    Store::open(&Location::SqliteFile(path.clone())).await.unwrap().close().await;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
    let store = Store::open(&Location::SqliteFile(path.clone())).await.unwrap();
    assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
    store.close().await;
    let _ = std::fs::remove_dir_all(dir);
}

/// The access-token check is asked on every call: SQLite answers it from
/// three index probes, never a scan of a sign-in's rotated tokens.
#[tokio::test]
async fn the_access_check_probes_indexes_only() {
    let store = Store::open(&Location::SqliteMemory).await.unwrap();
    let Db::Sqlite(pool) = &store.db else { unreachable!("SQLite") };
    let sql = format!("EXPLAIN QUERY PLAN {}", users::USER_FOR_ACCESS);
    let plan: Vec<String> = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind("p")
        .bind("s")
        .bind("o")
        .fetch_all(pool)
        .await
        .unwrap()
        .iter()
        .map(|r| r.try_get::<String, _>("detail").unwrap())
        .collect();
    let plan = plan.join("\n");
    assert!(plan.contains("USING INDEX users_by_sub"), "{plan}");
    assert!(plan.contains("USING INDEX refresh_tokens_revoked"), "{plan}");
    assert!(plan.contains("sqlite_autoindex_user_mfa"), "{plan}");
    assert!(!plan.contains("SCAN"), "{plan}");
}

/// The SQLite library is built as `.cargo/config.toml` asks: without the
/// page-cache group that makes every connection's page fetches take one
/// process-wide mutex (point reads on the request thread blocked on it while
/// the writer held it), and without allocator statistics.
#[test]
fn sqlite_is_built_without_shared_cache_mutexes() {
    let conn = rusqlite::Connection::open_in_memory().unwrap();
    let mut stmt = conn.prepare("PRAGMA compile_options").unwrap();
    let options: Vec<String> =
        stmt.query_map([], |r| r.get::<_, String>(0)).unwrap().collect::<rusqlite::Result<_>>().unwrap();
    assert!(!options.iter().any(|o| o == "ENABLE_MEMORY_MANAGEMENT"), "{options:?}");
    assert!(options.iter().any(|o| o == "DEFAULT_MEMSTATUS=0"), "{options:?}");
    assert!(options.iter().any(|o| o == "THREADSAFE=1"), "{options:?}");
}

#[tokio::test]
async fn sqlite_memory() {
    let store = Store::open(&Location::SqliteMemory).await.unwrap();
    suite(&store).await;
}

#[tokio::test]
async fn postgres() {
    let Ok(url) = std::env::var("COGNATE_TEST_POSTGRES_URL") else {
        assert!(
            std::env::var("COGNATE_REQUIRE_POSTGRES").as_deref() != Ok("1"),
            "COGNATE_REQUIRE_POSTGRES=1 but COGNATE_TEST_POSTGRES_URL is unset"
        );
        eprintln!("postgres store suite skipped: COGNATE_TEST_POSTGRES_URL unset");
        return;
    };
    let name = format!("cognate_store_{}", std::process::id());
    let db_url = scratch::create_database(&url, &name).await.unwrap();
    let store = Store::open(&Location::Postgres(db_url.clone())).await.unwrap();
    suite(&store).await;
    // Two nodes starting at once: migrations serialise and both come up.
    let (la, lb) = (Location::Postgres(db_url.clone()), Location::Postgres(db_url));
    let (a, b) = tokio::join!(Store::open(&la), Store::open(&lb));
    a.unwrap().close().await;
    b.unwrap().close().await;
    store.close().await;
    scratch::drop_database(&url, &name).await.unwrap();
}

#[test]
fn scratch_urls() {
    assert_eq!(
        scratch::with_database("postgres://u:p@h:5432/postgres?sslmode=disable", "x"),
        "postgres://u:p@h:5432/x?sslmode=disable"
    );
    assert_eq!(scratch::with_database("postgres://h", "x"), "postgres://h/x");
}

fn user_row(pool: &str, key: &str, sub: &str) -> UserRow {
    UserRow {
        pool_id: pool.into(),
        username: key.into(),
        username_key: key.into(),
        sub: sub.into(),
        status: "UNCONFIRMED".into(),
        enabled: 1,
        created_at: 1,
        updated_at: 1,
        version: 1,
        attributes: "{}".into(),
        password_hash: Some("$argon2id$x".into()),
        srp_salt: None,
        srp_verifier: None,
        password_changed_at: 1,
        failed_attempts: 0,
        locked_until: 0,
    }
}

async fn users(store: &Store) {
    let pool = "us-east-1_users";
    store.insert_pool(&pool_row(pool, 1)).await.unwrap();
    let alias = |kind: &str, value: &str, key: &str| AliasRow {
        pool_id: pool.into(),
        kind: kind.into(),
        value_key: value.into(),
        username_key: key.into(),
    };

    store.create_user(&user_row(pool, "ann", "sub-ann"), &[alias("email", "a@x.io", "ann")], &[]).await.unwrap();
    // Same username, or same alias: refused whole, nothing half-written.
    assert!(matches!(store.create_user(&user_row(pool, "ann", "sub-2"), &[], &[]).await, Err(StoreError::Conflict)));
    assert!(matches!(
        store.create_user(&user_row(pool, "bob", "sub-bob"), &[alias("email", "a@x.io", "bob")], &[]).await,
        Err(StoreError::Conflict)
    ));
    assert!(
        store.get_user(UserKey { pool_id: pool, username_key: "bob" }).await.unwrap().is_none(),
        "the rejected user was rolled back"
    );
    assert!(
        matches!(store.create_user(&user_row(pool, "cat", "sub-ann"), &[], &[]).await, Err(StoreError::Conflict)),
        "sub is unique"
    );

    assert_eq!(store.get_user_by_alias(pool, "email", "a@x.io").await.unwrap().unwrap().username_key, "ann");
    assert_eq!(store.get_user_by_sub(pool, "sub-ann").await.unwrap().unwrap().username, "ann");
    assert_eq!(store.count_users(pool).await.unwrap(), 1);

    // Optimistic update with alias replacement.
    let mut ann = store.get_user(UserKey { pool_id: pool, username_key: "ann" }).await.unwrap().unwrap();
    ann.status = "CONFIRMED".into();
    assert!(store.update_user(&ann, Some((&[alias("email", "ann@x.io", "ann")], &[]))).await.unwrap());
    assert!(!store.update_user(&ann, None).await.unwrap(), "stale version");
    assert!(store.get_user_by_alias(pool, "email", "a@x.io").await.unwrap().is_none());
    assert_eq!(store.list_aliases(UserKey { pool_id: pool, username_key: "ann" }).await.unwrap().len(), 1);
    store.create_user(&user_row(pool, "bob", "sub-bob"), &[], &[]).await.unwrap();
    let mut bob = store.get_user(UserKey { pool_id: pool, username_key: "bob" }).await.unwrap().unwrap();
    bob.status = "CONFIRMED".into();
    assert!(matches!(
        store.update_user(&bob, Some((&[alias("email", "ann@x.io", "bob")], &[]))).await,
        Err(StoreError::Conflict)
    ));
    assert_eq!(
        store.get_user(UserKey { pool_id: pool, username_key: "bob" }).await.unwrap().unwrap().status,
        "UNCONFIRMED",
        "rolled back"
    );

    // Codes: upsert, attempts counted by the database, single use.
    let code = CodeRow {
        pool_id: pool.into(),
        username_key: "bob".into(),
        purpose: "signup".into(),
        code_mac: "m1".into(),
        expires_at: 9,
        attempts: 0,
        created_at: 1,
    };
    store.put_code(&code).await.unwrap();
    store.put_code(&CodeRow { code_mac: "m2".into(), ..code.clone() }).await.unwrap();
    store.bump_code_attempts(UserKey { pool_id: pool, username_key: "bob" }, "signup").await.unwrap();
    let got = store.get_code(UserKey { pool_id: pool, username_key: "bob" }, "signup").await.unwrap().unwrap();
    assert_eq!((got.code_mac.as_str(), got.attempts), ("m2", 1));
    assert!(!store.take_code(UserKey { pool_id: pool, username_key: "bob" }, "signup", "m1").await.unwrap());
    assert!(store.take_code(UserKey { pool_id: pool, username_key: "bob" }, "signup", "m2").await.unwrap());
    assert!(!store.take_code(UserKey { pool_id: pool, username_key: "bob" }, "signup", "m2").await.unwrap());

    // Outbox, newest first, filtered.
    for (i, dest) in ["a@x.io", "b@x.io", "a@x.io"].iter().enumerate() {
        let m = OutboxRow {
            id: format!("m{i}"),
            pool_id: pool.into(),
            username: "u".into(),
            channel: "EMAIL".into(),
            destination: (*dest).into(),
            subject: "s".into(),
            body: "b".into(),
            created_at: i as i64,
        };
        store.insert_outbox(&m).await.unwrap();
    }
    let a = store.list_outbox(Some(pool), Some("a@x.io"), 10).await.unwrap();
    assert_eq!(a.iter().map(|m| m.id.as_str()).collect::<Vec<_>>(), ["m2", "m0"]);

    // Failed sign-ins are counted by the database.
    assert_eq!(store.record_failed_sign_in(UserKey { pool_id: pool, username_key: "bob" }).await.unwrap(), 1);
    assert_eq!(store.record_failed_sign_in(UserKey { pool_id: pool, username_key: "bob" }).await.unwrap(), 2);
    store.lock_sign_in(UserKey { pool_id: pool, username_key: "bob" }, 99).await.unwrap();
    assert_eq!(store.get_user(UserKey { pool_id: pool, username_key: "bob" }).await.unwrap().unwrap().locked_until, 99);
    store.clear_failed_sign_ins(UserKey { pool_id: pool, username_key: "bob" }).await.unwrap();
    let bob = store.get_user(UserKey { pool_id: pool, username_key: "bob" }).await.unwrap().unwrap();
    assert_eq!((bob.failed_attempts, bob.locked_until), (0, 0));
    assert_eq!(store.record_failed_sign_in(UserKey { pool_id: pool, username_key: "nobody" }).await.unwrap(), 0);

    // Names no user holds: counted by the database, per purpose; a new code
    // resets the count; counters idle for a day go.
    assert_eq!(store.unknown_name(UserKey { pool_id: pool, username_key: "ghost" }, "signin").await.unwrap(), None);
    assert_eq!(
        store.record_unknown_failure(UserKey { pool_id: pool, username_key: "ghost" }, "signin", 1_000).await.unwrap(),
        1
    );
    assert_eq!(
        store.record_unknown_failure(UserKey { pool_id: pool, username_key: "ghost" }, "signin", 2_000).await.unwrap(),
        2
    );
    store
        .set_unknown_until(UserKey { pool_id: pool, username_key: "ghost" }, "signin", 50_000, false, 2_000)
        .await
        .unwrap();
    assert_eq!(
        store.unknown_name(UserKey { pool_id: pool, username_key: "ghost" }, "signin").await.unwrap(),
        Some(UnknownNameRow { failures: 2, until_at: 50_000 })
    );
    store
        .set_unknown_until(UserKey { pool_id: pool, username_key: "ghost" }, "reset", 9_000, true, 2_000)
        .await
        .unwrap();
    assert_eq!(
        store.record_unknown_failure(UserKey { pool_id: pool, username_key: "ghost" }, "reset", 3_000).await.unwrap(),
        1
    );
    store
        .set_unknown_until(UserKey { pool_id: pool, username_key: "ghost" }, "reset", 9_500, true, 3_000)
        .await
        .unwrap();
    assert_eq!(
        store.unknown_name(UserKey { pool_id: pool, username_key: "ghost" }, "reset").await.unwrap(),
        Some(UnknownNameRow { failures: 0, until_at: 9_500 })
    );
    let later = 3_000 + UNKNOWN_NAME_TTL_MS + 1;
    assert_eq!(
        store.record_unknown_failure(UserKey { pool_id: pool, username_key: "other" }, "signin", later).await.unwrap(),
        1
    );
    assert_eq!(store.unknown_name(UserKey { pool_id: pool, username_key: "ghost" }, "signin").await.unwrap(), None);
    assert_eq!(store.unknown_name(UserKey { pool_id: pool, username_key: "ghost" }, "reset").await.unwrap(), None);

    // Signing keys, oldest first; refresh tokens revoked once.
    for (kid, at) in [("k2", 2), ("k1", 1)] {
        store
            .insert_signing_key(&SigningKeyRow {
                pool_id: pool.into(),
                kid: kid.into(),
                key_sealed: "v1.x".into(),
                created_at: at,
            })
            .await
            .unwrap();
    }
    assert_eq!(store.list_signing_keys(pool).await.unwrap()[0].kid, "k1");
    let rt = RefreshTokenRow {
        token_hash: "h".into(),
        pool_id: pool.into(),
        username_key: "bob".into(),
        client_id: "c".into(),
        origin_jti: "o".into(),
        auth_time: 1,
        created_at: 1,
        expires_at: 9,
        revoked_at: 0,
        rotated_at: 0,
        scopes: "openid inventory/read".into(),
    };
    store.insert_refresh_token(&rt).await.unwrap();
    assert!(matches!(store.insert_refresh_token(&rt).await, Err(StoreError::Conflict)));
    assert_eq!(store.get_refresh_token("h").await.unwrap().as_ref(), Some(&rt));
    // The access-token check: user, revocation of its sign-in, MFA presence.
    let check = |origin: &'static str| {
        let (store, sub) = (store.clone(), bob.sub.clone());
        async move { store.user_for_access(pool, &sub, origin).await.unwrap().unwrap() }
    };
    let before = check("o").await;
    assert_eq!((before.user.username.as_str(), before.revoked, before.has_mfa), ("bob", false, false));
    assert!(store.user_for_access(pool, "no-such-sub", "o").await.unwrap().is_none());
    let mfa = crate::MfaRow { pool_id: pool.into(), username_key: "bob".into(), ..Default::default() };
    store.put_user_mfa(&mfa).await.unwrap();
    assert!(check("o").await.has_mfa);
    assert!(store.revoke_refresh_token("h", 5).await.unwrap());
    assert!(!store.revoke_refresh_token("h", 6).await.unwrap(), "revoked once");
    assert_eq!(store.get_refresh_token("h").await.unwrap().unwrap().revoked_at, 5);
    assert!(check("o").await.revoked);
    assert!(!check("another-sign-in").await.revoked);

    // Rotation: one use wins; revoking an origin takes its whole family.
    let a = RefreshTokenRow { token_hash: "a".into(), origin_jti: "fam".into(), revoked_at: 0, ..rt.clone() };
    let b = RefreshTokenRow { token_hash: "b".into(), ..a.clone() };
    store.insert_refresh_token(&a).await.unwrap();
    store.insert_refresh_token(&b).await.unwrap();
    assert!(store.mark_rotated("a", 3).await.unwrap());
    assert!(!store.mark_rotated("a", 4).await.unwrap(), "one rotation per token");
    store.revoke_origin(pool, "fam", 7).await.unwrap();
    assert_eq!(store.get_refresh_token("b").await.unwrap().unwrap().revoked_at, 7);

    // Password history keeps the newest few.
    for (i, h) in ["p1", "p2", "p3"].iter().enumerate() {
        store.push_password_history(UserKey { pool_id: pool, username_key: "bob" }, h, i as i64, 2).await.unwrap();
    }
    assert_eq!(store.password_history(UserKey { pool_id: pool, username_key: "bob" }, 10).await.unwrap(), ["p3", "p2"]);

    // Users go with their pool, and their aliases and codes with them.
    assert!(store.delete_user(UserKey { pool_id: pool, username_key: "bob" }).await.unwrap());
    assert!(store.delete_pool(pool).await.unwrap());
    assert!(store.get_user(UserKey { pool_id: pool, username_key: "ann" }).await.unwrap().is_none());
    assert!(store.get_user_by_alias(pool, "email", "ann@x.io").await.unwrap().is_none());
}

async fn directory(store: &Store) {
    let pool = "us-east-1_dir";
    store.insert_pool(&pool_row(pool, 1)).await.unwrap();
    // Values chosen so that a linguistic collation would order them
    // differently from byte order ("a-b" against "ab", accents, case).
    let emails = ["a-b@x.io", "ab@x.io", "Ab@x.io", "\u{e9}t\u{e9}@x.io", "a.c@x.io", "b@x.io"];
    for (i, e) in emails.iter().enumerate() {
        let key = format!("u{i}");
        let mut u = user_row(pool, &key, &format!("sub-{i}"));
        u.enabled = i64::from(i % 2 == 0);
        u.status = if i < 2 { "CONFIRMED" } else { "UNCONFIRMED" }.into();
        let search = [SearchEntry::new("username", &key), SearchEntry::new("email", e)];
        store.create_user(&u, &[], &search).await.unwrap();
    }
    let keys = |page: &UserPage| page.users.iter().map(|(u, _)| u.username_key.clone()).collect::<Vec<_>>();
    let prefix = |p: &str| UserQuery::Prefix { name: "email".into(), prefix: p.into() };

    let all = store.list_users(pool, &UserQuery::All, None, 100).await.unwrap();
    assert_eq!(keys(&all), ["u0", "u1", "u2", "u3", "u4", "u5"]);
    let a = store.list_users(pool, &prefix("a"), None, 100).await.unwrap();
    assert_eq!(keys(&a), ["u0", "u4", "u1"], "byte order: '-' < '.' < 'b'");
    assert_eq!(keys(&store.list_users(pool, &prefix("a-"), None, 100).await.unwrap()), ["u0"]);
    assert_eq!(keys(&store.list_users(pool, &prefix("\u{e9}"), None, 100).await.unwrap()), ["u3"]);
    assert_eq!(keys(&store.list_users(pool, &prefix("A"), None, 100).await.unwrap()), ["u2"], "case-sensitive");
    assert_eq!(keys(&store.list_users(pool, &prefix(""), None, 100).await.unwrap()).len(), 6);
    let eq = UserQuery::Equals { name: "email".into(), value: "ab@x.io".into() };
    assert_eq!(keys(&store.list_users(pool, &eq, None, 100).await.unwrap()), ["u1"]);

    // Pages continue exactly after their cursor, for every query shape.
    for query in [UserQuery::All, prefix("a"), UserQuery::Status(vec!["UNCONFIRMED".into(), "CONFIRMED".into()])] {
        let whole = keys(&store.list_users(pool, &query, None, 100).await.unwrap());
        let mut seen = Vec::new();
        let mut after: Option<Cursor> = None;
        loop {
            let page = store.list_users(pool, &query, after.as_ref(), 2).await.unwrap();
            if page.users.is_empty() {
                break;
            }
            seen.extend(keys(&page));
            after = page.users.last().map(|(_, c)| c.clone());
        }
        assert_eq!(seen, whole, "{query:?}");
    }
    let status = store.list_users(pool, &UserQuery::Status(vec!["CONFIRMED".into()]), None, 100).await.unwrap();
    assert_eq!(keys(&status), ["u0", "u1"]);
    assert_eq!(keys(&store.list_users(pool, &UserQuery::Enabled(false), None, 100).await.unwrap()), ["u1", "u3", "u5"]);

    // Replacing a user's search entries with an update.
    let mut u1 = store.get_user(UserKey { pool_id: pool, username_key: "u1" }).await.unwrap().unwrap();
    assert!(store.update_user(&u1, Some((&[], &[SearchEntry::new("email", "zz@x.io")]))).await.unwrap());
    u1.version += 1;
    assert!(store.list_users(pool, &eq, None, 100).await.unwrap().users.is_empty());
    assert_eq!(keys(&store.list_users(pool, &prefix("zz"), None, 100).await.unwrap()), ["u1"]);
    // A status change without derived data keeps the entries.
    u1.status = "RESET_REQUIRED".into();
    assert!(store.update_user(&u1, None).await.unwrap());
    assert_eq!(keys(&store.list_users(pool, &prefix("zz"), None, 100).await.unwrap()), ["u1"]);
    // Long values are indexed by their first characters.
    let long = "l".repeat(MAX_INDEXED_CHARS + 50);
    store.create_user(&user_row(pool, "long", "sub-long"), &[], &[SearchEntry::new("email", &long)]).await.unwrap();
    let hit = store.list_users(pool, &UserQuery::Equals { name: "email".into(), value: long.clone() }, None, 9).await;
    assert_eq!(keys(&hit.unwrap()), ["long"]);

    // Groups: unique names, bounded per pool, memberships bounded per user.
    let group = |name: &str, precedence: Option<i64>| GroupRow {
        pool_id: pool.into(),
        name: name.into(),
        description: None,
        role_arn: Some(format!("arn:aws:iam::1:role/{name}")),
        precedence,
        created_at: 1,
        updated_at: 1,
    };
    assert!(store.create_group(&group("g1", Some(1)), 3).await.unwrap());
    assert!(matches!(store.create_group(&group("g1", None), 3).await, Err(StoreError::Conflict)));
    assert!(store.create_group(&group("g2", None), 3).await.unwrap());
    assert!(store.create_group(&group("g3", None), 3).await.unwrap());
    assert!(!store.create_group(&group("g4", None), 3).await.unwrap(), "pool limit");
    assert_eq!(store.get_group(pool, "g1").await.unwrap().unwrap().precedence, Some(1));
    let mut g2 = group("g2", Some(7));
    g2.description = Some("d".into());
    assert!(store.update_group(&g2).await.unwrap());
    assert_eq!(store.get_group(pool, "g2").await.unwrap().unwrap(), g2);
    let names = |gs: Vec<GroupRow>| gs.into_iter().map(|g| g.name).collect::<Vec<_>>();
    assert_eq!(names(store.list_groups(pool, Some("g1"), 10).await.unwrap()), ["g2", "g3"]);

    assert_eq!(
        store.add_group_member(UserKey { pool_id: pool, username_key: "u0" }, "g1", 1, 2).await.unwrap(),
        Membership::Added
    );
    assert_eq!(
        store.add_group_member(UserKey { pool_id: pool, username_key: "u0" }, "g1", 1, 2).await.unwrap(),
        Membership::AlreadyMember
    );
    assert_eq!(
        store.add_group_member(UserKey { pool_id: pool, username_key: "u0" }, "g2", 1, 2).await.unwrap(),
        Membership::Added
    );
    assert_eq!(
        store.add_group_member(UserKey { pool_id: pool, username_key: "u0" }, "g3", 1, 2).await.unwrap(),
        Membership::LimitReached
    );
    assert_eq!(
        store.add_group_member(UserKey { pool_id: pool, username_key: "u2" }, "g3", 1, 2).await.unwrap(),
        Membership::Added
    );
    assert!(
        matches!(
            store.add_group_member(UserKey { pool_id: pool, username_key: "u2" }, "nope", 1, 2).await,
            Err(StoreError::Dangling)
        ),
        "fk"
    );
    assert_eq!(
        names(store.groups_of_user(UserKey { pool_id: pool, username_key: "u0" }, None, 10).await.unwrap()),
        ["g1", "g2"]
    );
    let members = store.users_in_group(pool, "g3", None, 10).await.unwrap();
    assert_eq!(members.iter().map(|u| u.username_key.as_str()).collect::<Vec<_>>(), ["u2"]);
    assert!(store.remove_group_member(UserKey { pool_id: pool, username_key: "u0" }, "g2").await.unwrap());
    assert!(!store.remove_group_member(UserKey { pool_id: pool, username_key: "u0" }, "g2").await.unwrap());
    // Deleting a group or a user removes their memberships.
    assert!(store.delete_group(pool, "g1").await.unwrap());
    assert!(store.groups_of_user(UserKey { pool_id: pool, username_key: "u0" }, None, 10).await.unwrap().is_empty());
    assert!(store.delete_user(UserKey { pool_id: pool, username_key: "u2" }).await.unwrap());
    assert!(store.users_in_group(pool, "g3", None, 10).await.unwrap().is_empty());
    assert!(store.list_users(pool, &prefix("A"), None, 10).await.unwrap().users.is_empty(), "entries cascade");
}

async fn audit(store: &Store) {
    let row = |id: &str, at: i64, op: &str| AuditRow {
        id: id.into(),
        at,
        caller: "AKIA1".into(),
        operation: op.into(),
        pool_id: "p1".into(),
        client_id: String::new(),
        target: "ann".into(),
        outcome: "ok".into(),
        source: "127.0.0.1".into(),
        request_id: "r".into(),
    };
    store
        .insert_audit(&[row("b", 10, "AdminGetUser"), row("a", 10, "AdminCreateUser"), row("c", 20, "AdminGetUser")])
        .await
        .unwrap();
    let ids = |rows: Vec<AuditRow>| rows.into_iter().map(|r| r.id).collect::<Vec<_>>();
    assert_eq!(ids(store.list_audit(&AuditFilter::default(), 10).await.unwrap()), ["a", "b", "c"]);
    let f = AuditFilter { operation: Some("AdminGetUser".into()), ..Default::default() };
    assert_eq!(ids(store.list_audit(&f, 10).await.unwrap()), ["b", "c"]);
    let f = AuditFilter { after: Some((10, "a".into())), ..Default::default() };
    assert_eq!(ids(store.list_audit(&f, 10).await.unwrap()), ["b", "c"]);
    let f = AuditFilter { since: Some(15), ..Default::default() };
    assert_eq!(ids(store.list_audit(&f, 10).await.unwrap()), ["c"]);
    assert_eq!(store.delete_audit_before(15).await.unwrap(), 2);
    assert_eq!(ids(store.list_audit(&AuditFilter::default(), 10).await.unwrap()), ["c"]);
    // A batch that takes every statement size (64 + 16 + 4 + 1 rows), each
    // row's ten values in place.
    let batch: Vec<AuditRow> = (0..85).map(|i| row(&format!("z{i:03}"), 100 + i, &format!("Op{i}"))).collect();
    store.insert_audit(&batch).await.unwrap();
    let written = store.list_audit(&AuditFilter { since: Some(100), ..Default::default() }, 100).await.unwrap();
    assert_eq!(written.len(), 85);
    for (i, r) in written.iter().enumerate() {
        assert_eq!((r.id.clone(), r.at, r.operation.clone()), (format!("z{i:03}"), 100 + i as i64, format!("Op{i}")));
    }
    assert_eq!(store.delete_audit_before(1000).await.unwrap(), 86);

    let pool = "us-east-1_events";
    store.insert_pool(&pool_row(pool, 1)).await.unwrap();
    store.create_user(&user_row(pool, "ann", "sub-e"), &[], &[]).await.unwrap();
    for (i, t) in [(1, "SignUp"), (2, "SignIn"), (3, "SignIn")] {
        let e = AuthEventRow {
            id: format!("e{i}"),
            pool_id: pool.into(),
            username_key: "ann".into(),
            event_type: t.into(),
            response: "Pass".into(),
            challenges: "[]".into(),
            ip: String::new(),
            created_at: i,
        };
        store.insert_auth_event(&e).await.unwrap();
    }
    let events = store.list_auth_events(UserKey { pool_id: pool, username_key: "ann" }, None, 2).await.unwrap();
    assert_eq!(events.iter().map(|e| e.id.as_str()).collect::<Vec<_>>(), ["e3", "e2"], "newest first");
    let rest =
        store.list_auth_events(UserKey { pool_id: pool, username_key: "ann" }, Some((2, "e2")), 2).await.unwrap();
    assert_eq!(rest.iter().map(|e| e.id.as_str()).collect::<Vec<_>>(), ["e1"]);
    assert!(store.delete_user(UserKey { pool_id: pool, username_key: "ann" }).await.unwrap());
    assert!(
        store.list_auth_events(UserKey { pool_id: pool, username_key: "ann" }, None, 9).await.unwrap().is_empty(),
        "events go with the user"
    );
}
