//! The user-pool operations Cognate serves, each a one-line handler that
//! hands the typed request to `cognate_idp::Idp`.

use super::{Ctx, Handler, input, output};
use cognate_wire::idp::Op;

/// `handle!(method)`: `Idp::method(request)`; `handle!(method, region)`:
/// `Idp::method(region, request)`; `handle!(method, unit)`: an operation whose
/// model has no output shape (answers `{}`).
macro_rules! handle {
    ($method:ident) => {
        |ctx: Ctx, v| Box::pin(async move { output(ctx.app.idp.$method(input(v)?).await) })
    };
    ($method:ident, region) => {
        |ctx: Ctx, v| Box::pin(async move { output(ctx.app.idp.$method(&ctx.region, input(v)?).await) })
    };
    ($method:ident, unit) => {
        |ctx: Ctx, v| {
            Box::pin(async move { output(ctx.app.idp.$method(input(v)?).await.map(|()| serde_json::json!({}))) })
        }
    };
}

pub fn handler(name: &str) -> Option<Handler> {
    let op = Op::from_name(name)?;
    let h: Handler = match op {
        Op::CreateUserPool => handle!(create_user_pool, region),
        Op::DescribeUserPool => handle!(describe_user_pool),
        Op::UpdateUserPool => handle!(update_user_pool),
        Op::DeleteUserPool => handle!(delete_user_pool, unit),
        Op::ListUserPools => handle!(list_user_pools, region),
        Op::AddCustomAttributes => handle!(add_custom_attributes),
        Op::GetCSVHeader => handle!(get_csv_header),
        Op::CreateUserPoolClient => handle!(create_user_pool_client),
        Op::DescribeUserPoolClient => handle!(describe_user_pool_client),
        Op::UpdateUserPoolClient => handle!(update_user_pool_client),
        Op::DeleteUserPoolClient => handle!(delete_user_pool_client, unit),
        Op::ListUserPoolClients => handle!(list_user_pool_clients),
        Op::AddUserPoolClientSecret => handle!(add_user_pool_client_secret),
        Op::ListUserPoolClientSecrets => handle!(list_user_pool_client_secrets),
        Op::DeleteUserPoolClientSecret => handle!(delete_user_pool_client_secret),
        Op::SignUp => handle!(sign_up),
        Op::ConfirmSignUp => handle!(confirm_sign_up),
        Op::ResendConfirmationCode => handle!(resend_confirmation_code),
        Op::InitiateAuth => handle!(initiate_auth),
        Op::RespondToAuthChallenge => handle!(respond_to_auth_challenge),
        Op::GetUser => handle!(get_user),
        Op::AdminInitiateAuth => handle!(admin_initiate_auth),
        Op::AdminCreateUser => handle!(admin_create_user),
        Op::AdminGetUser => handle!(admin_get_user),
        Op::AdminSetUserPassword => handle!(admin_set_user_password),
        Op::AdminDeleteUser => handle!(admin_delete_user, unit),
        Op::AdminDisableUser => handle!(admin_disable_user),
        Op::AdminEnableUser => handle!(admin_enable_user),
        Op::AdminConfirmSignUp => handle!(admin_confirm_sign_up),
        Op::AdminUserGlobalSignOut => handle!(admin_user_global_sign_out),
        Op::AdminUpdateUserAttributes => handle!(admin_update_user_attributes),
        Op::AdminDeleteUserAttributes => handle!(admin_delete_user_attributes),
        Op::AdminResetUserPassword => handle!(admin_reset_user_password),
        Op::AdminRespondToAuthChallenge => handle!(admin_respond_to_auth_challenge),
        Op::ChangePassword => handle!(change_password),
        Op::ForgotPassword => handle!(forgot_password),
        Op::ConfirmForgotPassword => handle!(confirm_forgot_password),
        Op::UpdateUserAttributes => handle!(update_user_attributes),
        Op::GetUserAttributeVerificationCode => handle!(get_user_attribute_verification_code),
        Op::VerifyUserAttribute => handle!(verify_user_attribute),
        Op::DeleteUserAttributes => handle!(delete_user_attributes),
        Op::DeleteUser => handle!(delete_user, unit),
        Op::GlobalSignOut => handle!(global_sign_out),
        Op::RevokeToken => handle!(revoke_token),
        Op::GetTokensFromRefreshToken => handle!(get_tokens_from_refresh_token),
        Op::ListUsers => handle!(list_users),
        Op::AdminListUserAuthEvents => handle!(admin_list_user_auth_events),
        Op::CreateGroup => handle!(create_group),
        Op::GetGroup => handle!(get_group),
        Op::UpdateGroup => handle!(update_group),
        Op::DeleteGroup => handle!(delete_group, unit),
        Op::ListGroups => handle!(list_groups),
        Op::AdminAddUserToGroup => handle!(admin_add_user_to_group, unit),
        Op::AdminRemoveUserFromGroup => handle!(admin_remove_user_from_group, unit),
        Op::AdminListGroupsForUser => handle!(admin_list_groups_for_user),
        Op::ListUsersInGroup => handle!(list_users_in_group),
        Op::GetUserPoolMfaConfig => handle!(get_user_pool_mfa_config),
        Op::SetUserPoolMfaConfig => handle!(set_user_pool_mfa_config),
        Op::AssociateSoftwareToken => handle!(associate_software_token),
        Op::VerifySoftwareToken => handle!(verify_software_token),
        Op::SetUserMFAPreference => handle!(set_user_mfa_preference),
        Op::AdminSetUserMFAPreference => handle!(admin_set_user_mfa_preference),
        Op::SetUserSettings => handle!(set_user_settings),
        Op::AdminSetUserSettings => handle!(admin_set_user_settings),
        Op::ConfirmDevice => handle!(confirm_device),
        Op::ListDevices => handle!(list_devices),
        Op::GetDevice => handle!(get_device),
        Op::ForgetDevice => handle!(forget_device, unit),
        Op::UpdateDeviceStatus => handle!(update_device_status),
        Op::AdminListDevices => handle!(admin_list_devices),
        Op::AdminGetDevice => handle!(admin_get_device),
        Op::AdminForgetDevice => handle!(admin_forget_device, unit),
        Op::AdminUpdateDeviceStatus => handle!(admin_update_device_status),
        Op::CreateUserPoolDomain => handle!(create_user_pool_domain),
        Op::DescribeUserPoolDomain => handle!(describe_user_pool_domain),
        Op::UpdateUserPoolDomain => handle!(update_user_pool_domain),
        Op::DeleteUserPoolDomain => handle!(delete_user_pool_domain),
        Op::CreateResourceServer => handle!(create_resource_server),
        Op::DescribeResourceServer => handle!(describe_resource_server),
        Op::UpdateResourceServer => handle!(update_resource_server),
        Op::DeleteResourceServer => handle!(delete_resource_server, unit),
        Op::ListResourceServers => handle!(list_resource_servers),
        Op::CreateIdentityProvider => handle!(create_identity_provider),
        Op::DescribeIdentityProvider => handle!(describe_identity_provider),
        Op::UpdateIdentityProvider => handle!(update_identity_provider),
        Op::DeleteIdentityProvider => handle!(delete_identity_provider, unit),
        Op::ListIdentityProviders => handle!(list_identity_providers),
        Op::GetIdentityProviderByIdentifier => handle!(get_identity_provider_by_identifier),
        Op::SetUICustomization => handle!(set_ui_customization),
        Op::GetUICustomization => handle!(get_ui_customization),
        Op::CreateManagedLoginBranding => handle!(create_managed_login_branding),
        Op::DescribeManagedLoginBranding => handle!(describe_managed_login_branding),
        Op::DescribeManagedLoginBrandingByClient => handle!(describe_managed_login_branding_by_client),
        Op::UpdateManagedLoginBranding => handle!(update_managed_login_branding),
        Op::DeleteManagedLoginBranding => handle!(delete_managed_login_branding, unit),
        Op::TagResource => handle!(tag_resource),
        Op::UntagResource => handle!(untag_resource),
        Op::ListTagsForResource => handle!(list_tags_for_resource),
        _ => return None,
    };
    Some(h)
}
