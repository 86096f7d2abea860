//! Domain tests on an in-memory store with a manual clock.

use crate::*;
use cognate_store::{Location, Store};
use cognate_wire::idp::*;

pub(crate) async fn idp() -> (Idp, ManualClock) {
    let store = Store::open(&Location::SqliteMemory).await.unwrap();
    let clock = ManualClock::new(1_700_000_000_000);
    let idp = Idp::new(
        store,
        cognate_crypto::seal::MasterKey::generate(),
        std::sync::Arc::new(clock.clone()),
        "123456789012".into(),
        Issuer::PublicUrl("http://localhost".into()),
    );
    (idp, clock)
}

/// A pool and a client allowing password, SRP and refresh sign-in, hiding
/// user existence when `hide`: (pool id, client id).
pub(crate) async fn pool_and_client(idp: &Idp, hide: bool) -> (String, String) {
    let pool = idp.create_user_pool("us-east-1", create("p")).await.unwrap().user_pool.unwrap().id.unwrap();
    let client = idp
        .create_user_pool_client(CreateUserPoolClientRequest {
            user_pool_id: pool.clone(),
            client_name: "app".into(),
            explicit_auth_flows: Some(vec![
                ExplicitAuthFlowsType::AllowUserPasswordAuth,
                ExplicitAuthFlowsType::AllowUserSrpAuth,
                ExplicitAuthFlowsType::AllowRefreshTokenAuth,
            ]),
            prevent_user_existence_errors: hide.then_some(PreventUserExistenceErrorTypes::Enabled),
            ..Default::default()
        })
        .await
        .unwrap()
        .user_pool_client
        .unwrap()
        .client_id
        .unwrap();
    (pool, client)
}

/// A CONFIRMED user with a permanent `password` and `attributes`.
pub(crate) async fn confirmed_user(idp: &Idp, pool: &str, name: &str, password: &str, attributes: &[(&str, &str)]) {
    let attrs = attributes.iter().map(|(n, v)| AttributeType { name: n.to_string(), value: Some(v.to_string()) });
    idp.admin_create_user(AdminCreateUserRequest {
        user_pool_id: pool.into(),
        username: name.into(),
        user_attributes: Some(attrs.collect()),
        message_action: Some(MessageActionType::Suppress),
        ..Default::default()
    })
    .await
    .unwrap();
    idp.admin_set_user_password(AdminSetUserPasswordRequest {
        user_pool_id: pool.into(),
        username: name.into(),
        password: password.into(),
        permanent: Some(true),
    })
    .await
    .unwrap();
}

fn create(name: &str) -> CreateUserPoolRequest {
    CreateUserPoolRequest { pool_name: name.into(), ..Default::default() }
}

#[tokio::test]
async fn new_pool_has_cognito_defaults() {
    let (idp, _) = idp().await;
    let pool = idp.create_user_pool("eu-west-1", create("p")).await.unwrap().user_pool.unwrap();
    let id = pool.id.clone().unwrap();
    assert!(id.starts_with("eu-west-1_"));
    assert_eq!(pool.arn.as_deref(), Some(format!("arn:aws:cognito-idp:eu-west-1:123456789012:userpool/{id}").as_str()));
    let pw = pool.policies.as_ref().unwrap().password_policy.as_ref().unwrap();
    assert_eq!(
        (pw.minimum_length, pw.require_symbols, pw.temporary_password_validity_days),
        (Some(8), Some(true), Some(7))
    );
    assert_eq!(pool.mfa_configuration, Some(UserPoolMfaType::Off));
    assert_eq!(pool.deletion_protection, Some(DeletionProtectionType::Inactive));
    let names: Vec<_> = pool.schema_attributes.unwrap().into_iter().map(|a| a.name.unwrap()).collect();
    assert_eq!(names.len(), 20);
    assert_eq!(names[0], "sub");
    assert_eq!(names[19], "updated_at");
    assert_eq!(pool.creation_date, Some(cognate_wire::Timestamp(1_700_000_000.0)));
}

