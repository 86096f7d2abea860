//! The user directory: ListUsers and its filter, the group operations, and
//! AdminListUserAuthEvents. (Search entries, group claims and the recording
//! of auth events are the model's: `model/directory.rs`.)

use crate::base::page;
use crate::model::directory::{MAX_GROUPS_PER_POOL, MAX_GROUPS_PER_USER, threat_protection, user_type};
use crate::model::users::{SEARCHABLE, User};
use crate::{Error, Idp, Result};
use cognate_store::UserKey;
use cognate_store::{Cursor, GroupRow, Membership, StoreError, UserListing, UserQuery};
use cognate_wire::Timestamp;
use cognate_wire::idp::*;
use std::collections::BTreeMap;

/// Every status a user can have, for `cognito:user_status ^= "..."`.
const STATUSES: &[&str] = &[
    "UNCONFIRMED",
    "CONFIRMED",
    "ARCHIVED",
    "COMPROMISED",
    "UNKNOWN",
    "RESET_REQUIRED",
    "FORCE_CHANGE_PASSWORD",
    "EXTERNAL_PROVIDER",
];

#[derive(Debug, Clone, PartialEq, Eq)]
struct Filter {
    attribute: String,
    prefix: bool,
    value: String,
}

fn parse_error() -> Error {
    Error::InvalidParameter("Error while parsing filter.".into())
}

/// `attribute = "value"` or `attribute ^= "value"`; blanks around the
/// operator are optional, `\"` and `\\` escape inside the quotes. An empty
/// filter is None (every user).
fn parse_filter(text: &str) -> Result<Option<Filter>> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(None);
    }
    let name_end = text.find(|c: char| c.is_whitespace() || c == '=' || c == '^').ok_or_else(parse_error)?;
    let attribute = &text[..name_end];
    let rest = text[name_end..].trim_start();
    let (prefix, rest) = if let Some(r) = rest.strip_prefix("^=") {
        (true, r)
    } else if let Some(r) = rest.strip_prefix('=') {
        (false, r)
    } else {
        return Err(parse_error());
    };
    let rest = rest.trim_start().strip_prefix('"').ok_or_else(parse_error)?;
    let mut value = String::new();
    let mut chars = rest.char_indices();
    let close = loop {
        match chars.next() {
            Some((_, '\\')) => match chars.next() {
                Some((_, c)) => value.push(c),
                None => return Err(parse_error()),
            },
            Some((i, '"')) => break i,
            Some((_, c)) => value.push(c),
            None => return Err(parse_error()),
        }
    };
    if !rest[close + 1..].trim().is_empty() || attribute.is_empty() {
        return Err(parse_error());
    }
    Ok(Some(Filter { attribute: attribute.to_string(), prefix, value }))
}

/// What a filter asks of the store, or None when nothing can match.
fn user_query(pool: &UserPoolType, f: &Filter) -> Result<Option<UserQuery>> {
    let matches = |candidate: &str, value: &str| {
        if f.prefix { candidate.starts_with(value) } else { candidate == value }
    };
    let search = |name: &str, value: String| {
        Some(if f.prefix {
            UserQuery::Prefix { name: name.to_string(), prefix: value }
        } else {
            UserQuery::Equals { name: name.to_string(), value }
        })
    };
    Ok(match f.attribute.as_str() {
        "username" => search("username", crate::model::users::username_key(pool, &f.value)),
        "sub" => search("sub", f.value.clone()),
        "cognito:user_status" => {
            let wanted = f.value.to_ascii_uppercase();
            let hits: Vec<String> = STATUSES.iter().filter(|s| matches(s, &wanted)).map(|s| (*s).to_string()).collect();
            (!hits.is_empty()).then_some(UserQuery::Status(hits))
        }
        "status" => match (matches("Enabled", &f.value), matches("Disabled", &f.value)) {
            (true, true) => Some(UserQuery::All),
            (true, false) => Some(UserQuery::Enabled(true)),
            (false, true) => Some(UserQuery::Enabled(false)),
            (false, false) => None,
        },
        a if SEARCHABLE.contains(&a) => search(a, f.value.clone()),
        a if a.starts_with("custom:") && has_attribute(pool, a) => search(a, f.value.clone()),
        a => return Err(Error::InvalidParameter(format!("Invalid search attribute: {a}"))),
    })
}

fn has_attribute(pool: &UserPoolType, name: &str) -> bool {
    pool.schema_attributes.iter().flatten().any(|s| s.name.as_deref() == Some(name))
}

