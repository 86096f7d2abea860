//! The hosted pages' HTML: one layout, one form page (sign-in, sign-up,
//! codes, passwords, challenges) and an error page. Every value is escaped;
//! there is no inline script or style (the Content-Security-Policy forbids
//! both), and the pages work without JavaScript.

/// The stylesheet every page links (`/static/login.css`).
pub const CSS: &str = include_str!("login.css");

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

fn layout(title: &str, body: &str, stylesheet: Option<&str>) -> String {
    let extra = stylesheet.map(|s| format!("<link rel=\"stylesheet\" href=\"{}\">\n", esc(s))).unwrap_or_default();
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{}</title>\n<link rel=\"stylesheet\" href=\"/static/login.css\">\n{extra}</head>\n\
         <body class=\"background-customizable\">\n<main class=\"panel\">\n{body}</main>\n</body>\n</html>\n",
        esc(title)
    )
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
        body.push_str(&format!("<p class=\"errorMessage-customizable\" role=\"alert\" id=\"error\">{}</p>\n", esc(e)));
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
    body.push_str(&format!(
        "<button class=\"submitButton-customizable\" type=\"submit\">{}</button>\n</form>\n",
        esc(f.button)
    ));
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
    layout(f.heading, &body, f.stylesheet.as_deref())
}

/// A page that only tells something (a confirmed registration).
pub fn message(text: &str) -> String {
    let body = format!("<h1 class=\"banner-customizable\" role=\"status\">{}</h1>\n", esc(text));
    layout(text, &body, None)
}

/// Cognito's error page: the message, and nothing to follow.
pub fn error(message: &str) -> String {
    let body = format!(
        "<h1 class=\"banner-customizable\">An error was encountered with the requested page.</h1>\n\
         <p class=\"errorMessage-customizable\" role=\"alert\" id=\"error\">{}</p>\n",
        esc(message)
    );
    layout("Error", &body, None)
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
}
