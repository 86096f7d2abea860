//! Managed-login branding (CreateManagedLoginBranding and its kin): one
//! style per app client, with a settings document and image assets.
//!
//! The settings document's schema is Cognito's and undocumented; Cognate
//! keeps it as given (an update merges it into the stored one, as Cognito
//! "preserves existing style settings that you don't specify") and returns
//! it, with `ReturnMergedResources` too (Cognate has no defaults to merge
//! in). Assets are kept per (category, colour mode); an update replaces the
//! ones it names.
//!
//! A pool domain on managed login (version 2) wears its client's style:
//! [`style_look`] turns the settings the pages have parts for (page and
//! form background, text, labels, inputs, focus ring, primary button,
//! links, corner radii, light/dark/dynamic colour scheme) into a
//! stylesheet, and serves the form logo and page background assets.
//! Values are taken only when they are what Cognito's schema says
//! (`RRGGBBAA` hex colours, small whole-number radii), so a document can
//! never inject CSS.

use crate::{Error, Idp, Result};
use cognate_store::{BrandingRow, StoreError};
use cognate_wire::Timestamp;
use cognate_wire::idp::*;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Cognito's quota of branding styles per pool.
const MAX_STYLES: i64 = 20;
/// Most assets a style holds.
const MAX_ASSETS: usize = 40;

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct Doc {
    use_cognito_provided_values: bool,
    settings: Option<Value>,
    assets: Vec<AssetType>,
}

fn not_found(id: &str) -> Error {
    Error::ResourceNotFound(format!("Managed login branding {id} does not exist."))
}

/// `incoming`'s members over `base`'s, recursively for objects.
fn merge(base: &mut Value, incoming: Value) {
    match (base, incoming) {
        (Value::Object(b), Value::Object(i)) => {
            for (k, v) in i {
                match b.get_mut(&k) {
                    Some(existing) => merge(existing, v),
                    None => {
                        b.insert(k, v);
                    }
                }
            }
        }
        (b, i) => *b = i,
    }
}

fn check(use_defaults: Option<bool>, settings: &Option<Value>, assets: &Option<Vec<AssetType>>) -> Result<()> {
    if use_defaults == Some(true) && (settings.is_some() || assets.as_ref().is_some_and(|a| !a.is_empty())) {
        return Err(Error::InvalidParameter(
            "UseCognitoProvidedValues cannot be combined with Settings or Assets.".into(),
        ));
    }
    if settings.as_ref().is_some_and(|s| !s.is_object()) {
        return Err(Error::InvalidParameter("Settings must be a JSON object.".into()));
    }
    if assets.as_ref().is_some_and(|a| a.len() > MAX_ASSETS) {
        return Err(Error::InvalidParameter(format!("A style holds at most {MAX_ASSETS} assets.")));
    }
    Ok(())
}

fn branding_type(row: &BrandingRow, doc: Doc) -> ManagedLoginBrandingType {
    ManagedLoginBrandingType {
        managed_login_branding_id: Some(row.id.clone()),
        user_pool_id: Some(row.pool_id.clone()),
        use_cognito_provided_values: Some(doc.use_cognito_provided_values),
        settings: doc.settings,
        assets: Some(doc.assets),
        creation_date: Some(Timestamp::from_unix_millis(row.created_at)),
        last_modified_date: Some(Timestamp::from_unix_millis(row.updated_at)),
    }
}

/// A client's look as the pages use it: its stylesheet (after the default
/// one), its logo and its page background, each image with its content
/// type.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Look {
    pub css: String,
    pub image: Option<(Vec<u8>, &'static str)>,
    /// Managed login only.
    pub background: Option<(Vec<u8>, &'static str)>,
}

/// The value at `path` in the settings, if it is an object member chain.
fn at<'a>(settings: &'a Value, path: &[&str]) -> Option<&'a Value> {
    path.iter().try_fold(settings, |v, k| v.get(k))
}

/// A colour of the schema (`RRGGBB` or `RRGGBBAA`), as CSS.
fn color(settings: &Value, path: &[&str]) -> Option<String> {
    let hex = at(settings, path)?.as_str()?;
    let ok = matches!(hex.len(), 6 | 8) && hex.bytes().all(|b| b.is_ascii_hexdigit());
    ok.then(|| format!("#{}", hex.to_ascii_lowercase()))
}

