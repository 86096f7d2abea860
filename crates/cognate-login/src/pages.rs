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
