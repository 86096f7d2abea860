//! The one error type of the user-pool domain. Each variant is a Cognito
//! error; [`Error::code`] gives its name on the wire and [`Error::message`]
//! the text a client sees. Causes that must not reach a client (a database
//! failure) are logged where they happen and surface as `Internal`.

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
    /// Something failed inside Cognate; the message is generic on purpose.
    Internal,
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
            Error::Internal => "InternalErrorException",
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
            | Error::FeatureUnavailableInTier(m) => m,
            Error::Internal => "Internal server error.",
        }
    }

    /// Whether the fault is Cognate's (HTTP 500) rather than the caller's.
    pub fn is_internal(&self) -> bool {
        matches!(self, Error::Internal)
    }
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code(), self.message())
    }
}

impl std::error::Error for Error {}

impl From<cognate_store::StoreError> for Error {
    fn from(e: cognate_store::StoreError) -> Self {
        tracing::error!(error = %e, "store failure");
        Error::Internal
    }
}

impl From<serde_json::Error> for Error {
    fn from(e: serde_json::Error) -> Self {
        tracing::error!(error = %e, "stored document unreadable");
        Error::Internal
    }
}