/// A corner radius of the schema (whole pixels, at most 64).
fn radius(settings: &Value, path: &[&str]) -> Option<String> {
    let n = at(settings, path)?.as_u64().filter(|n| *n <= 64)?;
    Some(format!("{n}px"))
}

/// `selector { property: value; ... }` for the values that are present.
fn rule(css: &mut String, selector: &str, decls: &[(&str, Option<String>)]) {
    let present: Vec<String> = decls.iter().filter_map(|(p, v)| v.as_ref().map(|v| format!("  {p}: {v};\n"))).collect();
    if !present.is_empty() {
        css.push_str(&format!("{selector} {{\n{}}}\n", present.concat()));
    }
}

/// The colour rules of one scheme (`lightMode` or `darkMode`).
fn scheme_rules(s: &Value, mode: &str, background_image: bool) -> String {
    let mut css = String::new();
    let page_image = background_image.then(|| "url(\"background\")".to_string());
    rule(
        &mut css,
        "body",
        &[
            ("background-color", color(s, &["components", "pageBackground", mode, "color"])),
            ("background-image", page_image),
            ("background-size", background_image.then(|| "cover".to_string())),
        ],
    );
    rule(
        &mut css,
        ".panel",
        &[
            ("background-color", color(s, &["components", "form", mode, "backgroundColor"])),
            ("border", color(s, &["components", "form", mode, "borderColor"]).map(|c| format!("1px solid {c}"))),
        ],
    );
    let heading = color(s, &["components", "pageText", mode, "headingColor"])
        .or_else(|| color(s, &["componentClasses", "text", mode, "headingTextColor"]));
    rule(&mut css, ".banner-customizable", &[("color", heading)]);
    let body = color(s, &["components", "pageText", mode, "bodyColor"])
        .or_else(|| color(s, &["componentClasses", "text", mode, "bodyTextColor"]));
    rule(&mut css, ".textDescription-customizable, .choice, .key", &[("color", body)]);
    rule(
        &mut css,
        ".label-customizable",
        &[("color", color(s, &["componentClasses", "inputLabel", mode, "textColor"]))],
    );
    rule(
        &mut css,
        ".inputField-customizable",
        &[
            ("background-color", color(s, &["componentClasses", "input", mode, "defaults", "backgroundColor"])),
            ("border-color", color(s, &["componentClasses", "input", mode, "defaults", "borderColor"])),
            ("color", color(s, &["componentClasses", "text", mode, "bodyTextColor"])),
        ],
    );
    let focus = color(s, &["componentClasses", "focusState", mode, "borderColor"]);
    rule(&mut css, ".inputField-customizable:focus", &[("outline-color", focus.clone()), ("border-color", focus)]);
    let button = ["components", "primaryButton", mode];
    rule(
        &mut css,
        ".submitButton-customizable",
        &[
            ("background-color", color(s, &[&button[..], &["defaults", "backgroundColor"]].concat())),
            ("color", color(s, &[&button[..], &["defaults", "textColor"]].concat())),
        ],
    );
    rule(
        &mut css,
        ".submitButton-customizable:hover, .submitButton-customizable:focus",
        &[
            ("background-color", color(s, &[&button[..], &["hover", "backgroundColor"]].concat())),
            ("color", color(s, &[&button[..], &["hover", "textColor"]].concat())),
        ],
    );
    rule(
        &mut css,
        ".redirect-customizable, .languages a",
        &[("color", color(s, &["componentClasses", "link", mode, "defaults", "textColor"]))],
    );
    rule(
        &mut css,
        ".redirect-customizable:hover, .languages a:hover",
        &[("color", color(s, &["componentClasses", "link", mode, "hover", "textColor"]))],
    );
    css
}

