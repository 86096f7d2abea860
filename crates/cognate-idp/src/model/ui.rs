//! The classic hosted UI's look (SetUICustomization, GetUICustomization):
//! CSS for the pages' customizable classes and a logo, per client or for
//! every client of the pool (`ALL`).
//!
//! CSS is accepted only for Cognito's customizable classes and only with
//! plain properties; it is stored as Cognate re-writes it (one rule per
//! selector list, declarations normalized), so nothing but those rules ever
//! reaches a page, and no value can load anything (`url(`, `@import`,
//! `expression(` are refused).

use crate::{Error, Idp, Result};
use cognate_store::UiCustomizationRow;
use cognate_wire::Timestamp;
use cognate_wire::idp::*;

/// The classes a pool may style, as Cognito lists them.
const CLASSES: &[&str] = &[
    ".background-customizable",
    ".banner-customizable",
    ".errorMessage-customizable",
    ".idpButton-customizable",
    ".idpButton-customizable:hover",
    ".inputField-customizable",
    ".inputField-customizable:focus",
    ".label-customizable",
    ".legalText-customizable",
    ".logo-customizable",
    ".submitButton-customizable",
    ".submitButton-customizable:hover",
    ".textDescription-customizable",
    ".redirect-customizable",
];

/// The properties a rule may set.
const PROPERTIES: &[&str] = &[
    "background-color",
    "color",
    "font-family",
    "font-size",
    "font-style",
    "font-weight",
    "letter-spacing",
    "line-height",
    "text-align",
    "text-decoration",
    "text-transform",
    "border",
    "border-color",
    "border-style",
    "border-width",
    "border-radius",
    "border-top",
    "border-right",
    "border-bottom",
    "border-left",
    "box-shadow",
    "outline",
    "padding",
    "padding-top",
    "padding-right",
    "padding-bottom",
    "padding-left",
    "margin",
    "margin-top",
    "margin-right",
    "margin-bottom",
    "margin-left",
    "width",
    "height",
    "max-width",
    "max-height",
    "min-width",
    "min-height",
    "opacity",
];

/// The id of the look every client without its own uses.
pub const ALL: &str = "ALL";

fn invalid(m: String) -> Error {
    Error::InvalidParameter(format!("CSS is invalid: {m}"))
}

/// Checks CSS against the customizable classes and properties and returns
/// it re-written; refuses anything else.
pub fn sanitize_css(css: &str) -> Result<String> {
    // Comments go first; what remains is `selectors { declarations }`.
    let mut text = String::with_capacity(css.len());
    let mut rest = css;
    while let Some(start) = rest.find("/*") {
        text.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let end = after.find("*/").ok_or_else(|| invalid("a comment is not closed".into()))?;
        rest = &after[end + 2..];
    }
    text.push_str(rest);
    let mut out = String::new();
    let mut rest = text.as_str();
    loop {
        let Some(open) = rest.find('{') else {
            if !rest.trim().is_empty() {
                return Err(invalid(format!("unexpected text {:?}", rest.trim())));
            }
            return Ok(out);
        };
        let close = rest[open..].find('}').map(|i| open + i).ok_or_else(|| invalid("a rule is not closed".into()))?;
        let selectors: Vec<&str> = rest[..open].split(',').map(str::trim).collect();
        for s in &selectors {
            if !CLASSES.contains(s) {
                return Err(invalid(format!("{s} is not a customizable class")));
            }
        }
        let body = &rest[open + 1..close];
        if body.contains('{') {
            return Err(invalid("nested rules are not allowed".into()));
        }
        let mut declarations = Vec::new();
        for d in body.split(';').map(str::trim).filter(|d| !d.is_empty()) {
            let (name, value) = d.split_once(':').ok_or_else(|| invalid(format!("{d:?} is not a declaration")))?;
            let (name, value) = (name.trim().to_ascii_lowercase(), value.trim());
            if !PROPERTIES.contains(&name.as_str()) {
                return Err(invalid(format!("the property {name} cannot be customized")));
            }
            let lower = value.to_ascii_lowercase();
            let loads = ["url(", "expression(", "@", "\\", "<", ">", "javascript:", "image-set("];
            if value.is_empty() || loads.iter().any(|l| lower.contains(l)) {
                return Err(invalid(format!("the value of {name} is not allowed")));
            }
            declarations.push(format!("  {name}: {value};"));
        }
        out.push_str(&format!("{} {{\n{}\n}}\n", selectors.join(", "), declarations.join("\n")));
        rest = &rest[close + 1..];
    }
}

/// The image's media type, from its first bytes (PNG or JPEG only).
pub fn image_type(bytes: &[u8]) -> Option<&'static str> {
    if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some("image/png")
    } else if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some("image/jpeg")
    } else {
        None
    }
}

pub use crate::model::branding::Look;

