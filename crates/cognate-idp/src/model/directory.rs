//! The directory's model: what a user looks like to ListUsers (its search
//! entries and its wire shape), the group claims of a user's tokens, and the
//! record of an authentication event.

use crate::model::attributes::attribute_list;
use crate::model::users::User;
use crate::{Idp, Result};
use cognate_store::{AuthEventRow, GroupRow, UserListing, UserRow};
use cognate_wire::Timestamp;
use cognate_wire::idp::*;
use std::collections::BTreeMap;

/// What a UserType shows, from a full row or a listing.
pub(crate) trait Shown {
    fn shown(&self) -> (&str, &str, i64, i64, i64);
}

impl Shown for UserRow {
    fn shown(&self) -> (&str, &str, i64, i64, i64) {
        (&self.username, &self.status, self.enabled, self.created_at, self.updated_at)
    }
}

impl Shown for User {
    fn shown(&self) -> (&str, &str, i64, i64, i64) {
        (**self).shown()
    }
}

impl Shown for UserListing {
    fn shown(&self) -> (&str, &str, i64, i64, i64) {
        (&self.username, &self.status, self.enabled, self.created_at, self.updated_at)
    }
}

pub(crate) fn user_type(user: &impl Shown, attrs: &BTreeMap<String, String>) -> UserType {
    let (username, status, enabled, created, updated) = user.shown();
    UserType {
        username: Some(username.to_string()),
        attributes: Some(attribute_list(&crate::model::attributes::visible(attrs))),
        user_create_date: Some(Timestamp::from_unix_millis(created)),
        user_last_modified_date: Some(Timestamp::from_unix_millis(updated)),
        enabled: Some(enabled != 0),
        user_status: UserStatusType::parse(status),
        mfa_options: None,
    }
}

/// The group claims of a user's tokens.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct GroupClaims {
    /// Group names, by precedence (lowest first; groups without one last).
    pub groups: Vec<String>,
    /// The groups' roles in the same order, each once.
    pub roles: Vec<String>,
    /// The role of the group that takes precedence, when that is decided.
    pub preferred_role: Option<String>,
}

pub(crate) fn group_claims(mut groups: Vec<GroupRow>) -> GroupClaims {
    groups.sort_by(|a, b| {
        let rank = |g: &GroupRow| g.precedence.unwrap_or(i64::MAX);
        rank(a).cmp(&rank(b)).then_with(|| a.name.cmp(&b.name))
    });
    let mut roles: Vec<String> = Vec::new();
    for r in groups.iter().filter_map(|g| g.role_arn.clone()) {
        if !roles.contains(&r) {
            roles.push(r);
        }
    }
    // The best precedence among groups with a role; among the groups at that
    // precedence, one role decides and two different roles leave it unset.
    let with_role: Vec<&GroupRow> = groups.iter().filter(|g| g.role_arn.is_some()).collect();
    let preferred_role = with_role.first().and_then(|best| {
        let tied: Vec<&String> =
            with_role.iter().filter(|g| g.precedence == best.precedence).filter_map(|g| g.role_arn.as_ref()).collect();
        tied.iter().all(|r| *r == tied[0]).then(|| tied[0].clone())
    });
    GroupClaims { groups: groups.into_iter().map(|g| g.name).collect(), roles, preferred_role }
}

pub(crate) fn threat_protection(pool: &UserPoolType) -> bool {
    pool.user_pool_add_ons.as_ref().is_some_and(|a| a.advanced_security_mode != AdvancedSecurityModeType::Off)
}

/// Cognito's quotas: groups per pool, groups a user can be in.
pub const MAX_GROUPS_PER_POOL: i64 = 10_000;

pub const MAX_GROUPS_PER_USER: i64 = 100;

impl Idp {
    /// The claims a user's groups put in their tokens.
    pub(crate) async fn group_claims_of(&self, user: &User) -> Result<GroupClaims> {
        let groups = self.store.groups_of_user(user.key(), None, MAX_GROUPS_PER_USER).await?;
        Ok(group_claims(groups))
    }

    /// Records an authentication event when the pool has threat protection
    /// (UserPoolAddOns AUDIT or ENFORCED), as Cognito does.
    pub(crate) async fn auth_event(
        &self,
        pool: &UserPoolType,
        user: &User,
        event: EventType,
        response: EventResponseType,
        password: Option<bool>,
    ) -> Result<()> {
        if !threat_protection(pool) {
            return Ok(());
        }
        let challenges: Vec<ChallengeResponseType> = password
            .map(|ok| ChallengeResponseType {
                challenge_name: Some(ChallengeName::Password),
                challenge_response: Some(if ok { ChallengeResponse::Success } else { ChallengeResponse::Failure }),
            })
            .into_iter()
            .collect();
        let row = AuthEventRow {
            id: cognate_crypto::ids::uuid_v4(),
            pool_id: user.pool_id.clone(),
            username_key: user.username_key.clone(),
            event_type: event.as_str().to_string(),
            response: serde_json::to_value(response)?.as_str().unwrap_or_default().to_string(),
            challenges: serde_json::to_string(&challenges)?,
            ip: String::new(),
            created_at: self.now(),
        };
        self.store.insert_auth_event(&row).await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn g(name: &str, precedence: Option<i64>, role: Option<&str>) -> GroupRow {
        GroupRow {
            pool_id: "p".into(),
            name: name.into(),
            precedence,
            role_arn: role.map(str::to_string),
            ..Default::default()
        }
    }

    #[test]
    fn group_claims_follow_precedence() {
        let c =
            group_claims(vec![g("none", None, Some("r3")), g("five", Some(5), Some("r5")), g("one", Some(1), None)]);
        assert_eq!(c.groups, ["one", "five", "none"]);
        assert_eq!(c.roles, ["r5", "r3"]);
        assert_eq!(c.preferred_role.as_deref(), Some("r5"));
        // Tied precedence with different roles: no preferred role.
        let c = group_claims(vec![g("a", Some(2), Some("ra")), g("b", Some(2), Some("rb"))]);
        assert_eq!(c.preferred_role, None);
        // Tied with the same role: that role.
        let c = group_claims(vec![g("a", Some(2), Some("r")), g("b", Some(2), Some("r")), g("c", Some(1), None)]);
        assert_eq!(c.preferred_role.as_deref(), Some("r"));
        assert_eq!(c.roles, ["r"]);
        assert_eq!(group_claims(vec![]), GroupClaims::default());
    }
}