/// The asset of `category` for the scheme, else for light, else any.
fn asset(assets: &[AssetType], category: AssetCategoryType, dark: bool) -> Option<(Vec<u8>, &'static str)> {
    let wanted = if dark { ColorSchemeModeType::Dark } else { ColorSchemeModeType::Light };
    let of_category = || assets.iter().filter(|a| a.category == category);
    let found = of_category()
        .find(|a| a.color_mode == wanted)
        .or_else(|| of_category().find(|a| a.color_mode == ColorSchemeModeType::Light))
        .or_else(|| of_category().next())?;
    let kind = match found.extension {
        AssetExtensionType::Ico => "image/x-icon",
        AssetExtensionType::Jpeg => "image/jpeg",
        AssetExtensionType::Png => "image/png",
        AssetExtensionType::Svg => "image/svg+xml",
        AssetExtensionType::Webp => "image/webp",
    };
    Some((found.bytes.as_ref()?.0.clone(), kind))
}

/// The look a branding style gives the pages. The stylesheet points at
/// the background as `background`, beside itself.
fn style_look(doc: &Doc) -> Look {
    let settings = doc.settings.clone().unwrap_or(Value::Null);
    let scheme = at(&settings, &["categories", "global", "colorSchemeMode"]).and_then(Value::as_str);
    let dark = scheme == Some("DARK");
    let logo = asset(&doc.assets, AssetCategoryType::FormLogo, dark)
        .or_else(|| asset(&doc.assets, AssetCategoryType::PageHeaderLogo, dark));
    let image_on = at(&settings, &["components", "pageBackground", "image", "enabled"]).and_then(Value::as_bool);
    let background = asset(&doc.assets, AssetCategoryType::PageBackground, dark).filter(|_| image_on != Some(false));
    let mut css = String::new();
    rule(&mut css, ".panel", &[("border-radius", radius(&settings, &["components", "form", "borderRadius"]))]);
    rule(
        &mut css,
        ".inputField-customizable",
        &[("border-radius", radius(&settings, &["componentClasses", "input", "borderRadius"]))],
    );
    rule(
        &mut css,
        ".submitButton-customizable",
        &[("border-radius", radius(&settings, &["componentClasses", "buttons", "borderRadius"]))],
    );
    let has_background = background.is_some();
    match scheme {
        Some("DARK") => css.push_str(&scheme_rules(&settings, "darkMode", has_background)),
        Some("DYNAMIC") => {
            css.push_str(&scheme_rules(&settings, "lightMode", has_background));
            // The background image is the same in both schemes.
            let dark_rules = scheme_rules(&settings, "darkMode", false);
            if !dark_rules.is_empty() {
                css.push_str(&format!("@media (prefers-color-scheme: dark) {{\n{dark_rules}}}\n"));
            }
        }
        _ => css.push_str(&scheme_rules(&settings, "lightMode", has_background)),
    }
    Look { css, image: logo, background }
}

impl Idp {
    /// The look of a client's pages on a managed-login (version 2) domain:
    /// its branding style, or the default look without one.
    pub(crate) async fn branding_look(&self, pool_id: &str, client_id: &str) -> Result<Look> {
        let Some(row) = self.store.branding_of_client(pool_id, client_id).await? else {
            return Ok(Look::default());
        };
        let doc: Doc = serde_json::from_str(&row.doc)?;
        Ok(style_look(&doc))
    }

    pub async fn create_managed_login_branding(
        &self,
        req: CreateManagedLoginBrandingRequest,
    ) -> Result<CreateManagedLoginBrandingResponse> {
        let (pool_row, _) = self.load_pool(&req.user_pool_id).await?;
        if self.store.get_client(&pool_row.id, &req.client_id).await?.is_none() {
            return Err(Error::ResourceNotFound(format!("User pool client {} does not exist.", req.client_id)));
        }
        check(req.use_cognito_provided_values, &req.settings, &req.assets)?;
        let doc = Doc {
            use_cognito_provided_values: req.use_cognito_provided_values == Some(true)
                || (req.settings.is_none() && req.assets.is_none()),
            settings: req.settings,
            assets: req.assets.unwrap_or_default(),
        };
        let now = self.now();
        let row = BrandingRow {
            id: cognate_crypto::ids::uuid_v4(),
            pool_id: pool_row.id.clone(),
            client_id: req.client_id.clone(),
            doc: serde_json::to_string(&doc)?,
            created_at: now,
            updated_at: now,
        };
        match self.store.insert_branding(&row, MAX_STYLES).await {
            Ok(true) => {
                Ok(CreateManagedLoginBrandingResponse { managed_login_branding: Some(branding_type(&row, doc)) })
            }
            Ok(false) => Err(Error::LimitExceeded(format!("A user pool has at most {MAX_STYLES} branding styles."))),
            Err(StoreError::Conflict) => Err(Error::ManagedLoginBrandingExists(format!(
                "A managed login branding style already exists for app client {}.",
                req.client_id
            ))),
            Err(e) => Err(e.into()),
        }
    }