impl Idp {
    /// SetUICustomization: the look of one client, or of every client
    /// without its own (no ClientId, or `ALL`).
    pub async fn set_ui_customization(&self, req: SetUICustomizationRequest) -> Result<SetUICustomizationResponse> {
        let (pool_row, _) = self.load_pool(&req.user_pool_id).await?;
        let client_id = req.client_id.clone().unwrap_or_else(|| ALL.to_string());
        if client_id != ALL {
            let client = self.store.get_client(&pool_row.id, &client_id).await?;
            if client.is_none() {
                return Err(Error::ResourceNotFound(format!("User pool client {client_id} does not exist.")));
            }
        }
        let css = sanitize_css(req.css.as_deref().unwrap_or_default())?;
        let image = match &req.image_file {
            Some(blob) if !blob.0.is_empty() => {
                if image_type(&blob.0).is_none() {
                    return Err(Error::InvalidParameter("ImageFile must be a PNG or JPEG image.".into()));
                }
                use base64::Engine as _;
                base64::engine::general_purpose::STANDARD.encode(&blob.0)
            }
            _ => String::new(),
        };
        let now = self.now();
        let row = UiCustomizationRow {
            pool_id: pool_row.id.clone(),
            client_id: client_id.clone(),
            css,
            image,
            created_at: now,
            updated_at: now,
        };
        self.store.put_ui_customization(&row).await?;
        let stored = self.store.get_ui_customization(&pool_row.id, &client_id).await?.unwrap_or(row);
        Ok(SetUICustomizationResponse { ui_customization: self.ui_type(&stored).await? })
    }

    /// GetUICustomization: the client's own look, else the pool's `ALL`;
    /// with neither, only the pool and client are named.
    pub async fn get_ui_customization(&self, req: GetUICustomizationRequest) -> Result<GetUICustomizationResponse> {
        let (pool_row, _) = self.load_pool(&req.user_pool_id).await?;
        let client_id = req.client_id.clone().unwrap_or_else(|| ALL.to_string());
        if client_id != ALL && self.store.get_client(&pool_row.id, &client_id).await?.is_none() {
            return Err(Error::ResourceNotFound(format!("User pool client {client_id} does not exist.")));
        }
        let found = match self.store.get_ui_customization(&pool_row.id, &client_id).await? {
            Some(r) => Some(r),
            None => self.store.get_ui_customization(&pool_row.id, ALL).await?,
        };
        let ui = match found {
            Some(r) => UICustomizationType { client_id: Some(client_id), ..self.ui_type(&r).await? },
            None => UICustomizationType {
                user_pool_id: Some(pool_row.id.clone()),
                client_id: Some(client_id),
                ..Default::default()
            },
        };
        Ok(GetUICustomizationResponse { ui_customization: ui })
    }

    async fn ui_type(&self, r: &UiCustomizationRow) -> Result<UICustomizationType> {
        let image_url = if r.image.is_empty() {
            None
        } else {
            let domains = self.pool_domains(&r.pool_id).await?;
            domains.first().map(|d| format!("{}/ui/{}/logo", self.domain_url(d), r.client_id))
        };
        Ok(UICustomizationType {
            user_pool_id: Some(r.pool_id.clone()),
            client_id: Some(r.client_id.clone()),
            css: (!r.css.is_empty()).then(|| r.css.clone()),
            css_version: Some(r.updated_at.to_string()),
            image_url,
            creation_date: Some(Timestamp::from_unix_millis(r.created_at)),
            last_modified_date: Some(Timestamp::from_unix_millis(r.updated_at)),
        })
    }

    /// The look the hosted pages of `client_id` wear: its own, else the
    /// pool's `ALL`, else none.
    /// The look of a client's pages on a domain of `managed_login_version`:
    /// 1 is the classic hosted UI (SetUICustomization), 2 managed login
    /// (the client's branding style).
    pub async fn look_of(&self, pool_id: &str, client_id: &str, managed_login_version: i32) -> Result<Look> {
        if managed_login_version >= 2 {
            return self.branding_look(pool_id, client_id).await;
        }
        let found = match self.store.get_ui_customization(pool_id, client_id).await? {
            Some(r) => Some(r),
            None => self.store.get_ui_customization(pool_id, ALL).await?,
        };
        let Some(r) = found else { return Ok(Look::default()) };
        use base64::Engine as _;
        let bytes = base64::engine::general_purpose::STANDARD.decode(&r.image).unwrap_or_default();
        let image = image_type(&bytes).map(|t| (bytes, t));
        Ok(Look { css: r.css, image, background: None })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn css_is_kept_to_the_customizable_classes_and_plain_values() {
        let ok = sanitize_css(
            "/* brand */ .banner-customizable { background-color: #123456; color:white }\n\
             .submitButton-customizable, .submitButton-customizable:hover{font-weight:700;}",
        )
        .unwrap();
        assert_eq!(
            ok,
            ".banner-customizable {\n  background-color: #123456;\n  color: white;\n}\n\
             .submitButton-customizable, .submitButton-customizable:hover {\n  font-weight: 700;\n}\n"
        );
        for bad in [
            "body { color: red }",
            ".banner-customizable { position: fixed }",
            ".banner-customizable { background-color: url(https://evil.example/x) }",
            ".banner-customizable { color: red } </style><script>",
            ".banner-customizable { color: red",
            "@import 'x.css';",
            ".banner-customizable { color: expression(alert(1)) }",
            ".banner-customizable /* open",
        ] {
            assert!(sanitize_css(bad).is_err(), "{bad}");
        }
        assert_eq!(sanitize_css("").unwrap(), "");
    }

    #[test]
    fn images_are_png_or_jpeg() {
        assert_eq!(image_type(b"\x89PNG\r\n\x1a\n...."), Some("image/png"));
        assert_eq!(image_type(&[0xFF, 0xD8, 0xFF, 0xE0]), Some("image/jpeg"));
        assert_eq!(image_type(b"<svg"), None);
    }
}
