//! The hosted pages' HTML: one layout, one form page (sign-in, sign-up,
//! codes, passwords, challenges) and an error page. Every value is escaped;
//! there is no inline script or style (the Content-Security-Policy forbids
//! both), and the pages work without JavaScript.

/// The stylesheet every page links (`/static/login.css`).
pub const CSS: &str = include_str!("login.css");

use crate::i18n::Lang;

/// `s` escaped for HTML text and double-quoted attribute values.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn layout(lang: Lang, title: &str, body: &str, stylesheet: Option<&str>) -> String {
    let extra = stylesheet.map(|s| format!("<link rel=\"stylesheet\" href=\"{}\">\n", esc(s))).unwrap_or_default();
    format!(
        "<!DOCTYPE html>\n<html lang=\"{}\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{}</title>\n<link rel=\"stylesheet\" href=\"/static/login.css\">\n{extra}</head>\n\
         <body class=\"background-customizable\">\n<main class=\"panel\">\n{body}</main>\n</body>\n</html>\n",
        lang.code(),
        esc(title)
    )
}

/// Links to the same page in each language: `base` is the page's path and
/// query without `lang`.
fn language_links(lang: Lang, base: &str) -> String {
    let sep = if base.contains('?') { "&amp;" } else { "?" };
    let mut nav = format!("<nav class=\"languages\" aria-label=\"{}\">", esc(lang.tr("Language")));
    for l in Lang::all() {
        let current = if l == lang { " aria-current=\"page\"" } else { "" };
        nav.push_str(&format!(
            "<a href=\"{}{sep}lang={code}\" hreflang=\"{code}\" lang=\"{code}\"{current}>{}</a> ",
            esc(base),
            esc(l.name()),
            code = l.code()
        ));
    }
    nav.push_str("</nav>\n");
    nav
}

/// One field of a form page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Field {
    /// A text value, with its `autocomplete` token and a prefilled value.
    Text { name: String, label: String, autocomplete: String, value: String },
    /// The password the user has.
    Password { name: String, label: String },
    /// A password the user chooses.
    NewPassword { name: String, label: String },
    /// A one-time code (`autocomplete="one-time-code"`).
    Code { name: String, label: String },
    /// One of several choices.
    Choice { name: String, label: String, options: Vec<(String, String)> },
}

impl Field {
    pub fn text(name: &str, label: &str, autocomplete: &str, value: &str) -> Field {
        Field::Text { name: name.into(), label: label.into(), autocomplete: autocomplete.into(), value: value.into() }
    }
}

/// What a form page shows: a heading, a line of text, an error or a notice,
/// the form (its hidden values, fields and button), and links below it.
#[derive(Debug, Clone, Default)]
pub struct Form<'a> {
    pub lang: Lang,
    pub heading: &'a str,
    pub text: &'a str,
    pub error: Option<&'a str>,
    pub notice: Option<&'a str>,
    pub action: &'a str,
    pub hidden: Vec<(&'a str, &'a str)>,
    pub fields: Vec<Field>,
    pub button: &'a str,
    /// (href, text).
    pub links: Vec<(String, &'a str)>,
    /// The client's customized stylesheet, after the default one.
    pub stylesheet: Option<String>,
    /// The client's logo, above the heading.
    pub logo: Option<String>,
    /// The page's path and query without `lang`, for links to it in the
    /// other languages (pages reached by a GET only).
    pub languages: Option<String>,
    /// Markup placed between the text and the form, already escaped (the
    /// QR code of an authenticator's key).
    pub figure: Option<String>,
    /// Instead of the one button: a button per (value, label), each
    /// submitting the form with `decision` = value.
    pub decisions: Vec<(&'a str, &'a str)>,
}

fn label(name: &str, text: &str) -> String {
    format!("<label class=\"label-customizable\" for=\"{}\">{}</label>\n", esc(name), esc(text))
}

fn input(name: &str, kind: &str, autocomplete: &str, extra: &str) -> String {
    format!(
        "<input class=\"inputField-customizable\" id=\"{n}\" name=\"{n}\" type=\"{kind}\" autocomplete=\"{autocomplete}\"{extra} required>\n",
        n = esc(name)
    )
}

