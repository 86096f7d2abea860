//! The two media a message goes by: email and SMS.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Channel {
    Email,
    Sms,
}

impl Channel {
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Email => "EMAIL",
            Channel::Sms => "SMS",
        }
    }

    pub fn attribute(self) -> &'static str {
        match self {
            Channel::Email => "email",
            Channel::Sms => "phone_number",
        }
    }
}