    async fn branding(&self, pool_id: &str, id: &str) -> Result<(BrandingRow, Doc)> {
        let row = self.store.get_branding(pool_id, id).await?.ok_or_else(|| not_found(id))?;
        let doc = serde_json::from_str(&row.doc)?;
        Ok((row, doc))
    }

    pub async fn describe_managed_login_branding(
        &self,
        req: DescribeManagedLoginBrandingRequest,
    ) -> Result<DescribeManagedLoginBrandingResponse> {
        let (pool_row, _) = self.load_pool(&req.user_pool_id).await?;
        let (row, doc) = self.branding(&pool_row.id, &req.managed_login_branding_id).await?;
        Ok(DescribeManagedLoginBrandingResponse { managed_login_branding: Some(branding_type(&row, doc)) })
    }

    pub async fn describe_managed_login_branding_by_client(
        &self,
        req: DescribeManagedLoginBrandingByClientRequest,
    ) -> Result<DescribeManagedLoginBrandingByClientResponse> {
        let (pool_row, _) = self.load_pool(&req.user_pool_id).await?;
        let row = self.store.branding_of_client(&pool_row.id, &req.client_id).await?.ok_or_else(|| {
            Error::ResourceNotFound(format!("No managed login branding for app client {}.", req.client_id))
        })?;
        let doc = serde_json::from_str(&row.doc)?;
        Ok(DescribeManagedLoginBrandingByClientResponse { managed_login_branding: Some(branding_type(&row, doc)) })
    }

    /// Merges what is given into the style; `UseCognitoProvidedValues`
    /// returns it to Cognito's defaults.
    pub async fn update_managed_login_branding(
        &self,
        req: UpdateManagedLoginBrandingRequest,
    ) -> Result<UpdateManagedLoginBrandingResponse> {
        let (Some(pool_id), Some(id)) = (req.user_pool_id.as_deref(), req.managed_login_branding_id.as_deref()) else {
            return Err(Error::InvalidParameter("UserPoolId and ManagedLoginBrandingId are required.".into()));
        };
        let (pool_row, _) = self.load_pool(pool_id).await?;
        check(req.use_cognito_provided_values, &req.settings, &req.assets)?;
        let (mut row, mut doc) = self.branding(&pool_row.id, id).await?;
        if req.use_cognito_provided_values == Some(true) {
            doc = Doc { use_cognito_provided_values: true, ..Doc::default() };
        } else {
            if let Some(s) = req.settings {
                match &mut doc.settings {
                    Some(base) => merge(base, s),
                    None => doc.settings = Some(s),
                }
                doc.use_cognito_provided_values = false;
            }
            for a in req.assets.unwrap_or_default() {
                doc.assets.retain(|x| !(x.category == a.category && x.color_mode == a.color_mode));
                doc.assets.push(a);
                doc.use_cognito_provided_values = false;
            }
            if doc.assets.len() > MAX_ASSETS {
                return Err(Error::InvalidParameter(format!("A style holds at most {MAX_ASSETS} assets.")));
            }
        }
        row.doc = serde_json::to_string(&doc)?;
        row.updated_at = self.now();
        if !self.store.update_branding(&row).await? {
            return Err(not_found(id));
        }
        Ok(UpdateManagedLoginBrandingResponse { managed_login_branding: Some(branding_type(&row, doc)) })
    }