/// A form page; `csrf` goes in its `_csrf` field.
pub fn form(f: &Form<'_>, csrf: &str) -> String {
    let mut body = String::new();
    if let Some(logo) = &f.logo {
        body.push_str(&format!("<img class=\"logo-customizable\" src=\"{}\" alt=\"\">\n", esc(logo)));
    }
    body.push_str(&format!("<h1 class=\"banner-customizable\">{}</h1>\n", esc(f.heading)));
    if !f.text.is_empty() {
        body.push_str(&format!("<p class=\"textDescription-customizable\">{}</p>\n", esc(f.text)));
    }
    if let Some(n) = f.notice {
        body.push_str(&format!("<p class=\"notice\" role=\"status\" id=\"notice\">{}</p>\n", esc(n)));
    }
    if let Some(e) = f.error {
        body.push_str(&format!(
            "<p class=\"errorMessage-customizable\" role=\"alert\" id=\"error\">{}</p>\n",
            esc(&f.lang.message(e))
        ));
    }
    if let Some(figure) = &f.figure {
        body.push_str(figure);
    }
    body.push_str(&format!("<form method=\"post\" action=\"{}\" class=\"form\">\n", esc(f.action)));
    body.push_str(&format!("<input type=\"hidden\" name=\"_csrf\" value=\"{}\">\n", esc(csrf)));
    for (name, value) in &f.hidden {
        body.push_str(&format!("<input type=\"hidden\" name=\"{}\" value=\"{}\">\n", esc(name), esc(value)));
    }
    for field in &f.fields {
        match field {
            Field::Text { name, label: l, autocomplete, value } => {
                body.push_str(&label(name, l));
                let value = format!(" value=\"{}\" autocapitalize=\"none\"", esc(value));
                body.push_str(&input(name, "text", autocomplete, &value));
            }
            Field::Password { name, label: l } => {
                body.push_str(&label(name, l));
                body.push_str(&input(name, "password", "current-password", ""));
            }
            Field::NewPassword { name, label: l } => {
                body.push_str(&label(name, l));
                body.push_str(&input(name, "password", "new-password", ""));
            }
            Field::Code { name, label: l } => {
                body.push_str(&label(name, l));
                body.push_str(&input(name, "text", "one-time-code", " inputmode=\"numeric\""));
            }
            Field::Choice { name, label: l, options } => {
                body.push_str(&format!(
                    "<fieldset class=\"choices\">\n<legend class=\"label-customizable\">{}</legend>\n",
                    esc(l)
                ));
                for (i, (value, text)) in options.iter().enumerate() {
                    let checked = if i == 0 { " checked" } else { "" };
                    body.push_str(&format!(
                        "<label class=\"choice\"><input type=\"radio\" name=\"{}\" value=\"{}\"{checked}> {}</label>\n",
                        esc(name),
                        esc(value),
                        esc(text)
                    ));
                }
                body.push_str("</fieldset>\n");
            }
        }
    }
    if f.decisions.is_empty() {
        body.push_str(&format!(
            "<button class=\"submitButton-customizable\" type=\"submit\">{}</button>\n",
            esc(f.button)
        ));
    }
    // The first decision is the form's own; the others need none of its
    // fields (a new code, a refusal), so they skip the browser's checks.
    for (i, (value, label)) in f.decisions.iter().enumerate() {
        let (class, skip) = if i > 0 { (" secondary", " formnovalidate") } else { ("", "") };
        body.push_str(&format!(
            "<button class=\"submitButton-customizable{class}\" type=\"submit\" name=\"decision\" value=\"{}\"{skip}>{}</button>\n",
            esc(value),
            esc(label)
        ));
    }
    body.push_str("</form>\n");
    if !f.links.is_empty() {
        body.push_str("<p class=\"links\">");
        let links: Vec<String> = f
            .links
            .iter()
            .map(|(href, text)| format!("<a class=\"redirect-customizable\" href=\"{}\">{}</a>", esc(href), esc(text)))
            .collect();
        body.push_str(&links.join(" "));
        body.push_str("</p>\n");
    }
    if let Some(base) = &f.languages {
        body.push_str(&language_links(f.lang, base));
    }
    layout(f.lang, f.heading, &body, f.stylesheet.as_deref())
}