/// Whether `user` really matches (index entries hold at most
/// [`cognate_store::MAX_INDEXED_CHARS`] characters of a value).
fn really_matches(f: &Filter, pool: &UserPoolType, user: &UserListing, attrs: &BTreeMap<String, String>) -> bool {
    let (have, want) = match f.attribute.as_str() {
        "username" => (Some(user.username_key.clone()), crate::model::users::username_key(pool, &f.value)),
        "sub" => (Some(user.sub.clone()), f.value.clone()),
        "cognito:user_status" | "status" => return true,
        a => (attrs.get(a).cloned(), f.value.clone()),
    };
    match have {
        Some(h) if f.prefix => h.starts_with(&want),
        Some(h) => h == want,
        None => false,
    }
}

/// A page size: absent or 0 is the maximum, 60.
fn page_size(limit: Option<i32>, max: i64) -> i64 {
    match limit {
        Some(n) if n > 0 => i64::from(n).min(max),
        _ => max,
    }
}

fn group_type(g: &GroupRow) -> GroupType {
    GroupType {
        group_name: Some(g.name.clone()),
        user_pool_id: Some(g.pool_id.clone()),
        description: g.description.clone(),
        role_arn: g.role_arn.clone(),
        precedence: g.precedence.and_then(|p| i32::try_from(p).ok()),
        creation_date: Some(Timestamp::from_unix_millis(g.created_at)),
        last_modified_date: Some(Timestamp::from_unix_millis(g.updated_at)),
    }
}

fn group_not_found() -> Error {
    Error::ResourceNotFound("Group not found.".into())
}

impl Idp {
    pub async fn list_users(&self, req: ListUsersRequest) -> Result<ListUsersResponse> {
        let (pool_row, pool) = self.load_pool(&req.user_pool_id).await?;
        if let Some(wanted) = &req.attributes_to_get
            && let Some(bad) = wanted.iter().find(|a| !has_attribute(&pool, a))
        {
            return Err(Error::InvalidParameter(format!("Attribute {bad} does not exist in the user pool schema.")));
        }
        let filter = match req.filter.as_deref() {
            Some(text) => parse_filter(text)?,
            None => None,
        };
        let query = match &filter {
            Some(f) => user_query(&pool, f)?,
            None => Some(UserQuery::All),
        };
        let after = match page::decode(req.pagination_token.as_deref())? {
            Some(t) => Some(
                serde_json::from_str::<(String, String)>(&t)
                    .map(|(value, key)| Cursor { value, key })
                    .map_err(|_| Error::InvalidParameter("Invalid pagination token.".into()))?,
            ),
            None => None,
        };
        let limit = page_size(req.limit, 60);
        let Some(query) = query else {
            return Ok(ListUsersResponse { users: Some(vec![]), pagination_token: None });
        };
        let mut page = self.store.list_users(&pool_row.id, &query, after.as_ref(), limit + 1).await?.users;
        let next = if page.len() as i64 > limit {
            page.truncate(limit as usize);
            page.last().map(|(_, c)| page::encode(&serde_json::json!([c.value, c.key]).to_string()))
        } else {
            None
        };
        let mut users = Vec::with_capacity(page.len());
        for (user, _) in &page {
            let attrs: BTreeMap<String, String> = serde_json::from_str(&user.attributes)?;
            if filter.as_ref().is_some_and(|f| !really_matches(f, &pool, user, &attrs)) {
                continue;
            }
            let mut u = user_type(user, &attrs);
            if let Some(wanted) = &req.attributes_to_get {
                u.attributes = u.attributes.map(|list| list.into_iter().filter(|a| wanted.contains(&a.name)).collect());
            }
            users.push(u);
        }
        Ok(ListUsersResponse { users: Some(users), pagination_token: next })
    }

    // ---- groups ----

    async fn group(&self, pool_id: &str, name: &str) -> Result<GroupRow> {
        self.store.get_group(pool_id, name).await?.ok_or_else(group_not_found)
    }

    pub async fn create_group(&self, req: CreateGroupRequest) -> Result<CreateGroupResponse> {
        let (pool_row, _) = self.load_pool(&req.user_pool_id).await?;
        let now = self.now();
        let g = GroupRow {
            pool_id: pool_row.id,
            name: req.group_name.clone(),
            description: req.description,
            role_arn: req.role_arn,
            precedence: req.precedence.map(i64::from),
            created_at: now,
            updated_at: now,
        };
        match self.store.create_group(&g, MAX_GROUPS_PER_POOL).await {
            Ok(true) => Ok(CreateGroupResponse { group: Some(group_type(&g)) }),
            Ok(false) => Err(Error::LimitExceeded(format!(
                "The user pool has reached its limit of {MAX_GROUPS_PER_POOL} groups."
            ))),
            Err(StoreError::Conflict) => {
                Err(Error::GroupExists(format!("A group with the name {} already exists.", req.group_name)))
            }
            Err(e) => Err(e.into()),
        }
    }

