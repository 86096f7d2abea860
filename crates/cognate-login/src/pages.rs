//! The hosted pages' HTML: one layout, a sign-in form and an error page.
//! Every value is escaped; there is no inline script or style (the
//! Content-Security-Policy forbids both), and the pages work without
//! JavaScript.

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

fn layout(title: &str, body: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{}</title>\n<link rel=\"stylesheet\" href=\"/static/login.css\">\n</head>\n\
         <body class=\"background-customizable\">\n<main class=\"panel\">\n{body}</main>\n</body>\n</html>\n",
        esc(title)
    )
}

/// The sign-in form. `action` is `/login?{the authorize parameters}`.
pub fn sign_in(action: &str, csrf: &str, client_name: &str, username: &str, error: Option<&str>) -> String {
    let error = error
        .map(|e| format!("<p class=\"errorMessage-customizable\" role=\"alert\" id=\"error\">{}</p>\n", esc(e)))
        .unwrap_or_default();
    let heading = if client_name.is_empty() { "Sign in".to_string() } else { format!("Sign in to {client_name}") };
    let body = format!(
        "<h1 class=\"banner-customizable\">{heading}</h1>\n{error}\
         <form method=\"post\" action=\"{action}\" class=\"form\">\n\
         <input type=\"hidden\" name=\"_csrf\" value=\"{csrf}\">\n\
         <label class=\"label-customizable\" for=\"username\">Username</label>\n\
         <input class=\"inputField-customizable\" id=\"username\" name=\"username\" type=\"text\" \
         autocomplete=\"username\" autocapitalize=\"none\" required value=\"{username}\">\n\
         <label class=\"label-customizable\" for=\"password\">Password</label>\n\
         <input class=\"inputField-customizable\" id=\"password\" name=\"password\" type=\"password\" \
         autocomplete=\"current-password\" required>\n\
         <button class=\"submitButton-customizable\" type=\"submit\" name=\"signInSubmitButton\" value=\"Sign in\">Sign in</button>\n\
         </form>\n",
        heading = esc(&heading),
        action = esc(action),
        csrf = esc(csrf),
        username = esc(username),
    );
    layout("Sign in", &body)
}

/// One field of a challenge page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Field {
    /// A one-time code (`autocomplete="one-time-code"`).
    Code { name: String, label: String },
    /// A new password.
    NewPassword { name: String, label: String },
    /// A text value (a required attribute).
    Text { name: String, label: String },
    /// One of several choices.
    Choice { name: String, label: String, options: Vec<(String, String)> },
}

/// A challenge page: what the step asks, with the sealed session and the
/// challenge's name carried by hidden fields.
#[allow(clippy::too_many_arguments)]
pub fn challenge(
    action: &str,
    csrf: &str,
    heading: &str,
    text: &str,
    challenge: &str,
    session: &str,
    parameters: &str,
    fields: &[Field],
    error: Option<&str>,
) -> String {
    let error = error
        .map(|e| format!("<p class=\"errorMessage-customizable\" role=\"alert\" id=\"error\">{}</p>\n", esc(e)))
        .unwrap_or_default();
    let mut inputs = String::new();
    for f in fields {
        match f {
            Field::Code { name, label } => inputs.push_str(&format!(
                "<label class=\"label-customizable\" for=\"{n}\">{l}</label>\n\
                 <input class=\"inputField-customizable\" id=\"{n}\" name=\"{n}\" type=\"text\" inputmode=\"numeric\" \
                 autocomplete=\"one-time-code\" required>\n",
                n = esc(name),
                l = esc(label)
            )),
            Field::NewPassword { name, label } => inputs.push_str(&format!(
                "<label class=\"label-customizable\" for=\"{n}\">{l}</label>\n\
                 <input class=\"inputField-customizable\" id=\"{n}\" name=\"{n}\" type=\"password\" \
                 autocomplete=\"new-password\" required>\n",
                n = esc(name),
                l = esc(label)
            )),
            Field::Text { name, label } => inputs.push_str(&format!(
                "<label class=\"label-customizable\" for=\"{n}\">{l}</label>\n\
                 <input class=\"inputField-customizable\" id=\"{n}\" name=\"{n}\" type=\"text\" required>\n",
                n = esc(name),
                l = esc(label)
            )),
            Field::Choice { name, label, options } => {
                inputs.push_str(&format!(
                    "<fieldset class=\"choices\">\n<legend class=\"label-customizable\">{}</legend>\n",
                    esc(label)
                ));
                for (i, (value, text)) in options.iter().enumerate() {
                    let checked = if i == 0 { " checked" } else { "" };
                    inputs.push_str(&format!(
                        "<label class=\"choice\"><input type=\"radio\" name=\"{n}\" value=\"{v}\"{checked}> {t}</label>\n",
                        n = esc(name),
                        v = esc(value),
                        t = esc(text)
                    ));
                }
                inputs.push_str("</fieldset>\n");
            }
        }
    }
    let body = format!(
        "<h1 class=\"banner-customizable\">{heading}</h1>\n<p class=\"textDescription-customizable\">{text}</p>\n{error}\
         <form method=\"post\" action=\"{action}\" class=\"form\">\n\
         <input type=\"hidden\" name=\"_csrf\" value=\"{csrf}\">\n\
         <input type=\"hidden\" name=\"challenge\" value=\"{challenge}\">\n\
         <input type=\"hidden\" name=\"session\" value=\"{session}\">\n\
         <input type=\"hidden\" name=\"parameters\" value=\"{parameters}\">\n\
         {inputs}<button class=\"submitButton-customizable\" type=\"submit\">Continue</button>\n</form>\n",
        heading = esc(heading),
        text = esc(text),
        action = esc(action),
        csrf = esc(csrf),
        challenge = esc(challenge),
        session = esc(session),
        parameters = esc(parameters),
    );
    layout(heading, &body)
}

/// Cognito's error page: the message, and nothing to follow.
pub fn error(message: &str) -> String {
    let body = format!(
        "<h1 class=\"banner-customizable\">An error was encountered with the requested page.</h1>\n\
         <p class=\"errorMessage-customizable\" role=\"alert\" id=\"error\">{}</p>\n",
        esc(message)
    );
    layout("Error", &body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_escaped() {
        let page = sign_in("/login?a=1&b=\"x\"", "t<>", "<app>", "o'neil", Some("<b>bad</b>"));
        assert!(page.contains("action=\"/login?a=1&amp;b=&quot;x&quot;\""));
        assert!(page.contains("value=\"t&lt;&gt;\""));
        assert!(page.contains("Sign in to &lt;app&gt;"));
        assert!(page.contains("value=\"o&#39;neil\""));
        assert!(page.contains("&lt;b&gt;bad&lt;/b&gt;"));
        assert!(!page.contains("<script") && !page.contains("style="));
    }
}