    pub async fn delete_managed_login_branding(&self, req: DeleteManagedLoginBrandingRequest) -> Result<()> {
        let (pool_row, _) = self.load_pool(&req.user_pool_id).await?;
        if !self.store.delete_branding(&pool_row.id, &req.managed_login_branding_id).await? {
            return Err(not_found(&req.managed_login_branding_id));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn settings_merge_keeps_what_an_update_does_not_name() {
        let mut base = json!({"components": {"primaryButton": {"lightMode": {"defaults": {"backgroundColor": "0972d3ff"}}}, "form": {"borderRadius": 8}}});
        merge(
            &mut base,
            json!({"components": {"primaryButton": {"lightMode": {"defaults": {"backgroundColor": "b41e3cff"}}}}}),
        );
        assert_eq!(base["components"]["primaryButton"]["lightMode"]["defaults"]["backgroundColor"], "b41e3cff");
        assert_eq!(base["components"]["form"]["borderRadius"], 8);
    }

    fn png(mode: ColorSchemeModeType, category: AssetCategoryType, marker: u8) -> AssetType {
        AssetType {
            bytes: Some(cognate_wire::Blob(vec![0x89, b'P', b'N', b'G', marker])),
            category,
            color_mode: mode,
            extension: AssetExtensionType::Png,
            resource_id: None,
        }
    }

    #[test]
    fn a_style_becomes_a_stylesheet_of_plain_values_only() {
        let settings = json!({
            "categories": {"global": {"colorSchemeMode": "LIGHT"}},
            "components": {
                "primaryButton": {"lightMode": {"defaults": {"backgroundColor": "B41E3Cff", "textColor": "ffffffff"}},
                                  "darkMode": {"defaults": {"backgroundColor": "000000ff"}}},
                "pageBackground": {"lightMode": {"color": "fdf6e3ff"}},
                "form": {"borderRadius": 16, "lightMode": {"backgroundColor": "ffffff; } body { display: none"}},
            },
            "componentClasses": {"buttons": {"borderRadius": 1000}, "link": {"lightMode": {"defaults": {"textColor": "b41e3c"}}}},
        });
        let doc = Doc { use_cognito_provided_values: false, settings: Some(settings), assets: vec![] };
        let look = style_look(&doc);
        assert!(
            look.css.contains(".submitButton-customizable {\n  background-color: #b41e3cff;\n  color: #ffffffff;\n}")
        );
        assert!(look.css.contains("body {\n  background-color: #fdf6e3ff;\n}"));
        assert!(look.css.contains(".panel {\n  border-radius: 16px;\n}"));
        assert!(look.css.contains(".redirect-customizable, .languages a {\n  color: #b41e3c;\n}"));
        // The dark scheme is not used by a light style; an injection and
        // an out-of-range radius are dropped.
        assert!(!look.css.contains("#000000ff") && !look.css.contains("display") && !look.css.contains("1000"));
        assert_eq!(look.image, None);
    }

    #[test]
    fn a_dynamic_style_adds_its_dark_scheme_and_assets_follow_the_scheme() {
        let settings = json!({
            "categories": {"global": {"colorSchemeMode": "DYNAMIC"}},
            "components": {"pageText": {"lightMode": {"headingColor": "111111ff"}, "darkMode": {"headingColor": "eeeeeeff"}}},
        });
        let assets = vec![
            png(ColorSchemeModeType::Dark, AssetCategoryType::FormLogo, 1),
            png(ColorSchemeModeType::Light, AssetCategoryType::FormLogo, 2),
            png(ColorSchemeModeType::Light, AssetCategoryType::PageBackground, 3),
        ];
        let look = style_look(&Doc { use_cognito_provided_values: false, settings: Some(settings), assets });
        assert!(
            look.css.contains("@media (prefers-color-scheme: dark) {\n.banner-customizable {\n  color: #eeeeeeff;")
        );
        assert!(look.css.contains("background-image: url(\"background\")"));
        assert_eq!(look.image.unwrap().0[4], 2);
        assert_eq!(look.background.unwrap().1, "image/png");
        let dark = json!({"categories": {"global": {"colorSchemeMode": "DARK"}}});
        let assets = vec![
            png(ColorSchemeModeType::Light, AssetCategoryType::FormLogo, 2),
            png(ColorSchemeModeType::Dark, AssetCategoryType::FormLogo, 1),
        ];
        let look = style_look(&Doc { use_cognito_provided_values: false, settings: Some(dark), assets });
        assert_eq!(look.image.unwrap().0[4], 1);
    }
}
