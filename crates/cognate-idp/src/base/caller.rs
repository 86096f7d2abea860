//! Who made a signed call: the principal behind a verified SigV4 signature,
//! as the edge hands it to the domain, and the action it asks for.
//!
//! Today the only principal is an admin access key (`cognate keys`, or the
//! key from the environment), which may call every signed operation of
//! every service. Temporary credentials from STS (a role's session) are the
//! next kind: their role's policies decide, in [`crate::Idp::authorize`].

/// The verified signer of a call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub access_key_id: String,
    /// The region of the credential scope: the region the call acts in.
    pub region: String,
    pub principal: Principal,
}

/// What kind of identity signed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Principal {
    /// A stored admin access key: allowed every signed operation.
    AdminKey,
}

/// An operation asked for, named as IAM names actions
/// (`cognito-idp:AdminCreateUser`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Action<'a> {
    /// The service's signing prefix (`cognito-idp`, `sts`, ...).
    pub service: &'a str,
    pub operation: &'a str,
}

impl std::fmt::Display for Action<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.service, self.operation)
    }
}
