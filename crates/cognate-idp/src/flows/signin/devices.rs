//! Remembered devices (flows): NewDeviceMetadata at sign-in, ConfirmDevice with the
//! device's SRP verifier, the DEVICE_SRP_AUTH / DEVICE_PASSWORD_VERIFIER
//! challenges (SRP with the device group key in place of the pool name and
//! the device key in place of the username), and the device operations.
//!
//! A remembered device skips MFA, as Cognito's do. The device's secret never
//! reaches the server: only its SRP verifier, which proves nothing by itself.

use crate::base::context::ClientCtx;
use crate::base::page;
use crate::base::sealed::{self, Opened, Step, invalid_session};
use crate::flows::signin::outcome::Challenge;
use crate::flows::signin::verifier::SrpHalf;
use crate::model::users::User;
use crate::{Error, Fault, Idp, Result};
use cognate_crypto::srp;
use cognate_store::DeviceRow;
use cognate_wire::Timestamp;
use cognate_wire::idp::*;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

fn device_not_found() -> Error {
    Error::ResourceNotFound("Device does not exist.".into())
}

/// A device group key as Cognito shapes them: `-` and nine letters or digits.
fn group_key() -> String {
    use rand::Rng as _;
    const ALNUM: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let mut rng = rand::rngs::OsRng;
    let tail: String = (0..9).map(|_| char::from(ALNUM[rng.gen_range(0..ALNUM.len())])).collect();
    format!("-{tail}")
}

/// What SECRET_BLOCK carries between DEVICE_SRP_AUTH and
/// DEVICE_PASSWORD_VERIFIER (sealed for the user): the device, the server's
/// b and B, the client's A.
#[derive(Serialize, Deserialize)]
struct DeviceSrpState {
    d: String,
    #[serde(flatten)]
    srp: SrpHalf,
}

pub(crate) fn device_type(d: &DeviceRow) -> DeviceType {
    let mut attrs = vec![AttributeType { name: "device_status".into(), value: Some("valid".into()) }];
    if let Some(n) = &d.name {
        attrs.push(AttributeType { name: "device_name".into(), value: Some(n.clone()) });
    }
    if !d.last_ip.is_empty() {
        attrs.push(AttributeType { name: "last_ip_used".into(), value: Some(d.last_ip.clone()) });
    }
    let remembered = if d.remembered != 0 { "remembered" } else { "not_remembered" };
    attrs.push(AttributeType { name: "dev:device_remembered_status".into(), value: Some(remembered.into()) });
    DeviceType {
        device_key: Some(d.device_key.clone()),
        device_attributes: Some(attrs),
        device_create_date: Some(Timestamp::from_unix_millis(d.created_at)),
        device_last_modified_date: Some(Timestamp::from_unix_millis(d.updated_at)),
        device_last_authenticated_date: Some(Timestamp::from_unix_millis(d.last_auth_at)),
    }
}

impl Idp {
    /// A new device for a sign-in when the pool tracks devices: its keys go
    /// back as NewDeviceMetadata, and the client confirms it.
    pub(crate) async fn new_device(&self, c: &ClientCtx, user: &User) -> Result<Option<DeviceRow>> {
        if c.pool.device_configuration.is_none() {
            return Ok(None);
        }
        let now = self.now();
        let d = DeviceRow {
            pool_id: user.pool_id.clone(),
            username_key: user.username_key.clone(),
            device_key: format!("{}_{}", c.pool_row.region, cognate_crypto::ids::uuid_v4()),
            group_key: group_key(),
            confirmed: 0,
            remembered: 0,
            created_at: now,
            updated_at: now,
            last_auth_at: now,
            ..Default::default()
        };
        self.store.insert_device(&d).await?;
        Ok(Some(d))
    }

    /// DEVICE_SRP_AUTH: the client proves it holds the device's secret.
    pub(crate) fn device_challenge(&self, c: &ClientCtx, user: &User, d: &DeviceRow) -> Result<Challenge> {
        let mut p = BTreeMap::new();
        p.insert("DEVICE_KEY".to_string(), d.device_key.clone());
        self.challenge_for(c, user, ChallengeNameType::DeviceSrpAuth, p, false, &d.device_key)
    }