    pub async fn get_group(&self, req: GetGroupRequest) -> Result<GetGroupResponse> {
        let (pool_row, _) = self.load_pool(&req.user_pool_id).await?;
        Ok(GetGroupResponse { group: Some(group_type(&self.group(&pool_row.id, &req.group_name).await?)) })
    }

    /// Changes what is given and keeps what is omitted.
    pub async fn update_group(&self, req: UpdateGroupRequest) -> Result<UpdateGroupResponse> {
        let (pool_row, _) = self.load_pool(&req.user_pool_id).await?;
        let mut g = self.group(&pool_row.id, &req.group_name).await?;
        if req.description.is_some() {
            g.description = req.description;
        }
        if req.role_arn.is_some() {
            g.role_arn = req.role_arn;
        }
        if let Some(p) = req.precedence {
            g.precedence = Some(i64::from(p));
        }
        g.updated_at = self.now();
        if !self.store.update_group(&g).await? {
            return Err(group_not_found());
        }
        Ok(UpdateGroupResponse { group: Some(group_type(&g)) })
    }

    pub async fn delete_group(&self, req: DeleteGroupRequest) -> Result<()> {
        let (pool_row, _) = self.load_pool(&req.user_pool_id).await?;
        if !self.store.delete_group(&pool_row.id, &req.group_name).await? {
            return Err(group_not_found());
        }
        Ok(())
    }

    pub async fn list_groups(&self, req: ListGroupsRequest) -> Result<ListGroupsResponse> {
        let (pool_row, _) = self.load_pool(&req.user_pool_id).await?;
        let after = page::decode(req.next_token.as_deref())?;
        let limit = page_size(req.limit, 60);
        let mut rows = self.store.list_groups(&pool_row.id, after.as_deref(), limit + 1).await?;
        let next = next_token(&mut rows, limit, |g| &g.name);
        Ok(ListGroupsResponse { groups: Some(rows.iter().map(group_type).collect()), next_token: next })
    }

    pub async fn admin_add_user_to_group(&self, req: AdminAddUserToGroupRequest) -> Result<()> {
        let (pool_row, pool) = self.load_pool(&req.user_pool_id).await?;
        let user = self.existing_user(&pool_row, &pool, &req.username).await?;
        self.group(&pool_row.id, &req.group_name).await?;
        let added = self
            .store
            .add_group_member(
                UserKey { pool_id: &pool_row.id, username_key: &user.username_key },
                &req.group_name,
                self.now(),
                MAX_GROUPS_PER_USER,
            )
            .await;
        match added {
            Ok(Membership::Added | Membership::AlreadyMember) => Ok(()),
            Ok(Membership::LimitReached) => Err(Error::LimitExceeded(format!(
                "The user has reached the limit of {MAX_GROUPS_PER_USER} groups per user."
            ))),
            // The group or the user went away between the checks and the insert.
            Err(StoreError::Dangling) => Err(group_not_found()),
            Err(e) => Err(e.into()),
        }
    }

    pub async fn admin_remove_user_from_group(&self, req: AdminRemoveUserFromGroupRequest) -> Result<()> {
        let (pool_row, pool) = self.load_pool(&req.user_pool_id).await?;
        let user = self.existing_user(&pool_row, &pool, &req.username).await?;
        self.group(&pool_row.id, &req.group_name).await?;
        self.store
            .remove_group_member(UserKey { pool_id: &pool_row.id, username_key: &user.username_key }, &req.group_name)
            .await?;
        Ok(())
    }

    pub async fn admin_list_groups_for_user(
        &self,
        req: AdminListGroupsForUserRequest,
    ) -> Result<AdminListGroupsForUserResponse> {
        let (pool_row, pool) = self.load_pool(&req.user_pool_id).await?;
        let user = self.existing_user(&pool_row, &pool, &req.username).await?;
        let after = page::decode(req.next_token.as_deref())?;
        let limit = page_size(req.limit, 60);
        let mut rows = self
            .store
            .groups_of_user(
                UserKey { pool_id: &pool_row.id, username_key: &user.username_key },
                after.as_deref(),
                limit + 1,
            )
            .await?;
        let next = next_token(&mut rows, limit, |g| &g.name);
        Ok(AdminListGroupsForUserResponse { groups: Some(rows.iter().map(group_type).collect()), next_token: next })
    }