/// `text` as a QR code drawn in SVG (black squares on white with a quiet
/// zone of four), or None when it is too long for one.
pub fn qr_svg(text: &str, label: &str) -> Option<String> {
    let code = qrcode::QrCode::with_error_correction_level(text.as_bytes(), qrcode::EcLevel::M).ok()?;
    let width = code.width();
    let colors = code.to_colors();
    // Each run of dark modules in a row is one rectangle.
    let mut path = String::new();
    for (y, row) in colors.chunks(width).enumerate() {
        let mut x = 0;
        while x < width {
            if row[x] == qrcode::Color::Dark {
                let run = row[x..].iter().take_while(|c| **c == qrcode::Color::Dark).count();
                path.push_str(&format!("M{} {}h{run}v1h-{run}z", x + 4, y + 4));
                x += run;
            } else {
                x += 1;
            }
        }
    }
    let size = width + 8;
    Some(format!(
        "<svg class=\"qr\" xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {size} {size}\" width=\"200\" height=\"200\" \
         role=\"img\" aria-label=\"{}\" shape-rendering=\"crispEdges\"><rect width=\"{size}\" height=\"{size}\" fill=\"#fff\"/>\
         <path d=\"{path}\" fill=\"#000\"/></svg>\n",
        esc(label)
    ))
}

/// A page that only tells something (a confirmed registration).
pub fn message(lang: Lang, text: &'static str) -> String {
    let text = lang.tr(text);
    let body = format!("<h1 class=\"banner-customizable\" role=\"status\">{}</h1>\n", esc(text));
    layout(lang, text, &body, None)
}

/// Cognito's error page: the message, and nothing to follow.
pub fn error(lang: Lang, message: &str) -> String {
    let body = format!(
        "<h1 class=\"banner-customizable\">{}</h1>\n\
         <p class=\"errorMessage-customizable\" role=\"alert\" id=\"error\">{}</p>\n",
        esc(lang.tr("An error was encountered with the requested page.")),
        esc(&lang.message(message))
    );
    layout(lang, lang.tr("Error"), &body, None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_escaped() {
        let page = form(
            &Form {
                heading: "Sign in to <app>",
                error: Some("<b>bad</b>"),
                action: "/login?a=1&b=\"x\"",
                hidden: vec![("k", "v'")],
                fields: vec![Field::text("username", "Username", "username", "o'neil")],
                button: "Sign in",
                links: vec![("/signup?a=1&b=2".into(), "Sign up")],
                ..Default::default()
            },
            "t<>",
        );
        assert!(page.contains("action=\"/login?a=1&amp;b=&quot;x&quot;\""));
        assert!(page.contains("value=\"t&lt;&gt;\""));
        assert!(page.contains("Sign in to &lt;app&gt;"));
        assert!(page.contains("value=\"o&#39;neil\""));
        assert!(page.contains("value=\"v&#39;\""));
        assert!(page.contains("&lt;b&gt;bad&lt;/b&gt;"));
        assert!(page.contains("href=\"/signup?a=1&amp;b=2\""));
        assert!(!page.contains("<script") && !page.contains("style="));
    }

    #[test]
    fn a_page_is_in_its_language_with_links_to_the_others() {
        let de = Lang::parse("de").unwrap();
        let page = form(
            &Form {
                lang: de,
                heading: de.tr("Sign in"),
                error: Some("Incorrect username or password."),
                action: "/login",
                button: de.tr("Sign in"),
                languages: Some("/login?client_id=abc".into()),
                ..Default::default()
            },
            "t",
        );
        assert!(page.contains("<html lang=\"de\">"));
        assert!(page.contains(&format!("<h1 class=\"banner-customizable\">{}</h1>", de.tr("Sign in"))));
        assert!(!page.contains("Incorrect username or password."), "the service's message is translated");
        assert!(page.contains("href=\"/login?client_id=abc&amp;lang=ja\" hreflang=\"ja\" lang=\"ja\">日本語</a>"));
        assert!(page.contains("lang=\"de\" aria-current=\"page\">Deutsch</a>"));
    }

    #[test]
    fn a_qr_code_is_drawn_in_svg() {
        let svg = qr_svg("otpauth://totp/Pool:bea?secret=JBSWY3DPEHPK3PXP&issuer=Pool", "Key").unwrap();
        assert!(svg.starts_with("<svg class=\"qr\"") && svg.contains("aria-label=\"Key\""));
        // Version 4 at level M: 33 modules and a quiet zone of 4 each side.
        assert!(svg.contains("viewBox=\"0 0 41 41\""), "{svg}");
        // The finder patterns' top rows (7 dark modules) at three corners,
        // and the left finder's second row (dark, 5 light, dark).
        assert!(svg.contains("M4 4h7v1h-7z") && svg.contains("M30 4h7v1h-7z") && svg.contains("M4 30h7v1h-7z"));
        assert!(svg.contains("M4 5h1v1h-1zM10 5h1v1h-1z"));
        assert!(qr_svg(&"x".repeat(5000), "Key").is_none());
    }
}