#[tokio::test]
async fn update_resets_omitted_settings_and_moves_the_clock() {
    let (idp, clock) = idp().await;
    let mut req = create("p");
    req.mfa_configuration = Some(UserPoolMfaType::Optional);
    req.auto_verified_attributes = Some(vec![VerifiedAttributeType::PhoneNumber]);
    req.sms_configuration = Some(SmsConfigurationType {
        sns_caller_arn: Some("arn:aws:iam::123456789012:role/sns".into()),
        external_id: Some("x".into()),
        ..Default::default()
    });
    let id = idp.create_user_pool("us-east-1", req.clone()).await.unwrap().user_pool.unwrap().id.unwrap();
    // MFA with only SMS possible needs SMS set up, as Cognito says.
    req.sms_configuration = None;
    let refused = idp.create_user_pool("us-east-1", req).await;
    assert!(matches!(refused, Err(Error::InvalidParameter(m)) if m.contains("SMS configuration")));
    clock.advance(5_000);
    idp.update_user_pool(UpdateUserPoolRequest { user_pool_id: id.clone(), ..Default::default() }).await.unwrap();
    let pool = idp.describe_user_pool(DescribeUserPoolRequest { user_pool_id: id }).await.unwrap().user_pool.unwrap();
    assert_eq!(pool.mfa_configuration, Some(UserPoolMfaType::Off));
    assert_eq!(pool.auto_verified_attributes, None);
    assert_eq!(pool.last_modified_date, Some(cognate_wire::Timestamp(1_700_000_005.0)));
    assert_eq!(pool.name.as_deref(), Some("p"), "an omitted name is kept");
}

#[tokio::test]
async fn deletion_protection_and_not_found() {
    let (idp, _) = idp().await;
    let mut req = create("p");
    req.deletion_protection = Some(DeletionProtectionType::Active);
    let id = idp.create_user_pool("us-east-1", req).await.unwrap().user_pool.unwrap().id.unwrap();
    let err = idp.delete_user_pool(DeleteUserPoolRequest { user_pool_id: id.clone() }).await.unwrap_err();
    assert_eq!(err.code(), "InvalidParameterException");
    let err =
        idp.describe_user_pool(DescribeUserPoolRequest { user_pool_id: "us-east-1_nope".into() }).await.unwrap_err();
    assert_eq!(err, Error::ResourceNotFound("User pool us-east-1_nope does not exist.".into()));
}

#[tokio::test]
async fn list_pages_within_one_region() {
    let (idp, _) = idp().await;
    for i in 0..5 {
        idp.create_user_pool("us-east-1", create(&format!("a{i}"))).await.unwrap();
        idp.create_user_pool("eu-west-1", create(&format!("b{i}"))).await.unwrap();
    }
    let mut seen = Vec::new();
    let mut next = None;
    loop {
        let page =
            idp.list_user_pools("us-east-1", ListUserPoolsRequest { max_results: 2, next_token: next }).await.unwrap();
        let pools = page.user_pools.unwrap();
        assert!(pools.len() <= 2);
        seen.extend(pools.into_iter().map(|p| p.name.unwrap()));
        next = page.next_token;
        if next.is_none() {
            break;
        }
    }
    seen.sort();
    assert_eq!(seen, ["a0", "a1", "a2", "a3", "a4"]);
    let bad =
        idp.list_user_pools("us-east-1", ListUserPoolsRequest { max_results: 2, next_token: Some("***".into()) }).await;
    assert_eq!(bad.unwrap_err().code(), "InvalidParameterException");
}

#[tokio::test]
async fn custom_attributes_and_csv_header() {
    let (idp, _) = idp().await;
    let id = idp.create_user_pool("us-east-1", create("p")).await.unwrap().user_pool.unwrap().id.unwrap();
    let attr = SchemaAttributeType {
        name: Some("tier".into()),
        attribute_data_type: Some(AttributeDataType::String),
        ..Default::default()
    };
    idp.add_custom_attributes(AddCustomAttributesRequest {
        user_pool_id: id.clone(),
        custom_attributes: vec![attr.clone()],
    })
    .await
    .unwrap();
    let err = idp
        .add_custom_attributes(AddCustomAttributesRequest { user_pool_id: id.clone(), custom_attributes: vec![attr] })
        .await
        .unwrap_err();
    assert_eq!(err.message(), "custom:tier: Existing attribute already has name custom:tier.");
    let header = idp.get_csv_header(GetCSVHeaderRequest { user_pool_id: id }).await.unwrap().csv_header.unwrap();
    assert_eq!(header.first().map(String::as_str), Some("name"));
    assert_eq!(&header[header.len() - 3..], ["custom:tier", "cognito:mfa_enabled", "cognito:username"]);
}

