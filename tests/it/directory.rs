//! ListUsers and its filter, groups and the group claims, authentication
//! events, the audit log, and the AdminCreateUser options that touch them.

use crate::signin::{fixture, password_auth};
use cognate_crypto::jwt;
use cognate_testkit::{Backend, Requester};
use serde_json::{Value, json};

const FLOWS: &str = r#"{"ExplicitAuthFlows": ["ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH", "ALLOW_ADMIN_USER_PASSWORD_AUTH"]}"#;

async fn create(admin: &Requester, pool: &str, username: &str, attrs: &[(&str, &str)]) -> Value {
    let attributes: Vec<Value> = attrs.iter().map(|(n, v)| json!({"Name": n, "Value": v})).collect();
    let r = admin
        .idp(
            "AdminCreateUser",
            json!({"UserPoolId": pool, "Username": username, "UserAttributes": attributes, "MessageAction": "SUPPRESS", "TemporaryPassword": "Temp-Passw0rd!"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    r.json()["User"].clone()
}

async fn names(admin: &Requester, pool: &str, filter: &str) -> Vec<String> {
    let r = admin.idp("ListUsers", json!({"UserPoolId": pool, "Filter": filter})).await;
    assert_eq!(r.status, 200, "{filter}: {}", r.text());
    let mut out: Vec<String> =
        r.json()["Users"].as_array().unwrap().iter().map(|u| u["Username"].as_str().unwrap().to_string()).collect();
    out.sort();
    out
}

fn sub_of(user: &Value) -> String {
    let attrs = user["Attributes"].as_array().or_else(|| user["UserAttributes"].as_array()).unwrap();
    attrs.iter().find(|a| a["Name"] == "sub").unwrap()["Value"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn list_users_filters_every_searchable_attribute() {
    for backend in Backend::all() {
        let f = fixture(backend, serde_json::from_str(FLOWS).unwrap()).await;
        let admin = f.server.client("us-east-1");
        let r = admin
            .idp(
                "AddCustomAttributes",
                json!({"UserPoolId": f.pool, "CustomAttributes": [{"Name": "team", "AttributeDataType": "String"}]}),
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.text());
        let ann = create(
            &admin,
            &f.pool,
            "ann",
            &[
                ("email", "ann@example.com"),
                ("phone_number", "+15550001"),
                ("name", "Ann Lee"),
                ("given_name", "Ann"),
                ("family_name", "Lee"),
                ("preferred_username", "annie"),
                ("custom:team", "blue"),
            ],
        )
        .await;
        create(
            &admin,
            &f.pool,
            "anna",
            &[("email", "anna@example.org"), ("given_name", "Anna"), ("custom:team", "blue-2")],
        )
        .await;
        create(
            &admin,
            &f.pool,
            "bob",
            &[("email", "bob@example.com"), ("phone_number", "+15550002"), ("family_name", "Lee")],
        )
        .await;
        // Statuses: bob confirmed, anna disabled.
        let r = admin
            .idp(
                "AdminSetUserPassword",
                json!({"UserPoolId": f.pool, "Username": "bob", "Password": "Passw0rd!x", "Permanent": true}),
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.text());
        assert_eq!(admin.idp("AdminDisableUser", json!({"UserPoolId": f.pool, "Username": "anna"})).await.status, 200);

        let cases: &[(&str, &[&str])] = &[
            ("", &["ann", "anna", "bob"]),
            (r#"username = "ann""#, &["ann"]),
            (r#"username ^= "ann""#, &["ann", "anna"]),
            (r#"email = "ann@example.com""#, &["ann"]),
            (r#"email^="an""#, &["ann", "anna"]),
            (r#"email ^= "ann@""#, &["ann"]),
            (r#"phone_number ^= "+1555""#, &["ann", "bob"]),
            (r#"name = "Ann Lee""#, &["ann"]),
            (r#"given_name ^= "Ann""#, &["ann", "anna"]),
            (r#"family_name = "Lee""#, &["ann", "bob"]),
            (r#"preferred_username = "annie""#, &["ann"]),
            (r#"cognito:user_status = "confirmed""#, &["bob"]),
            (r#"cognito:user_status = "FORCE_CHANGE_PASSWORD""#, &["ann", "anna"]),
            (r#"cognito:user_status ^= "FORCE""#, &["ann", "anna"]),
            (r#"status = "Disabled""#, &["anna"]),
            (r#"status = "Enabled""#, &["ann", "bob"]),
            (r#"status = "enabled""#, &[]),
            (r#"email = "nobody@example.com""#, &[]),
            (r#"custom:team ^= "blue""#, &["ann", "anna"]),
            (r#"custom:team = "blue""#, &["ann"]),
        ];
        for (filter, want) in cases {
            assert_eq!(names(&admin, &f.pool, filter).await, *want, "{filter}");
        }
        let sub = sub_of(&ann);
        assert_eq!(names(&admin, &f.pool, &format!(r#"sub = "{sub}""#)).await, ["ann"]);

        // A changed attribute is found by its new value only.
        let r = admin
            .idp("AdminUpdateUserAttributes", json!({"UserPoolId": f.pool, "Username": "bob", "UserAttributes": [{"Name": "email", "Value": "robert@example.com"}]}))
            .await;
        assert_eq!(r.status, 200, "{}", r.text());
        assert!(names(&admin, &f.pool, r#"email = "bob@example.com""#).await.is_empty());
        assert_eq!(names(&admin, &f.pool, r#"email ^= "rob""#).await, ["bob"]);

        // Errors, worded as Cognito words them.
        for (filter, code, message) in [
            (r#"email == "x""#, "InvalidParameterException", "Error while parsing filter."),
            ("email", "InvalidParameterException", "Error while parsing filter."),
            (r#"email = x"#, "InvalidParameterException", "Error while parsing filter."),
            (r#"address = "x""#, "InvalidParameterException", "Invalid search attribute: address"),
            (r#"custom:nope = "x""#, "InvalidParameterException", "Invalid search attribute: custom:nope"),
        ] {
            let r = admin.idp("ListUsers", json!({"UserPoolId": f.pool, "Filter": filter})).await;
            assert_eq!(
                (r.error_type().as_deref(), r.json()["message"].as_str()),
                (Some(code), Some(message)),
                "{filter}"
            );
        }
        let r = admin.idp("ListUsers", json!({"UserPoolId": f.pool, "Limit": 61})).await;
        assert_eq!(r.status, 400, "{}", r.text());
        let r = admin.idp("ListUsers", json!({"UserPoolId": f.pool, "PaginationToken": "!!"})).await;
        assert_eq!(r.error_type().as_deref(), Some("InvalidParameterException"));
        let r = admin.idp("ListUsers", json!({"UserPoolId": "us-east-1_nothere"})).await;
        assert_eq!(r.error_type().as_deref(), Some("ResourceNotFoundException"));
        assert_eq!(
            f.server.unsigned().idp("ListUsers", json!({"UserPoolId": f.pool})).await.error_type().as_deref(),
            Some("MissingAuthenticationTokenException")
        );

        // AttributesToGet: only what was asked; an unknown name is refused.
        let r = admin
            .idp("ListUsers", json!({"UserPoolId": f.pool, "Filter": "username = \"ann\"", "AttributesToGet": ["email", "given_name"]}))
            .await;
        let attrs = r.json()["Users"][0]["Attributes"].clone();
        assert_eq!(
            attrs,
            json!([{"Name": "email", "Value": "ann@example.com"}, {"Name": "given_name", "Value": "Ann"}])
        );
        let r = admin.idp("ListUsers", json!({"UserPoolId": f.pool, "AttributesToGet": ["nickname2"]})).await;
        assert_eq!(r.error_type().as_deref(), Some("InvalidParameterException"));
        f.server.stop().await;
    }
}

#[tokio::test]
async fn list_users_pages_without_gaps_or_repeats() {
    for backend in Backend::all() {
        let f = fixture(backend, json!({})).await;
        let admin = f.server.client("us-east-1");
        for i in 0..23 {
            let email = format!("user{i:02}@{}.example.com", if i % 2 == 0 { "even" } else { "odd" });
            create(&admin, &f.pool, &format!("u{i:02}"), &[("email", &email)]).await;
        }
        for (filter, expected) in
            [("", 23), (r#"email ^= "user1""#, 10), (r#"cognito:user_status = "FORCE_CHANGE_PASSWORD""#, 23)]
        {
            let mut seen = Vec::new();
            let mut token: Option<Value> = None;
            let mut pages = 0;
            loop {
                let mut body = json!({"UserPoolId": f.pool, "Limit": 4, "Filter": filter});
                if let Some(t) = &token {
                    body["PaginationToken"] = t.clone();
                }
                let r = admin.idp("ListUsers", body).await;
                assert_eq!(r.status, 200, "{}", r.text());
                let out = r.json();
                let users = out["Users"].as_array().unwrap();
                assert!(users.len() <= 4);
                seen.extend(users.iter().map(|u| u["Username"].as_str().unwrap().to_string()));
                pages += 1;
                match out.get("PaginationToken") {
                    Some(t) => token = Some(t.clone()),
                    None => break,
                }
            }
            let mut unique = seen.clone();
            unique.sort();
            unique.dedup();
            assert_eq!((seen.len(), unique.len()), (expected, expected), "{filter}");
            assert_eq!(pages, expected.div_ceil(4), "no empty last page: {filter}");
        }
        f.server.stop().await;
    }
}

async fn group(admin: &Requester, pool: &str, name: &str, precedence: Option<i32>, role: Option<&str>) {
    let mut body = json!({"UserPoolId": pool, "GroupName": name, "Description": format!("the {name}")});
    if let Some(p) = precedence {
        body["Precedence"] = json!(p);
    }
    if let Some(r) = role {
        body["RoleArn"] = json!(format!("arn:aws:iam::123456789012:role/{r}"));
    }
    let r = admin.idp("CreateGroup", body).await;
    assert_eq!(r.status, 200, "{}", r.text());
}

async fn add(admin: &Requester, pool: &str, user: &str, g: &str) -> cognate_testkit::Response {
    admin.idp("AdminAddUserToGroup", json!({"UserPoolId": pool, "Username": user, "GroupName": g})).await
}

#[tokio::test]
async fn groups_and_their_claims() {
    for backend in Backend::all() {
        let f = fixture(backend, serde_json::from_str(FLOWS).unwrap()).await;
        let admin = f.server.client("us-east-1");
        let public = f.server.unsigned();
        create(&admin, &f.pool, "gus", &[]).await;
        let r = admin
            .idp(
                "AdminSetUserPassword",
                json!({"UserPoolId": f.pool, "Username": "gus", "Password": "Passw0rd!x", "Permanent": true}),
            )
            .await;
        assert_eq!(r.status, 200);

        group(&admin, &f.pool, "zeta", Some(1), Some("zeta-role")).await;
        group(&admin, &f.pool, "alpha", Some(5), Some("alpha-role")).await;
        group(&admin, &f.pool, "beta", None, None).await;
        group(&admin, &f.pool, "unused", Some(0), Some("unused-role")).await;
        let r = admin.idp("CreateGroup", json!({"UserPoolId": f.pool, "GroupName": "zeta"})).await;
        assert_eq!(r.error_type().as_deref(), Some("GroupExistsException"));

        let r = admin.idp("GetGroup", json!({"UserPoolId": f.pool, "GroupName": "beta"})).await;
        let g = r.json()["Group"].clone();
        assert_eq!((g["GroupName"].as_str(), g["UserPoolId"].as_str()), (Some("beta"), Some(f.pool.as_str())));
        assert!(g.get("Precedence").is_none() && g.get("RoleArn").is_none(), "{g}");
        let r = admin.idp("GetGroup", json!({"UserPoolId": f.pool, "GroupName": "nope"})).await;
        assert_eq!(r.error_type().as_deref(), Some("ResourceNotFoundException"));

        // UpdateGroup changes what it is given and keeps the rest.
        let r = admin.idp("UpdateGroup", json!({"UserPoolId": f.pool, "GroupName": "beta", "Precedence": 9})).await;
        assert_eq!(r.json()["Group"]["Precedence"], 9);
        assert_eq!(r.json()["Group"]["Description"], "the beta");

        for g in ["zeta", "alpha", "beta"] {
            assert_eq!(add(&admin, &f.pool, "gus", g).await.status, 200);
        }
        assert_eq!(add(&admin, &f.pool, "gus", "zeta").await.status, 200, "adding twice is fine");
        assert_eq!(
            add(&admin, &f.pool, "gus", "nope").await.error_type().as_deref(),
            Some("ResourceNotFoundException")
        );
        assert_eq!(add(&admin, &f.pool, "nobody", "zeta").await.error_type().as_deref(), Some("UserNotFoundException"));

        let r = admin.idp("AdminListGroupsForUser", json!({"UserPoolId": f.pool, "Username": "gus", "Limit": 2})).await;
        let page = r.json();
        assert_eq!(page["Groups"].as_array().unwrap().len(), 2);
        let r = admin
            .idp(
                "AdminListGroupsForUser",
                json!({"UserPoolId": f.pool, "Username": "gus", "NextToken": page["NextToken"]}),
            )
            .await;
        assert_eq!(r.json()["Groups"].as_array().unwrap().len(), 1);
        assert!(r.json().get("NextToken").is_none());
        let r = admin.idp("ListUsersInGroup", json!({"UserPoolId": f.pool, "GroupName": "alpha"})).await;
        assert_eq!(r.json()["Users"][0]["Username"], "gus");
        let r = admin.idp("ListGroups", json!({"UserPoolId": f.pool, "Limit": 3})).await;
        let listed: Vec<String> = r.json()["Groups"]
            .as_array()
            .unwrap()
            .iter()
            .map(|g| g["GroupName"].as_str().unwrap().to_string())
            .collect();
        assert_eq!(listed, ["alpha", "beta", "unused"]);
        assert!(r.json()["NextToken"].is_string());

        // Tokens: groups by precedence (none last), roles, the preferred role.
        let r = public.idp("InitiateAuth", password_auth(&f.client, "gus", "Passw0rd!x")).await;
        assert_eq!(r.status, 200, "{}", r.text());
        let result = r.json()["AuthenticationResult"].clone();
        let keys = jwks(&f.server, &f.pool).await;
        let id = jwt::verify(result["IdToken"].as_str().unwrap(), &keys).unwrap();
        let access = jwt::verify(result["AccessToken"].as_str().unwrap(), &keys).unwrap();
        // beta now has precedence 9: zeta(1), alpha(5), beta(9).
        assert_eq!(id["cognito:groups"], json!(["zeta", "alpha", "beta"]));
        assert_eq!(access["cognito:groups"], json!(["zeta", "alpha", "beta"]));
        assert_eq!(
            id["cognito:roles"],
            json!(["arn:aws:iam::123456789012:role/zeta-role", "arn:aws:iam::123456789012:role/alpha-role"])
        );
        assert_eq!(id["cognito:preferred_role"], "arn:aws:iam::123456789012:role/zeta-role");
        assert!(access.get("cognito:roles").is_none());

        // Leaving groups shows in the next tokens, refreshed ones included.
        let r = admin
            .idp("AdminRemoveUserFromGroup", json!({"UserPoolId": f.pool, "Username": "gus", "GroupName": "zeta"}))
            .await;
        assert_eq!(r.status, 200);
        assert_eq!(admin.idp("DeleteGroup", json!({"UserPoolId": f.pool, "GroupName": "alpha"})).await.status, 200);
        let r = admin.idp("DeleteGroup", json!({"UserPoolId": f.pool, "GroupName": "alpha"})).await;
        assert_eq!(r.error_type().as_deref(), Some("ResourceNotFoundException"));
        let r = public
            .idp("InitiateAuth", json!({"ClientId": f.client, "AuthFlow": "REFRESH_TOKEN_AUTH", "AuthParameters": {"REFRESH_TOKEN": result["RefreshToken"]}}))
            .await;
        let id = jwt::verify(r.json()["AuthenticationResult"]["IdToken"].as_str().unwrap(), &keys).unwrap();
        assert_eq!(id["cognito:groups"], json!(["beta"]));
        assert!(id.get("cognito:roles").is_none() && id.get("cognito:preferred_role").is_none(), "{id:?}");
        f.server.stop().await;
    }
}

#[tokio::test]
async fn group_limits_are_cognitos() {
    let f = fixture(Backend::SqliteMemory, json!({})).await;
    let admin = f.server.client("us-east-1");
    create(&admin, &f.pool, "max", &[]).await;
    for i in 0..=cognate_idp::directory::MAX_GROUPS_PER_USER {
        group(&admin, &f.pool, &format!("g{i:03}"), None, None).await;
    }
    for i in 0..cognate_idp::directory::MAX_GROUPS_PER_USER {
        assert_eq!(add(&admin, &f.pool, "max", &format!("g{i:03}")).await.status, 200);
    }
    let r = add(&admin, &f.pool, "max", "g100").await;
    assert_eq!(r.error_type().as_deref(), Some("LimitExceededException"), "{}", r.text());
    // Deleting the user removes the memberships with it.
    assert_eq!(admin.idp("AdminDeleteUser", json!({"UserPoolId": f.pool, "Username": "max"})).await.status, 200);
    let r = admin.idp("ListUsersInGroup", json!({"UserPoolId": f.pool, "GroupName": "g000"})).await;
    assert_eq!(r.json()["Users"], json!([]));
    f.server.stop().await;
}

async fn jwks(server: &cognate_testkit::TestServer, pool: &str) -> jwt::VerifyingKeys {
    let r = cognate_testkit::raw_http(server.addr, "GET", &format!("/{pool}/.well-known/jwks.json"), &[], b"").await;
    jwt::VerifyingKeys::from_jwks(&r.json()).unwrap()
}

#[tokio::test]
async fn auth_events_need_threat_protection_and_record_outcomes() {
    for backend in Backend::all() {
        let f = fixture(backend, serde_json::from_str(FLOWS).unwrap()).await;
        let admin = f.server.client("us-east-1");
        let public = f.server.unsigned();
        let list = json!({"UserPoolId": f.pool, "Username": "eve"});
        crate::signin::confirmed_user(&f, "eve", "eve@example.com").await;
        let r = admin.idp("AdminListUserAuthEvents", list.clone()).await;
        assert_eq!(r.error_type().as_deref(), Some("UserPoolAddOnNotEnabledException"), "{}", r.text());

        let r = admin
            .idp("UpdateUserPool", json!({"UserPoolId": f.pool, "AutoVerifiedAttributes": ["email"], "UserPoolAddOns": {"AdvancedSecurityMode": "AUDIT"}}))
            .await;
        assert_eq!(r.status, 200, "{}", r.text());
        let wrong = public.idp("InitiateAuth", password_auth(&f.client, "eve", "Wrong-Passw0rd")).await;
        assert_eq!(wrong.error_type().as_deref(), Some("NotAuthorizedException"));
        f.server.clock.advance(1000);
        assert_eq!(public.idp("InitiateAuth", password_auth(&f.client, "eve", "Passw0rd!")).await.status, 200);

        let r = admin
            .idp("AdminListUserAuthEvents", json!({"UserPoolId": f.pool, "Username": "eve", "MaxResults": 1}))
            .await;
        assert_eq!(r.status, 200, "{}", r.text());
        let first = r.json();
        let e = &first["AuthEvents"][0];
        assert_eq!((e["EventType"].as_str(), e["EventResponse"].as_str()), (Some("SignIn"), Some("Pass")));
        assert_eq!(e["ChallengeResponses"], json!([{"ChallengeName": "Password", "ChallengeResponse": "Success"}]));
        assert!(e["EventId"].is_string() && e["CreationDate"].is_number());
        let mut body = list.clone();
        body["NextToken"] = first["NextToken"].clone();
        let r = admin.idp("AdminListUserAuthEvents", body).await;
        let events = r.json()["AuthEvents"].clone();
        assert_eq!(events.as_array().unwrap().len(), 1, "the sign-up came before the add-on: {events}");
        assert_eq!(
            (events[0]["EventResponse"].as_str(), events[0]["ChallengeResponses"][0]["ChallengeResponse"].as_str()),
            (Some("Fail"), Some("Failure"))
        );
        let r = admin.idp("AdminListUserAuthEvents", json!({"UserPoolId": f.pool, "Username": "nobody"})).await;
        assert_eq!(r.error_type().as_deref(), Some("UserNotFoundException"));
        f.server.stop().await;
    }
}

#[tokio::test]
async fn the_audit_log_records_admin_calls_and_sign_ins_without_secrets() {
    for backend in Backend::all() {
        let f = fixture(backend, serde_json::from_str(FLOWS).unwrap()).await;
        let admin = f.server.client("us-east-1");
        let public = f.server.unsigned();
        create(&admin, &f.pool, "ada", &[]).await;
        let r = public.idp("InitiateAuth", password_auth(&f.client, "ada", "Not-Her-Passw0rd")).await;
        assert_eq!(r.error_type().as_deref(), Some("NotAuthorizedException"));
        let r = public.idp("InitiateAuth", password_auth(&f.client, "ada", "Temp-Passw0rd!")).await;
        assert_eq!(r.json()["ChallengeName"], "NEW_PASSWORD_REQUIRED");
        // GetUser is not an authentication event; a failed SigV4 call is audited.
        let _ = public.idp("GetUser", json!({"AccessToken": "x.y.z"})).await;
        let forged = admin.clone().with_key("AKIAFORGED0000000000", "not-the-secret");
        assert_eq!(forged.idp("AdminGetUser", json!({"UserPoolId": f.pool, "Username": "ada"})).await.status, 400);

        let log = f.server.audit_log().await;
        let find = |op: &str, outcome: &str| {
            log.iter()
                .find(|r| r.operation == op && r.outcome == outcome)
                .unwrap_or_else(|| panic!("{op} {outcome}: {log:?}"))
        };
        let created = find("AdminCreateUser", "ok");
        assert_eq!(
            (created.caller.as_str(), created.pool_id.as_str(), created.target.as_str(), created.source.as_str()),
            (cognate_testkit::ACCESS_KEY_ID, f.pool.as_str(), "ada", "127.0.0.1")
        );
        let failed = find("InitiateAuth", "NotAuthorizedException");
        assert_eq!(
            (failed.caller.as_str(), failed.pool_id.as_str(), failed.client_id.as_str(), failed.target.as_str()),
            ("user:ada", f.pool.as_str(), f.client.as_str(), "ada"),
            "the writer finds the pool of a public call by its client"
        );
        find("InitiateAuth", "ok");
        assert!(log.iter().all(|r| r.operation != "GetUser"), "{log:?}");
        let refused = find("AdminGetUser", "UnrecognizedClientException");
        assert_eq!((refused.caller.as_str(), refused.target.as_str()), ("unauthenticated", "ada"));
        let text = format!("{log:?}");
        for secret in ["Not-Her-Passw0rd", "Temp-Passw0rd!", cognate_testkit::SECRET_ACCESS_KEY, "not-the-secret"] {
            assert!(!text.contains(secret), "{secret} leaked into the audit log");
        }
        f.server.stop().await;
    }
}

#[tokio::test]
async fn admin_create_user_options() {
    for backend in Backend::all() {
        let f = fixture(backend, serde_json::from_str(FLOWS).unwrap()).await;
        let admin = f.server.client("us-east-1");
        // UnusedAccountValidityDays alone sets the temporary-password lifetime.
        let r = admin
            .idp("CreateUserPool", json!({"PoolName": "alias", "AliasAttributes": ["email"], "AdminCreateUserConfig": {"UnusedAccountValidityDays": 2}}))
            .await;
        assert_eq!(r.status, 200, "{}", r.text());
        let pool = r.json()["UserPool"].clone();
        assert_eq!(pool["Policies"]["PasswordPolicy"]["TemporaryPasswordValidityDays"], 2);
        assert_eq!(pool["AdminCreateUserConfig"]["UnusedAccountValidityDays"], 2);
        let pool_id = pool["Id"].as_str().unwrap().to_string();
        let r = admin
            .idp("CreateUserPool", json!({"PoolName": "both", "Policies": {"PasswordPolicy": {"TemporaryPasswordValidityDays": 3}}, "AdminCreateUserConfig": {"UnusedAccountValidityDays": 2}}))
            .await;
        assert_eq!(r.error_type().as_deref(), Some("InvalidParameterException"));

        let verified = [("email", "same@example.com"), ("email_verified", "true")];
        create(&admin, &pool_id, "first", &verified).await;
        let body = |force: bool| {
            json!({"UserPoolId": pool_id, "Username": "second", "MessageAction": "SUPPRESS", "ForceAliasCreation": force,
                   "UserAttributes": [{"Name": "email", "Value": "same@example.com"}, {"Name": "email_verified", "Value": "true"}]})
        };
        let r = admin.idp("AdminCreateUser", body(false)).await;
        assert_eq!(r.error_type().as_deref(), Some("AliasExistsException"), "{}", r.text());
        assert_eq!(admin.idp("AdminCreateUser", body(true)).await.status, 200);
        // The alias moved: signing in by email is the second user now.
        let r = admin.idp("ListUsers", json!({"UserPoolId": pool_id, "Filter": "email = \"same@example.com\""})).await;
        assert_eq!(r.json()["Users"].as_array().unwrap().len(), 2, "both keep the attribute");
        let r = admin.idp("AdminGetUser", json!({"UserPoolId": pool_id, "Username": "same@example.com"})).await;
        assert_eq!(r.json()["Username"], "second");
        f.server.stop().await;
    }
}
