//! The pages' languages: the 11 of Cognito's managed login, chosen by the
//! `lang` parameter (and then remembered in the `lang` cookie), else by
//! that cookie, else by the browser's Accept-Language, else English.
//!
//! The words live in `strings.txt`, keyed by their English; `Lang::tr`
//! looks a text up. A text the catalog lacks is shown in English (a unit
//! test makes sure every text the code names is there).

use std::collections::HashMap;
use std::sync::LazyLock;

/// The languages, in `strings.txt`'s order (English first).
const CODES: [&str; 11] = ["en", "de", "es", "fr", "id", "it", "ja", "ko", "pt-BR", "zh-CN", "zh-TW"];

/// Each language's name in itself, for the language links.
const NAMES: [&str; 11] = [
    "English",
    "Deutsch",
    "Español",
    "Français",
    "Bahasa Indonesia",
    "Italiano",
    "日本語",
    "한국어",
    "Português (Brasil)",
    "简体中文",
    "繁體中文",
];

/// The cookie that remembers a language chosen with `lang`.
pub const LANG_COOKIE: &str = "lang";

/// How long the cookie remembers it: a year.
pub const LANG_COOKIE_MAX_AGE: i64 = 365 * 24 * 3600;

/// A page's language.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Lang(usize);

type Catalog = HashMap<&'static str, [&'static str; 11]>;

static CATALOG: LazyLock<Catalog> = LazyLock::new(|| parse(include_str!("strings.txt")).0);

/// The blocks of `strings.txt`, and what is wrong with it (for the test).
fn parse(text: &'static str) -> (Catalog, Vec<String>) {
    let mut catalog = HashMap::new();
    let mut problems = Vec::new();
    let lines = text.lines().filter(|l| !l.starts_with('#'));
    let mut block: Vec<&'static str> = Vec::new();
    let mut flush = |block: &mut Vec<&'static str>| {
        if block.is_empty() {
            return;
        }
        let mut texts = [""; 11];
        for (i, line) in block.iter().enumerate() {
            match line.split_once(": ") {
                Some((code, text)) if CODES.get(i) == Some(&code) => texts[i] = text,
                _ => problems
                    .push(format!("line {line:?} is not the {} line of its block", CODES.get(i).unwrap_or(&"?"))),
            }
        }
        if block.len() != CODES.len() {
            problems.push(format!("the block of {:?} has {} lines, not {}", block[0], block.len(), CODES.len()));
        }
        let holes = texts[0].matches("{}").count();
        for (i, t) in texts.iter().enumerate() {
            if t.matches("{}").count() != holes {
                problems.push(format!("{}: {t:?} does not keep the {{}} of {:?}", CODES[i], texts[0]));
            }
        }
        if catalog.insert(texts[0], texts).is_some() {
            problems.push(format!("{:?} is there twice", texts[0]));
        }
        block.clear();
    };
    for line in lines {
        if line.trim().is_empty() {
            flush(&mut block);
        } else {
            block.push(line);
        }
    }
    flush(&mut block);
    (catalog, problems)
}

impl Lang {
    pub const EN: Lang = Lang(0);

    /// Every language, English first.
    pub fn all() -> impl Iterator<Item = Lang> {
        (0..CODES.len()).map(Lang)
    }

    /// The language a `lang` value or an Accept-Language tag names: exactly
    /// (in any case), or by its first part (`de-AT` is German; Portuguese is
    /// Brazilian; Chinese is simplified unless Taiwan, Hong Kong, Macau or
    /// `Hant` is named).
    pub fn parse(tag: &str) -> Option<Lang> {
        let tag = tag.trim();
        if let Some(i) = CODES.iter().position(|c| c.eq_ignore_ascii_case(tag)) {
            return Some(Lang(i));
        }
        let lower = tag.to_ascii_lowercase();
        let mut parts = lower.split(['-', '_']);
        let code = match parts.next()? {
            "pt" => "pt-BR",
            "zh" if parts.any(|p| matches!(p, "tw" | "hk" | "mo" | "hant")) => "zh-TW",
            "zh" => "zh-CN",
            primary => primary,
        };
        CODES.iter().position(|c| *c == code).map(Lang)
    }