#[tokio::test]
async fn clients_secrets_and_token_validity() {
    let (idp, _) = idp().await;
    let pool = idp.create_user_pool("us-east-1", create("p")).await.unwrap().user_pool.unwrap().id.unwrap();
    let req = CreateUserPoolClientRequest {
        user_pool_id: pool.clone(),
        client_name: "web".into(),
        generate_secret: Some(true),
        ..Default::default()
    };
    let c = idp.create_user_pool_client(req).await.unwrap().user_pool_client.unwrap();
    let secret = c.client_secret.clone().unwrap();
    assert_eq!(secret.len(), 52);
    assert_eq!(c.refresh_token_validity, Some(30));
    assert_eq!(c.auth_session_validity, Some(3));
    assert_eq!(c.enable_token_revocation, Some(true));
    let cid = c.client_id.unwrap();
    // The secret is sealed at rest: the stored rows never hold it in clear.
    for row in idp.store().list_client_secrets(&cid).await.unwrap() {
        assert!(!row.secret_sealed.contains(&secret));
    }
    let row = idp.store().get_client(&pool, &cid).await.unwrap().unwrap();
    assert!(!row.config.contains(&secret));

    let add = |s: Option<String>| AddUserPoolClientSecretRequest {
        user_pool_id: pool.clone(),
        client_id: cid.clone(),
        client_secret: s,
    };
    let second = idp.add_user_pool_client_secret(add(None)).await.unwrap().client_secret_descriptor.unwrap();
    assert!(second.client_secret_value.is_some());
    assert_eq!(idp.add_user_pool_client_secret(add(None)).await.unwrap_err().code(), "LimitExceededException");
    let list = idp
        .list_user_pool_client_secrets(ListUserPoolClientSecretsRequest {
            user_pool_id: pool.clone(),
            client_id: cid.clone(),
            next_token: None,
        })
        .await
        .unwrap()
        .client_secrets
        .unwrap();
    assert_eq!(list.len(), 2);
    assert!(list.iter().all(|s| s.client_secret_value.is_none()));
    let del = |id: String| DeleteUserPoolClientSecretRequest {
        user_pool_id: pool.clone(),
        client_id: cid.clone(),
        client_secret_id: id,
    };
    let second_id = second.client_secret_id.unwrap();
    idp.delete_user_pool_client_secret(del(second_id.clone())).await.unwrap();
    let last = list.iter().filter_map(|s| s.client_secret_id.clone()).find(|id| *id != second_id).unwrap();
    assert_eq!(idp.delete_user_pool_client_secret(del(last)).await.unwrap_err().code(), "InvalidParameterException");

    let bad = CreateUserPoolClientRequest {
        user_pool_id: pool.clone(),
        client_name: "x".into(),
        access_token_validity: Some(2),
        token_validity_units: Some(TokenValidityUnitsType {
            access_token: Some(TimeUnitsType::Minutes),
            ..Default::default()
        }),
        ..Default::default()
    };
    assert_eq!(idp.create_user_pool_client(bad).await.unwrap_err().message(), "Invalid range for token validity.");
    let public = CreateUserPoolClientRequest {
        user_pool_id: pool,
        client_name: "x".into(),
        allowed_o_auth_flows: Some(vec![OAuthFlowType::ClientCredentials]),
        ..Default::default()
    };
    assert_eq!(idp.create_user_pool_client(public).await.unwrap_err().code(), "InvalidParameterException");
}

#[tokio::test]
async fn dummy_hash_is_a_real_argon2id_hash() {
    // The refusal path for unknown users must cost a real verification.
    assert_eq!(
        crate::base::passwords::verify_password("x".into(), crate::base::passwords::DUMMY_HASH.into()).await,
        Ok(false)
    );
}

#[tokio::test]
async fn admin_keys_are_sealed_and_replaceable() {
    let (idp, _) = idp().await;
    let k = idp.create_admin_key("ci").await.unwrap();
    assert_eq!(idp.admin_secret(&k.access_key_id).await.unwrap().as_deref(), Some(k.secret_access_key.as_str()));
    let row = idp.store().get_admin_key(&k.access_key_id).await.unwrap().unwrap();
    assert!(!row.secret_sealed.contains(&k.secret_access_key));
    idp.ensure_admin_key("AKIAENV", "first").await.unwrap();
    idp.ensure_admin_key("AKIAENV", "second").await.unwrap();
    assert_eq!(idp.admin_secret("AKIAENV").await.unwrap().as_deref(), Some("second"));
    assert!(idp.delete_admin_key(&k.access_key_id).await.unwrap());
    assert_eq!(idp.admin_secret(&k.access_key_id).await.unwrap(), None);
}