    /// Answers DEVICE_SRP_AUTH (with DEVICE_PASSWORD_VERIFIER) and
    /// DEVICE_PASSWORD_VERIFIER (with the user and the proven device).
    pub(crate) async fn answer_device(
        &self,
        c: &ClientCtx,
        challenge: ChallengeNameType,
        r: &BTreeMap<String, String>,
        session: Option<&str>,
    ) -> Result<std::result::Result<(User, DeviceRow), Challenge>> {
        let param = |k: &str| crate::base::context::param(r, k);
        let (device_key, user) = self.open_challenge(c, session, challenge.as_str()).await?;
        if param("DEVICE_KEY")? != device_key {
            return Err(device_not_found());
        }
        let d = self.known_device(&user, Some(&device_key)).await?.ok_or_else(device_not_found)?;
        let verifier = d.verifier.as_deref().and_then(|v| hex::decode(v).ok()).ok_or_else(|| {
            Error::internal(Fault::Document, format!("device {} has no readable verifier", d.device_key))
        })?;
        if challenge == ChallengeNameType::DeviceSrpAuth {
            let a_hex = param("SRP_A")?;
            srp::decode_hex_int(a_hex).map_err(|_| Error::InvalidParameter("Invalid SRP_A value.".into()))?;
            let ch = crate::flows::signin::verifier::server_challenge(verifier).await?;
            let state = DeviceSrpState { d: d.device_key.clone(), srp: SrpHalf::new(a_hex, &ch) };
            use base64::Engine as _;
            let sealed = sealed::seal(&self.key, Step::DeviceSrp, c, &user.username_key, self.now(), state)?;
            let mut p = BTreeMap::new();
            p.insert("SRP_B".to_string(), ch.srp_b_hex());
            p.insert("SALT".to_string(), d.salt.clone().unwrap_or_default());
            p.insert("SECRET_BLOCK".to_string(), base64::engine::general_purpose::STANDARD.encode(sealed.as_bytes()));
            p.insert("USERNAME".to_string(), user.username.clone());
            p.insert("DEVICE_KEY".to_string(), d.device_key.clone());
            return Ok(Err(self.challenge_for(
                c,
                &user,
                ChallengeNameType::DevicePasswordVerifier,
                p,
                false,
                &d.device_key,
            )?));
        }
        // DEVICE_PASSWORD_VERIFIER.
        let block_b64 = param("PASSWORD_CLAIM_SECRET_BLOCK")?;
        use base64::Engine as _;
        let block =
            base64::engine::general_purpose::STANDARD.decode(block_b64).ok().and_then(|b| String::from_utf8(b).ok());
        let opened: Opened<DeviceSrpState> = sealed::open(&self.key, Step::DeviceSrp, c, block.as_deref(), self.now())?;
        let state = opened.state;
        if opened.user != user.username_key || state.d != d.device_key {
            return Err(invalid_session());
        }
        let timestamp = param("TIMESTAMP")?;
        if srp::parse_timestamp(timestamp).is_none() {
            return Err(Error::InvalidParameter("TIMESTAMP is not in the expected format.".into()));
        }
        let signature = param("PASSWORD_CLAIM_SIGNATURE")?;
        if !state.srp.proves(verifier, &d.group_key, &d.device_key, (block_b64, timestamp, signature)).await? {
            self.record_failure(&user).await?;
            return Err(Error::NotAuthorized("Incorrect username or password.".into()));
        }
        Ok(Ok((user, d)))
    }

    // ---- the device operations ----

    pub async fn confirm_device(&self, req: ConfirmDeviceRequest) -> Result<ConfirmDeviceResponse> {
        let (c, user, token_device) = self.device_token(&req.access_token).await?;
        let mut d = self.store.get_device(user.key(), &req.device_key).await?.ok_or_else(device_not_found)?;
        if token_device.as_deref() != Some(req.device_key.as_str()) && d.confirmed == 0 {
            return Err(device_not_found());
        }
        let config = req.device_secret_verifier_config.unwrap_or_default();
        let decode = |v: Option<&String>| {
            use base64::Engine as _;
            v.and_then(|s| base64::engine::general_purpose::STANDARD.decode(s).ok()).filter(|b| !b.is_empty())
        };
        let (Some(verifier), Some(salt)) = (decode(config.password_verifier.as_ref()), decode(config.salt.as_ref()))
        else {
            return Err(Error::InvalidParameter(
                "DeviceSecretVerifierConfig needs a PasswordVerifier and a Salt.".into(),
            ));
        };
        let on_prompt = c.pool.device_configuration.as_ref().and_then(|d| d.device_only_remembered_on_user_prompt);
        let on_prompt = on_prompt == Some(true);
        d.verifier = Some(hex::encode(verifier));
        d.salt = Some(hex::encode(salt));
        d.name = req.device_name.or(d.name);
        d.confirmed = 1;
        d.remembered = i64::from(!on_prompt);
        d.updated_at = self.now();
        if !self.store.update_device(&d).await? {
            return Err(device_not_found());
        }
        Ok(ConfirmDeviceResponse { user_confirmation_necessary: Some(on_prompt) })
    }

    /// The client, user and device key (if any) of an access token.
    async fn device_token(&self, access_token: &str) -> Result<(ClientCtx, User, Option<String>)> {
        let (client_id, user) = self.check_access_token(access_token).await?;
        let c = self.resolve_client(&client_id).await?.issued();
        let device = crate::model::tokens::unverified_claim(access_token, "device_key");
        Ok((c, user, device))
    }