    /// The language of a request: `lang`, else the cookie, else the first
    /// of the browser's languages that the pages speak, else English.
    pub fn choose(param: Option<&str>, cookie: Option<&str>, accept_language: Option<&str>) -> Lang {
        param
            .and_then(Lang::parse)
            .or_else(|| cookie.and_then(Lang::parse))
            .or_else(|| accept_language?.split(',').find_map(|t| Lang::parse(t.split(';').next()?)))
            .unwrap_or(Lang::EN)
    }

    /// The BCP 47 tag (`pt-BR`), for `<html lang>` and the cookie.
    pub fn code(self) -> &'static str {
        CODES[self.0]
    }

    /// The language's own name.
    pub fn name(self) -> &'static str {
        NAMES[self.0]
    }

    /// `english` in this language.
    pub fn tr(self, english: &'static str) -> &'static str {
        CATALOG.get(english).map_or(english, |t| t[self.0])
    }

    /// `english` with `{}` replaced by `value`, in this language.
    pub fn fill(self, english: &'static str, value: &str) -> String {
        self.tr(english).replacen("{}", value, 1)
    }

    /// A message of the service in this language when the catalog has it,
    /// else as it is.
    pub fn message(self, message: &str) -> String {
        match CATALOG.get(message) {
            Some(t) => t[self.0].to_string(),
            None => message.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_catalog_is_whole() {
        let (catalog, problems) = parse(include_str!("strings.txt"));
        assert_eq!(problems, Vec::<String>::new());
        // Every literal the code passes to tr / fill is in the catalog.
        let sources =
            [include_str!("pages.rs"), include_str!("signin.rs"), include_str!("lib.rs"), include_str!("device.rs")];
        let mut asked = 0;
        for source in sources {
            for call in [".tr(\"", ".fill(\"", "message(lang, \""] {
                for (at, _) in source.match_indices(call) {
                    let rest = &source[at + call.len()..];
                    let text = &rest[..rest.find('"').unwrap()];
                    assert!(catalog.contains_key(text), "{text:?} is not in strings.txt");
                    asked += 1;
                }
            }
        }
        assert!(asked > 40, "only {asked} texts found: the scan no longer sees the calls");
    }

    #[test]
    fn a_language_is_chosen_by_parameter_then_cookie_then_browser() {
        let de = Lang::parse("de").unwrap();
        let fr = Lang::parse("fr").unwrap();
        assert_eq!(Lang::choose(Some("de"), Some("fr"), Some("ja")), de);
        assert_eq!(Lang::choose(Some("xx"), Some("fr"), Some("ja")), fr);
        assert_eq!(Lang::choose(None, None, Some("nl-NL,de-AT;q=0.8,en;q=0.5")), de);
        assert_eq!(Lang::choose(None, None, Some("nl")), Lang::EN);
        assert_eq!(Lang::choose(None, None, None), Lang::EN);
        assert_eq!(Lang::parse("PT-br").unwrap().code(), "pt-BR");
        assert_eq!(Lang::parse("pt-PT").unwrap().code(), "pt-BR");
        assert_eq!(Lang::parse("zh-Hant-HK").unwrap().code(), "zh-TW");
        assert_eq!(Lang::parse("zh").unwrap().code(), "zh-CN");
        assert_eq!(Lang::all().count(), 11);
    }

    #[test]
    fn texts_are_translated_and_filled() {
        let de = Lang::parse("de").unwrap();
        assert_ne!(de.tr("Sign in"), "Sign in");
        assert!(de.fill("We sent a code to {}.", "b***@e***").contains("b***@e***"));
        assert_eq!(Lang::EN.tr("Sign in"), "Sign in");
        assert_eq!(de.message("No such message, left as it is."), "No such message, left as it is.");
        assert_ne!(de.message("Incorrect username or password."), "Incorrect username or password.");
    }
}