#[tokio::test]
async fn issuers_name_the_pool_in_either_form() {
    let (idp, _) = idp().await;
    let id = idp.create_user_pool("eu-west-1", create("p")).await.unwrap().user_pool.unwrap().id.unwrap();
    let row = idp.store().get_pool(&id).await.unwrap().unwrap();
    assert_eq!(idp.issuer(&row), format!("http://localhost/{id}"));
    let (store, key, clock) =
        (idp.store().clone(), cognate_crypto::seal::MasterKey::generate(), std::sync::Arc::new(SystemClock));
    let cognito = Idp::new(store, key, clock, "123456789012".into(), Issuer::Cognito("http://cognate:9229".into()));
    assert_eq!(cognito.issuer(&row), format!("https://cognito-idp.eu-west-1.amazonaws.com/{id}"));
    let doc = cognito.openid_configuration(&id).await.unwrap();
    assert_eq!(doc["issuer"], format!("https://cognito-idp.eu-west-1.amazonaws.com/{id}"));
    assert_eq!(
        doc["jwks_uri"],
        format!("http://cognate:9229/{id}/.well-known/jwks.json"),
        "keys stay served by Cognate"
    );
}

/// Names no user holds answer as real users do (see model/codes.rs and
/// model/lockout.rs).
mod unknown_names {
    use crate::tests::idp;
    use crate::{Error, Idp};
    use cognate_wire::idp::*;

    /// A pool whose client hides user existence and allows password
    /// sign-in, with one user `jane` whose email is verified.
    async fn pool_with_jane(idp: &Idp) -> (String, String) {
        let (pool, client) = crate::tests::pool_and_client(idp, true).await;
        let attributes = [("email", "jane@example.com"), ("email_verified", "true")];
        crate::tests::confirmed_user(idp, &pool, "jane", "Correct-horse-1", &attributes).await;
        (pool, client)
    }

    fn outcome<T>(r: Result<T, Error>) -> String {
        match r {
            Ok(_) => "ok".into(),
            Err(e) => format!("{}: {}", e.code(), e.message()),
        }
    }

    #[tokio::test]
    async fn lockout_answers_alike_for_users_and_unknown_names() {
        let (idp, clock) = idp().await;
        let (_, client) = pool_with_jane(&idp).await;
        let sign_in = |name: &str| InitiateAuthRequest {
            auth_flow: AuthFlowType::UserPasswordAuth,
            client_id: client.clone(),
            auth_parameters: Some(
                [("USERNAME".to_string(), name.to_string()), ("PASSWORD".to_string(), "Wrong-pass-1".to_string())]
                    .into(),
            ),
            analytics_metadata: None,
            client_metadata: None,
            session: None,
            user_context_data: None,
        };
        let mut seen = Vec::new();
        for _ in 0..7 {
            let real = outcome(idp.initiate_auth(sign_in("jane")).await);
            let unknown = outcome(idp.initiate_auth(sign_in("jake")).await);
            assert_eq!(real, unknown);
            seen.push(real);
        }
        assert!(seen.contains(&"NotAuthorizedException: Password attempts exceeded".to_string()), "{seen:?}");
        // The lock lifts for both alike.
        clock.advance(3_600_000);
        assert_eq!(
            outcome(idp.initiate_auth(sign_in("jane")).await),
            outcome(idp.initiate_auth(sign_in("jake")).await)
        );
    }