    async fn own_device(&self, user: &User, key: &str) -> Result<DeviceRow> {
        self.known_device(user, Some(key)).await?.ok_or_else(device_not_found)
    }

    async fn list_for(
        &self,
        user: &User,
        remembered_only: bool,
        limit: Option<i32>,
        token: Option<&str>,
    ) -> Result<(Vec<DeviceType>, Option<String>)> {
        let after = page::decode(token)?.unwrap_or_default();
        let limit = match limit {
            Some(n) if n > 0 => i64::from(n).min(60),
            _ => 60,
        };
        let mut rows = self.store.list_devices(user.key(), remembered_only, &after, limit + 1).await?;
        let next = if rows.len() as i64 > limit {
            rows.truncate(limit as usize);
            rows.last().map(|d| page::encode(&d.device_key))
        } else {
            None
        };
        Ok((rows.iter().map(device_type).collect(), next))
    }

    async fn set_status(&self, user: &User, key: &str, status: Option<DeviceRememberedStatusType>) -> Result<()> {
        let mut d = self.own_device(user, key).await?;
        d.remembered = i64::from(status == Some(DeviceRememberedStatusType::Remembered));
        d.updated_at = self.now();
        if !self.store.update_device(&d).await? {
            return Err(device_not_found());
        }
        Ok(())
    }

    pub async fn list_devices(&self, req: ListDevicesRequest) -> Result<ListDevicesResponse> {
        let (_, user, _) = self.device_token(&req.access_token).await?;
        let (devices, next) = self.list_for(&user, true, req.limit, req.pagination_token.as_deref()).await?;
        Ok(ListDevicesResponse { devices: Some(devices), pagination_token: next })
    }

    pub async fn get_device(&self, req: GetDeviceRequest) -> Result<GetDeviceResponse> {
        let token = req.access_token.as_deref().ok_or_else(|| Error::NotAuthorized("Missing access token.".into()))?;
        let (_, user, _) = self.device_token(token).await?;
        Ok(GetDeviceResponse { device: device_type(&self.own_device(&user, &req.device_key).await?) })
    }

    pub async fn forget_device(&self, req: ForgetDeviceRequest) -> Result<()> {
        let token = req.access_token.as_deref().ok_or_else(|| Error::NotAuthorized("Missing access token.".into()))?;
        let (_, user, _) = self.device_token(token).await?;
        if !self.store.delete_device(user.key(), &req.device_key).await? {
            return Err(device_not_found());
        }
        Ok(())
    }

    pub async fn update_device_status(&self, req: UpdateDeviceStatusRequest) -> Result<UpdateDeviceStatusResponse> {
        let (_, user, _) = self.device_token(&req.access_token).await?;
        self.set_status(&user, &req.device_key, req.device_remembered_status).await?;
        Ok(UpdateDeviceStatusResponse {})
    }

    async fn admin_device_user(&self, pool_id: &str, username: &str) -> Result<User> {
        let (row, pool) = self.load_pool(pool_id).await?;
        self.find_user(&row, &pool, username).await?.ok_or_else(|| Error::UserNotFound("User does not exist.".into()))
    }

    pub async fn admin_list_devices(&self, req: AdminListDevicesRequest) -> Result<AdminListDevicesResponse> {
        let user = self.admin_device_user(&req.user_pool_id, &req.username).await?;
        let (devices, next) = self.list_for(&user, false, req.limit, req.pagination_token.as_deref()).await?;
        Ok(AdminListDevicesResponse { devices: Some(devices), pagination_token: next })
    }

    pub async fn admin_get_device(&self, req: AdminGetDeviceRequest) -> Result<AdminGetDeviceResponse> {
        let user = self.admin_device_user(&req.user_pool_id, &req.username).await?;
        Ok(AdminGetDeviceResponse { device: device_type(&self.own_device(&user, &req.device_key).await?) })
    }

    pub async fn admin_forget_device(&self, req: AdminForgetDeviceRequest) -> Result<()> {
        let user = self.admin_device_user(&req.user_pool_id, &req.username).await?;
        if !self.store.delete_device(user.key(), &req.device_key).await? {
            return Err(device_not_found());
        }
        Ok(())
    }

    pub async fn admin_update_device_status(
        &self,
        req: AdminUpdateDeviceStatusRequest,
    ) -> Result<AdminUpdateDeviceStatusResponse> {
        let user = self.admin_device_user(&req.user_pool_id, &req.username).await?;
        self.set_status(&user, &req.device_key, req.device_remembered_status).await?;
        Ok(AdminUpdateDeviceStatusResponse {})
    }
}
