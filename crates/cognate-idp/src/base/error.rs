//! The one error type of the user-pool domain. Each variant is a Cognito
//! error; [`Error::code`] gives its name on the wire and [`Error::message`]
//! the text a client sees. A fault of Cognate's own (a database failure, a
//! stored value that does not open) is `Internal` with its [`Cause`]: the
//! client sees only "Internal server error.", and the edge logs the cause
//! once, inside the request's span (request id, operation, pool, client).
//! `Display` shows the cause too, for logs and the command line.

use std::sync::Arc;

/// What went wrong inside Cognate: a kind to match on, and the detail for
/// the log. Never sent to a client.
#[derive(Debug, Clone, PartialEq)]
pub struct Cause {
    pub kind: Fault,
    detail: Arc<str>,
}

/// The kinds of internal fault.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// The database failed.
    Store,
    /// A stored document (a pool's, a client's, a user's attributes) does
    /// not read.
    Document,
    /// A sealed secret does not open under this master key.
    Unseal,
    /// Anything else: a crypto routine, a thread, an impossible state.
    Other,
}

impl Cause {
    pub fn detail(&self) -> &str {
        &self.detail
    }
}

impl std::fmt::Display for Cause {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?}: {}", self.kind, self.detail)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Error {
    InvalidParameter(String),
    ResourceNotFound(String),
    LimitExceeded(String),
    NotAuthorized(String),
    ConcurrentModification(String),
    InvalidPassword(String),
    UsernameExists(String),
    AliasExists(String),
    UserNotFound(String),
    UserNotConfirmed(String),
    CodeMismatch(String),
    ExpiredCode(String),
    TooManyFailedAttempts(String),
    PasswordResetRequired(String),
    Unsupported(String),
    UserLambdaValidation(String),
    UnexpectedLambda(String),
    InvalidLambdaResponse(String),
    RefreshTokenReuse(String),
    PasswordHistoryPolicyViolation(String),
    CodeDeliveryFailure(String),
    UnsupportedUserState(String),
    GroupExists(String),
    UserPoolAddOnNotEnabled(String),
    EnableSoftwareTokenMfa(String),
    SoftwareTokenMfaNotFound(String),
    FeatureUnavailableInTier(String),
    ScopeDoesNotExist(String),
    InvalidOAuthFlow(String),
    ManagedLoginBrandingExists(String),
    DuplicateProvider(String),
    /// Something failed inside Cognate; the message is generic on purpose,
    /// the cause is for the log.
    Internal(Cause),
}

pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    pub fn code(&self) -> &'static str {
        match self {
            Error::InvalidParameter(_) => "InvalidParameterException",
            Error::ResourceNotFound(_) => "ResourceNotFoundException",
            Error::LimitExceeded(_) => "LimitExceededException",
            Error::NotAuthorized(_) => "NotAuthorizedException",
            Error::ConcurrentModification(_) => "ConcurrentModificationException",
            Error::InvalidPassword(_) => "InvalidPasswordException",
            Error::UsernameExists(_) => "UsernameExistsException",
            Error::AliasExists(_) => "AliasExistsException",
            Error::UserNotFound(_) => "UserNotFoundException",
            Error::UserNotConfirmed(_) => "UserNotConfirmedException",
            Error::CodeMismatch(_) => "CodeMismatchException",
            Error::ExpiredCode(_) => "ExpiredCodeException",
            Error::TooManyFailedAttempts(_) => "TooManyFailedAttemptsException",
            Error::PasswordResetRequired(_) => "PasswordResetRequiredException",
            Error::Unsupported(_) => "UnsupportedOperationException",
            Error::UserLambdaValidation(_) => "UserLambdaValidationException",
            Error::UnexpectedLambda(_) => "UnexpectedLambdaException",
            Error::InvalidLambdaResponse(_) => "InvalidLambdaResponseException",
            Error::RefreshTokenReuse(_) => "RefreshTokenReuseException",
            Error::PasswordHistoryPolicyViolation(_) => "PasswordHistoryPolicyViolationException",
            Error::CodeDeliveryFailure(_) => "CodeDeliveryFailureException",
            Error::UnsupportedUserState(_) => "UnsupportedUserStateException",
            Error::GroupExists(_) => "GroupExistsException",
            Error::UserPoolAddOnNotEnabled(_) => "UserPoolAddOnNotEnabledException",
            Error::EnableSoftwareTokenMfa(_) => "EnableSoftwareTokenMFAException",
            Error::SoftwareTokenMfaNotFound(_) => "SoftwareTokenMFANotFoundException",
            Error::FeatureUnavailableInTier(_) => "FeatureUnavailableInTierException",
            Error::ScopeDoesNotExist(_) => "ScopeDoesNotExistException",
            Error::InvalidOAuthFlow(_) => "InvalidOAuthFlowException",
            Error::ManagedLoginBrandingExists(_) => "ManagedLoginBrandingExistsException",
            Error::DuplicateProvider(_) => "DuplicateProviderException",
            Error::Internal(_) => "InternalErrorException",
        }
    }

    pub fn message(&self) -> &str {
        match self {
            Error::InvalidParameter(m)
            | Error::ResourceNotFound(m)
            | Error::LimitExceeded(m)
            | Error::NotAuthorized(m)
            | Error::ConcurrentModification(m)
            | Error::InvalidPassword(m)
            | Error::UsernameExists(m)
            | Error::AliasExists(m)
            | Error::UserNotFound(m)
            | Error::UserNotConfirmed(m)
            | Error::CodeMismatch(m)
            | Error::ExpiredCode(m)
            | Error::TooManyFailedAttempts(m)
            | Error::PasswordResetRequired(m)
            | Error::Unsupported(m)
            | Error::UserLambdaValidation(m)
            | Error::UnexpectedLambda(m)
            | Error::InvalidLambdaResponse(m)
            | Error::RefreshTokenReuse(m)
            | Error::PasswordHistoryPolicyViolation(m)
            | Error::CodeDeliveryFailure(m)
            | Error::UnsupportedUserState(m)
            | Error::GroupExists(m)
            | Error::UserPoolAddOnNotEnabled(m)
            | Error::EnableSoftwareTokenMfa(m)
            | Error::SoftwareTokenMfaNotFound(m)
            | Error::FeatureUnavailableInTier(m)
            | Error::ScopeDoesNotExist(m)
            | Error::InvalidOAuthFlow(m)
            | Error::ManagedLoginBrandingExists(m)
            | Error::DuplicateProvider(m) => m,
            Error::Internal(_) => "Internal server error.",
        }
    }

    /// Whether the fault is Cognate's (HTTP 500) rather than the caller's.
    pub fn is_internal(&self) -> bool {
        matches!(self, Error::Internal(_))
    }

    /// An internal fault of `kind`, with what the log should say.
    pub fn internal(kind: Fault, detail: impl std::fmt::Display) -> Error {
        Error::Internal(Cause { kind, detail: detail.to_string().into() })
    }

    /// The cause of an internal fault.
    pub fn cause(&self) -> Option<&Cause> {
        match self {
            Error::Internal(c) => Some(c),
            _ => None,
        }
    }
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Error::Internal(cause) => write!(f, "{}: {cause}", self.code()),
            _ => write!(f, "{}: {}", self.code(), self.message()),
        }
    }
}

impl std::error::Error for Error {}

impl From<cognate_store::StoreError> for Error {
    fn from(e: cognate_store::StoreError) -> Self {
        Error::internal(Fault::Store, e)
    }
}

impl From<serde_json::Error> for Error {
    fn from(e: serde_json::Error) -> Self {
        Error::internal(Fault::Document, e)
    }
}