    #[tokio::test]
    async fn codes_for_unknown_names_look_and_fail_like_real_ones() {
        let (idp, clock) = idp().await;
        let (_, client) = pool_with_jane(&idp).await;
        let forgot = |name: &str| ForgotPasswordRequest {
            client_id: client.clone(),
            username: name.into(),
            ..Default::default()
        };
        let real = idp.forgot_password(forgot("jane")).await.unwrap().code_delivery_details.unwrap();
        let unknown = idp.forgot_password(forgot("jake")).await.unwrap().code_delivery_details.unwrap();
        assert_eq!(real.destination.as_deref(), Some("j***@e***"));
        let shown = unknown.destination.clone().unwrap();
        assert!(shown.starts_with("j***@") && shown.ends_with("***") && shown.len() == 9, "{shown}");
        assert_eq!((unknown.delivery_medium, unknown.attribute_name), (real.delivery_medium, real.attribute_name));
        // The same name always shows the same destination.
        let again = idp.forgot_password(forgot("jake")).await.unwrap().code_delivery_details.unwrap();
        assert_eq!(again.destination, unknown.destination);

        let confirm = |name: &str| ConfirmForgotPasswordRequest {
            client_id: client.clone(),
            username: name.into(),
            confirmation_code: "000000".into(),
            password: "Another-pass-1".into(),
            ..Default::default()
        };
        // A weak password is refused before the name is looked at.
        let mut weak = confirm("jake");
        weak.password = "weak".into();
        assert_eq!(
            outcome(idp.confirm_forgot_password(weak).await).split(':').next(),
            Some("InvalidPasswordException")
        );
        // Wrong codes count toward the same limit, then the same refusal.
        for _ in 0..6 {
            let mut real = outcome(idp.confirm_forgot_password(confirm("jane")).await);
            let unknown = outcome(idp.confirm_forgot_password(confirm("jake")).await);
            if real.starts_with("CodeMismatchException") && unknown.starts_with("CodeMismatchException") {
                real = unknown.clone();
            }
            assert_eq!(real, unknown);
        }
        assert!(outcome(idp.confirm_forgot_password(confirm("jake")).await).starts_with("LimitExceededException"));
        // A new code, then its expiry, answer alike too.
        idp.forgot_password(forgot("jane")).await.unwrap();
        idp.forgot_password(forgot("jake")).await.unwrap();
        clock.advance(3_600_000 + 1);
        assert_eq!(
            outcome(idp.confirm_forgot_password(confirm("jane")).await),
            outcome(idp.confirm_forgot_password(confirm("jake")).await)
        );
    }

    /// In a pool that verifies phone numbers, an unknown name's simulated
    /// delivery is an SMS to a masked number derived from the name as the
    /// pool folds it: the same for `Jake` and `jake`, another for `john`.
    #[tokio::test]
    async fn simulated_sms_destinations_follow_the_folded_name() {
        let (idp, _) = idp().await;
        let pool = idp
            .create_user_pool(
                "us-east-1",
                CreateUserPoolRequest {
                    pool_name: "p".into(),
                    auto_verified_attributes: Some(vec![VerifiedAttributeType::PhoneNumber]),
                    username_configuration: Some(UsernameConfigurationType { case_sensitive: false }),
                    ..Default::default()
                },
            )
            .await
            .unwrap()
            .user_pool
            .unwrap()
            .id
            .unwrap();
        let client = idp
            .create_user_pool_client(CreateUserPoolClientRequest {
                user_pool_id: pool,
                client_name: "app".into(),
                prevent_user_existence_errors: Some(PreventUserExistenceErrorTypes::Enabled),
                ..Default::default()
            })
            .await
            .unwrap()
            .user_pool_client
            .unwrap()
            .client_id
            .unwrap();
        let resend = |name: &str| ResendConfirmationCodeRequest {
            client_id: client.clone(),
            username: name.into(),
            ..Default::default()
        };
        let upper = idp.resend_confirmation_code(resend("Jake")).await.unwrap().code_delivery_details.unwrap();
        let lower = idp.resend_confirmation_code(resend("jake")).await.unwrap().code_delivery_details.unwrap();
        let other = idp.resend_confirmation_code(resend("john")).await.unwrap().code_delivery_details.unwrap();
        assert_eq!(upper.delivery_medium, Some(DeliveryMediumType::Sms));
        assert_eq!(upper.attribute_name.as_deref(), Some("phone_number"));
        let shown = upper.destination.clone().unwrap();
        assert!(
            shown.len() == 12 && shown.starts_with("+*******") && shown[8..].chars().all(|d| d.is_ascii_digit()),
            "{shown}"
        );
        assert_eq!(upper.destination, lower.destination);
        assert_ne!(upper.destination, other.destination);
    }
}

/// The sign-in flows on the domain itself: no HTTP, a manual clock. (The
/// end-to-end scenarios, over the wire and with real clients, are in
/// tests/it and conformance/.)
mod signin_flows {
    use crate::tests::idp;
    use crate::{Error, Idp, ManualClock};
    use cognate_crypto::{srp, totp};
    use cognate_wire::idp::*;
    use std::collections::BTreeMap;

    const PASSWORD: &str = "Correct-horse-1";

    fn params(pairs: &[(&str, &str)]) -> Option<BTreeMap<String, String>> {
        Some(pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect())
    }

    fn initiate(client: &str, flow: AuthFlowType, p: &[(&str, &str)]) -> InitiateAuthRequest {
        InitiateAuthRequest {
            auth_flow: flow,
            client_id: client.into(),
            auth_parameters: params(p),
            analytics_metadata: None,
            client_metadata: None,
            session: None,
            user_context_data: None,
        }
    }