    pub async fn list_users_in_group(&self, req: ListUsersInGroupRequest) -> Result<ListUsersInGroupResponse> {
        let (pool_row, _) = self.load_pool(&req.user_pool_id).await?;
        self.group(&pool_row.id, &req.group_name).await?;
        let after = page::decode(req.next_token.as_deref())?;
        let limit = page_size(req.limit, 60);
        let mut rows = self.store.users_in_group(&pool_row.id, &req.group_name, after.as_deref(), limit + 1).await?;
        let next = next_token(&mut rows, limit, |u| &u.username_key);
        let users =
            rows.iter().map(|u| Ok(user_type(u, &serde_json::from_str(&u.attributes)?))).collect::<Result<Vec<_>>>()?;
        Ok(ListUsersInGroupResponse { users: Some(users), next_token: next })
    }

    async fn existing_user(
        &self,
        pool_row: &cognate_store::PoolRow,
        pool: &UserPoolType,
        username: &str,
    ) -> Result<User> {
        self.find_user(pool_row, pool, username)
            .await?
            .ok_or_else(|| Error::UserNotFound("User does not exist.".into()))
    }

    // ---- authentication events ----

    pub async fn admin_list_user_auth_events(
        &self,
        req: AdminListUserAuthEventsRequest,
    ) -> Result<AdminListUserAuthEventsResponse> {
        let (pool_row, pool) = self.load_pool(&req.user_pool_id).await?;
        if !threat_protection(&pool) {
            return Err(Error::UserPoolAddOnNotEnabled(
                "Advanced security features are not enabled for this user pool.".into(),
            ));
        }
        let user = self.existing_user(&pool_row, &pool, &req.username).await?;
        let before = match page::decode(req.next_token.as_deref())? {
            Some(t) => Some(
                serde_json::from_str::<(i64, String)>(&t)
                    .map_err(|_| Error::InvalidParameter("Invalid pagination token.".into()))?,
            ),
            None => None,
        };
        let limit = page_size(req.max_results, 60);
        let mut rows =
            self.store.list_auth_events(user.key(), before.as_ref().map(|(t, i)| (*t, i.as_str())), limit + 1).await?;
        let next = if rows.len() as i64 > limit {
            rows.truncate(limit as usize);
            rows.last().map(|r| page::encode(&serde_json::json!([r.created_at, r.id]).to_string()))
        } else {
            None
        };
        let events = rows
            .iter()
            .map(|r| {
                Ok(AuthEventType {
                    event_id: Some(r.id.clone()),
                    event_type: EventType::parse(&r.event_type),
                    creation_date: Some(Timestamp::from_unix_millis(r.created_at)),
                    event_response: serde_json::from_value(serde_json::Value::String(r.response.clone())).ok(),
                    event_risk: None,
                    challenge_responses: Some(serde_json::from_str(&r.challenges)?),
                    event_context_data: (!r.ip.is_empty())
                        .then(|| EventContextDataType { ip_address: Some(r.ip.clone()), ..Default::default() }),
                    event_feedback: None,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(AdminListUserAuthEventsResponse { auth_events: Some(events), next_token: next })
    }
}

/// Cuts a page fetched with one extra row to `limit` and, when there was
/// more, returns the token that continues after the last row kept.
fn next_token<T>(rows: &mut Vec<T>, limit: i64, key: impl Fn(&T) -> &String) -> Option<String> {
    if rows.len() as i64 <= limit {
        return None;
    }
    rows.truncate(limit as usize);
    rows.last().map(|r| page::encode(key(r)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(attribute: &str, prefix: bool, value: &str) -> Option<Filter> {
        Some(Filter { attribute: attribute.into(), prefix, value: value.into() })
    }

    #[test]
    fn filters_parse_as_cognito_documents_them() {
        assert_eq!(parse_filter("").unwrap(), None);
        assert_eq!(parse_filter("  ").unwrap(), None);
        assert_eq!(parse_filter(r#"email = "a@x.io""#).unwrap(), f("email", false, "a@x.io"));
        assert_eq!(parse_filter(r#"email^="a""#).unwrap(), f("email", true, "a"));
        assert_eq!(parse_filter(r#"given_name ^= "Jo""#).unwrap(), f("given_name", true, "Jo"));
        assert_eq!(parse_filter(r#"family_name = "Re\"d\\dy""#).unwrap(), f("family_name", false, r#"Re"d\dy"#));
        assert_eq!(
            parse_filter(r#"cognito:user_status = "confirmed""#).unwrap(),
            f("cognito:user_status", false, "confirmed")
        );
        assert_eq!(parse_filter(r#"name = """#).unwrap(), f("name", false, ""));
        for bad in [
            "foo",
            r#"email == "x""#,
            r#"email = x"#,
            r#"email = "x"#,
            r#"email = "x" and"#,
            r#"= "x""#,
            r#"email ~ "x""#,
            r#"email = "x\"#,
        ] {
            assert!(
                matches!(parse_filter(bad), Err(Error::InvalidParameter(m)) if m == "Error while parsing filter."),
                "{bad}"
            );
        }
    }
}