    fn respond(
        client: &str,
        name: ChallengeNameType,
        session: Option<String>,
        p: &[(&str, &str)],
    ) -> RespondToAuthChallengeRequest {
        RespondToAuthChallengeRequest {
            client_id: client.into(),
            challenge_name: name,
            session,
            challenge_responses: params(p),
            analytics_metadata: None,
            client_metadata: None,
            user_context_data: None,
        }
    }

    /// A pool (MFA optional, TOTP on), a client allowing password, SRP and
    /// refresh, and a confirmed user `ann`.
    async fn setup(idp: &Idp) -> (String, String) {
        let (pool, client) = crate::tests::pool_and_client(idp, false).await;
        idp.set_user_pool_mfa_config(SetUserPoolMfaConfigRequest {
            user_pool_id: pool.clone(),
            mfa_configuration: Some(UserPoolMfaType::Optional),
            software_token_mfa_configuration: Some(SoftwareTokenMfaConfigType { enabled: Some(true) }),
            ..Default::default()
        })
        .await
        .unwrap();
        crate::tests::confirmed_user(idp, &pool, "ann", PASSWORD, &[]).await;
        (pool, client)
    }

    async fn tokens(idp: &Idp, client: &str) -> AuthenticationResultType {
        let r = idp
            .initiate_auth(initiate(
                client,
                AuthFlowType::UserPasswordAuth,
                &[("USERNAME", "ann"), ("PASSWORD", PASSWORD)],
            ))
            .await
            .unwrap();
        r.authentication_result.expect("tokens")
    }

    fn code(e: Error) -> &'static str {
        e.code()
    }

    #[tokio::test]
    async fn password_sign_in_access_expiry_refresh_and_revocation() {
        let (idp, clock): (Idp, ManualClock) = idp().await;
        let (_, client) = setup(&idp).await;
        let t = tokens(&idp, &client).await;
        let access = t.access_token.clone().unwrap();
        let me = idp.get_user(GetUserRequest { access_token: access.clone() }).await.unwrap();
        assert_eq!(me.username, "ann");

        // An hour later the access token is refused; the refresh token works.
        clock.advance(3_600_000 + 1);
        assert_eq!(
            idp.get_user(GetUserRequest { access_token: access }).await.map_err(code).err(),
            Some("NotAuthorizedException")
        );
        let refresh = t.refresh_token.clone().unwrap();
        let again = idp
            .initiate_auth(initiate(&client, AuthFlowType::RefreshTokenAuth, &[("REFRESH_TOKEN", &refresh)]))
            .await
            .unwrap()
            .authentication_result
            .unwrap();
        let fresh = again.access_token.unwrap();
        assert!(idp.get_user(GetUserRequest { access_token: fresh.clone() }).await.is_ok());

        // GlobalSignOut revokes the sign-in: its access and refresh tokens.
        idp.global_sign_out(GlobalSignOutRequest { access_token: fresh.clone() }).await.unwrap();
        assert_eq!(
            idp.get_user(GetUserRequest { access_token: fresh }).await.map_err(code).err(),
            Some("NotAuthorizedException")
        );
        let r =
            idp.initiate_auth(initiate(&client, AuthFlowType::RefreshTokenAuth, &[("REFRESH_TOKEN", &refresh)])).await;
        assert_eq!(r.map_err(code).err(), Some("NotAuthorizedException"));
    }

    #[tokio::test]
    async fn srp_sign_in_with_the_client_maths_and_an_expiring_secret_block() {
        let (idp, clock) = idp().await;
        let (pool, client) = setup(&idp).await;
        let start =
            |a_hex: &str| initiate(&client, AuthFlowType::UserSrpAuth, &[("USERNAME", "ann"), ("SRP_A", a_hex)]);
        let answer = |p: &BTreeMap<String, String>, a: &srp::SecretExponent, big_a: &[u8], password: &str| {
            let user_id = p["USER_ID_FOR_SRP"].clone();
            let key =
                srp::client::session_key(a, big_a, &p["SRP_B"], &p["SALT"], srp::pool_name(&pool), &user_id, password)
                    .expect("client maths");
            let timestamp = srp::format_timestamp(clock.now_ms() / 1000);
            let block = p["SECRET_BLOCK"].clone();
            let signature =
                srp::client::claim_signature(&key, srp::pool_name(&pool), &user_id, &block, &timestamp).unwrap();
            respond(
                &client,
                ChallengeNameType::PasswordVerifier,
                None,
                &[
                    ("USERNAME", &user_id),
                    ("PASSWORD_CLAIM_SECRET_BLOCK", &block),
                    ("PASSWORD_CLAIM_SIGNATURE", &signature),
                    ("TIMESTAMP", &timestamp),
                ],
            )
        };
        use crate::Clock as _;
        let (a, big_a) = srp::client::generate_a();
        let challenge = idp.initiate_auth(start(&hex::encode(&big_a))).await.unwrap();
        let p = challenge.challenge_parameters.unwrap();
        let done = idp.respond_to_auth_challenge(answer(&p, &a, &big_a, PASSWORD)).await.unwrap();
        assert!(done.authentication_result.unwrap().id_token.is_some());

        // A wrong password's proof fails; an answer after three minutes finds the block expired.
        let (a, big_a) = srp::client::generate_a();
        let p = idp.initiate_auth(start(&hex::encode(&big_a))).await.unwrap().challenge_parameters.unwrap();
        let wrong = idp.respond_to_auth_challenge(answer(&p, &a, &big_a, "Not-the-password-1")).await;
        assert_eq!(
            wrong.map_err(|e| e.message().to_string()).err().as_deref(),
            Some("Incorrect username or password.")
        );
        let (a, big_a) = srp::client::generate_a();
        let p = idp.initiate_auth(start(&hex::encode(&big_a))).await.unwrap().challenge_parameters.unwrap();
        clock.advance(3 * 60_000 + 1);
        let late = idp.respond_to_auth_challenge(answer(&p, &a, &big_a, PASSWORD)).await;
        assert_eq!(
            late.map_err(|e| e.message().to_string()).err().as_deref(),
            Some("Invalid session for the user, session is expired.")
        );
    }

    #[tokio::test]
    async fn totp_second_factor_once_per_step() {
        let (idp, clock) = idp().await;
        let (_, client) = setup(&idp).await;
        let access = tokens(&idp, &client).await.access_token.unwrap();
        let secret = idp
            .associate_software_token(AssociateSoftwareTokenRequest {
                access_token: Some(access.clone()),
                session: None,
            })
            .await
            .unwrap()
            .secret_code
            .unwrap();
        let secret = totp::base32_decode(&secret).unwrap();
        use crate::Clock as _;
        let code_now = || totp::code_at(&secret, totp::step_of(clock.now_ms() / 1000));
        idp.verify_software_token(VerifySoftwareTokenRequest {
            access_token: Some(access.clone()),
            session: None,
            user_code: code_now(),
            friendly_device_name: None,
        })
        .await
        .unwrap();
        idp.set_user_mfa_preference(SetUserMFAPreferenceRequest {
            access_token: access,
            software_token_mfa_settings: Some(SoftwareTokenMfaSettingsType {
                enabled: Some(true),
                preferred_mfa: Some(true),
            }),
            ..Default::default()
        })
        .await
        .unwrap();

        let first =
            |_: ()| initiate(&client, AuthFlowType::UserPasswordAuth, &[("USERNAME", "ann"), ("PASSWORD", PASSWORD)]);
        // The code of the step used to verify is spent: the next step's code signs in.
        clock.advance(30_000);
        let challenge = idp.initiate_auth(first(())).await.unwrap();
        assert_eq!(challenge.challenge_name, Some(ChallengeNameType::SoftwareTokenMfa));
        let code = code_now();
        let answer = |session: Option<String>, code: &str| {
            respond(
                &client,
                ChallengeNameType::SoftwareTokenMfa,
                session,
                &[("USERNAME", "ann"), ("SOFTWARE_TOKEN_MFA_CODE", code)],
            )
        };
        let done = idp.respond_to_auth_challenge(answer(challenge.session, &code)).await.unwrap();
        assert!(done.authentication_result.is_some());
        // The same code again, in the same step: used once.
        let challenge = idp.initiate_auth(first(())).await.unwrap();
        let again = idp.respond_to_auth_challenge(answer(challenge.session, &code)).await;
        assert_eq!(
            again.map_err(|e| (e.code(), e.message().to_string())).err(),
            Some(("ExpiredCodeException", "Your software token has already been used once.".to_string()))
        );
        // A session answered after it expired.
        let challenge = idp.initiate_auth(first(())).await.unwrap();
        clock.advance(3 * 60_000 + 1);
        let late = idp.respond_to_auth_challenge(answer(challenge.session, &code_now())).await;
        assert_eq!(
            late.map_err(|e| e.message().to_string()).err().as_deref(),
            Some("Invalid session for the user, session is expired.")
        );
    }

    /// A PreTokenGeneration function (V2) that tries every kind of change.
    #[derive(Debug)]
    struct Shaper;

    impl crate::model::triggers::Invoker for Shaper {
        fn invoke<'a>(
            &'a self,
            _: &'a str,
            mut event: serde_json::Value,
        ) -> std::pin::Pin<Box<dyn std::future::Future<Output = crate::Result<serde_json::Value>> + Send + 'a>>
        {
            let grab = serde_json::json!({
                "claimsToAddOrOverride": {
                    "tier": "gold", "sub": "forged", "client_id": "forged", "scope": "forged",
                    "nonce": "forged", "token_use": "forged", "cognito:username": "forged",
                },
                "claimsToSuppress": ["email", "iss", "username"],
            });
            let mut access = grab.clone();
            access["scopesToAdd"] = serde_json::json!(["orders/read"]);
            access["scopesToSuppress"] = serde_json::json!(["aws.cognito.signin.user.admin"]);
            event["response"] = serde_json::json!({"claimsAndScopeOverrideDetails": {
                "idTokenGeneration": grab, "accessTokenGeneration": access,
            }});
            Box::pin(async move { Ok(event) })
        }
    }

    /// The claims of a token, and how many times each name occurs in its
    /// payload (a duplicated name would be read differently by different
    /// libraries).
    fn claims(token: &str) -> (serde_json::Map<String, serde_json::Value>, usize) {
        use base64::Engine as _;
        let payload = token.split('.').nth(1).unwrap();
        let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(payload).unwrap();
        let text = String::from_utf8(raw).unwrap();
        let map: serde_json::Map<String, serde_json::Value> = serde_json::from_str(&text).unwrap();
        let names = text.matches("\":").count();
        (map, names)
    }

    #[tokio::test]
    async fn pre_token_generation_cannot_touch_the_claims_cognito_sets() {
        let (idp, _) = idp().await;
        let idp = idp.with_invoker(std::sync::Arc::new(Shaper));
        let (pool, client) = crate::tests::pool_and_client(&idp, false).await;
        idp.update_user_pool(UpdateUserPoolRequest {
            user_pool_id: pool.clone(),
            lambda_config: Some(LambdaConfigType {
                pre_token_generation_config: Some(PreTokenGenerationVersionConfigType {
                    lambda_arn: "arn:aws:lambda:us-east-1:123456789012:function:shaper".into(),
                    lambda_version: PreTokenGenerationLambdaVersionType::V20,
                }),
                ..Default::default()
            }),
            ..Default::default()
        })
        .await
        .unwrap();
        crate::tests::confirmed_user(&idp, &pool, "ann", PASSWORD, &[("email", "ann@example.com")]).await;
        let t = tokens(&idp, &client).await;
        let me = idp.admin_get_user(AdminGetUserRequest { user_pool_id: pool.clone(), username: "ann".into() });
        let sub = me.await.unwrap().user_attributes.unwrap().into_iter().find(|a| a.name == "sub").unwrap().value;

        let (id, names) = claims(t.id_token.as_deref().unwrap());
        assert_eq!(names, id.len(), "a claim name occurs twice in {id:?}");
        assert_eq!(id["sub"].as_str(), sub.as_deref());
        assert_eq!((id["token_use"].as_str(), id["cognito:username"].as_str()), (Some("id"), Some("ann")));
        assert_eq!(id["aud"].as_str(), Some(client.as_str()));
        assert_eq!(id["tier"].as_str(), Some("gold"));
        assert!(id.get("iss").is_some() && id.get("nonce").is_none() && id.get("email").is_none());

        let (access, names) = claims(t.access_token.as_deref().unwrap());
        assert_eq!(names, access.len(), "a claim name occurs twice in {access:?}");
        assert_eq!(access["sub"].as_str(), sub.as_deref());
        assert_eq!(access["client_id"].as_str(), Some(client.as_str()));
        assert_eq!(access["username"].as_str(), Some("ann"));
        // Scopes change only through scopesToAdd and scopesToSuppress.
        assert_eq!(access["scope"].as_str(), Some("orders/read"));
        assert_eq!(access["tier"].as_str(), Some("gold"));
        assert!(access.get("aud").is_none() && access.get("nonce").is_none());
    }
}
