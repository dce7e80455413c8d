//! The built-in banner, "Cookie settings" link and preferences page: configuration, the
//! compiled texts of every offered language, and what each page view gets.
//!
//! Everything is server-rendered and works without JavaScript: the buttons are plain form
//! posts to the consent endpoint. The rewriter inserts the banner (or the link) before
//! `</body>`; the endpoint answers `GET` with the preferences page.

pub(crate) mod language;
pub(crate) mod render;
mod template;
pub(crate) mod texts;

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::consent::Categories;

use texts::{BUILT_IN_LANGUAGES, Texts};
pub use texts::{BannerTexts, CategoryTexts};

/// The stylesheet of the banner and the preferences page.
pub(crate) const BANNER_CSS: &str = include_str!("banner.css");
/// The stylesheet of the "Cookie settings" link: small, since every page of a visitor who
/// decided carries it.
pub(crate) const LINK_CSS: &str = include_str!("settings-link.css");

/// The attribute that marks the inserted banner and link.
pub(crate) const MARKER: &str = "data-tower-consent-banner";

/// The built-in banner and preferences page (`banner` in the configuration file).
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct BannerConfig {
    /// Insert the banner into HTML pages for visitors who have not decided (or decided on an
    /// earlier policy revision). Default: on.
    pub enabled: bool,
    /// The site's privacy policy (a path such as `/privacy` or an `https://` URL), linked from
    /// the banner and the preferences page. Default: none (no link).
    pub privacy_policy: Option<String>,
    /// The language shown when `Accept-Language` names none of `languages`. Default: `en`.
    pub default_language: String,
    /// The languages offered, as language tags. Built-in texts exist for `en`, `nl`, `de`,
    /// `fr`, `es`, `it`, `pl` and `pt`; any other needs every text in `texts`. Default: those
    /// eight.
    pub languages: Vec<String>,
    /// Insert a small "Cookie settings" link, to the preferences page, into HTML pages for
    /// visitors who have decided, so a choice can be withdrawn from any page. Default: on.
    pub settings_link: bool,
    /// Texts that replace the built-in ones, by language tag.
    pub texts: BTreeMap<String, BannerTexts>,
}

impl Default for BannerConfig {
    fn default() -> Self {
        BannerConfig {
            enabled: true,
            privacy_policy: None,
            default_language: "en".into(),
            languages: BUILT_IN_LANGUAGES.iter().map(|l| (*l).to_owned()).collect(),
            settings_link: true,
            texts: BTreeMap::new(),
        }
    }
}

/// Why a banner configuration cannot work; turned into a `ConfigError` by the caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum BannerError {
    /// `default_language` is not among `languages`, or `languages` is empty.
    DefaultLanguage(String),
    /// A language lacks a text (the key).
    MissingText { language: String, key: String },
    /// `texts` names a language that is not offered.
    TextsForUnofferedLanguage(String),
    /// The privacy policy link is not a path or an http(s) URL.
    PrivacyPolicy(String),
}

/// A wording visitors may be shown: its hash (recorded with each choice made on it), its
/// language and policy revision, and every text. See
/// [`ConsentLayer::wordings`](crate::ConsentLayer::wordings).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Wording {
    /// 32 hexadecimal digits.
    pub hash: String,
    /// The language tag.
    pub language: String,
    /// The policy revision.
    pub revision: u32,
    /// Every text by key (`title`, `accept_all`, ..., `categories.2.description` by
    /// category index).
    pub texts: Vec<(String, String)>,
}

/// The compiled banner of a layer.
#[derive(Debug)]
pub(crate) struct Banner {
    pub(crate) enabled: bool,
    pub(crate) settings_link: bool,
    pub(crate) privacy_policy: Option<String>,
    /// Lowercase language tags, in the configured order.
    pub(crate) languages: Vec<String>,
    pub(crate) default_language: usize,
    /// By language index.
    pub(crate) texts: Vec<Texts>,
    /// By language index.
    pub(crate) hashes: Vec<String>,
    pub(crate) revision: u32,
    /// The endpoint's path, where forms post and the preferences page is.
    pub(crate) endpoint: String,
    /// Where the endpoint serves the stylesheet (for pages whose CSP allows no inline style).
    pub(crate) stylesheet_path: String,
    /// The banner and the link of every language, rendered with holes for the page view.
    templates: template::Templates,
}

impl Banner {
    pub(crate) fn compile(
        config: &BannerConfig,
        categories: &Categories,
        revision: u32,
        endpoint: &str,
    ) -> Result<Banner, BannerError> {
        let languages: Vec<String> = config
            .languages
            .iter()
            .map(|l| l.to_ascii_lowercase())
            .collect();
        let default_tag = config.default_language.to_ascii_lowercase();
        let default_language = languages
            .iter()
            .position(|l| *l == default_tag)
            .ok_or_else(|| BannerError::DefaultLanguage(config.default_language.clone()))?;
        if let Some(unoffered) = config
            .texts
            .keys()
            .find(|l| !languages.contains(&l.to_ascii_lowercase()))
        {
            return Err(BannerError::TextsForUnofferedLanguage(unoffered.clone()));
        }
        let overrides_of = |language: &str| {
            config
                .texts
                .iter()
                .find(|(l, _)| l.eq_ignore_ascii_case(language))
                .map(|(_, t)| t)
        };
        fn missing(language: &str) -> impl FnOnce(String) -> BannerError + '_ {
            move |key| BannerError::MissingText {
                language: language.to_owned(),
                key,
            }
        }
        // The default language first: the others fall back to its texts for the site's own
        // categories.
        let default_texts =
            texts::compile(&default_tag, overrides_of(&default_tag), categories, None)
                .map_err(missing(&default_tag))?;
        let mut compiled = Vec::with_capacity(languages.len());
        for language in &languages {
            if *language == default_tag {
                compiled.push(default_texts.clone());
                continue;
            }
            let texts = texts::compile(
                language,
                overrides_of(language),
                categories,
                Some(&default_texts),
            )
            .map_err(missing(language))?;
            compiled.push(texts);
        }
        if let Some(link) = &config.privacy_policy {
            if !is_safe_link(link) {
                return Err(BannerError::PrivacyPolicy(link.clone()));
            }
        }
        let hashes = compiled
            .iter()
            .map(|t| texts::wording_hash(revision, config.privacy_policy.as_deref(), t))
            .collect();
        let mut banner = Banner {
            enabled: config.enabled,
            settings_link: config.settings_link,
            privacy_policy: config.privacy_policy.clone(),
            languages,
            default_language,
            texts: compiled,
            hashes,
            revision,
            endpoint: endpoint.to_owned(),
            stylesheet_path: stylesheet_path(endpoint),
            templates: template::Templates::default(),
        };
        banner.templates = template::Templates::build(&banner, categories);
        Ok(banner)
    }

    /// The language to show for an `Accept-Language` header.
    pub(crate) fn language(&self, accept_language: Option<&[u8]>) -> usize {
        language::negotiate(accept_language, &self.languages, self.default_language)
    }

    /// Whether `hash` names a wording of this layer.
    pub(crate) fn knows_wording(&self, hash: &str) -> bool {
        self.hashes.iter().any(|h| h == hash)
    }

    pub(crate) fn wordings(&self) -> Vec<Wording> {
        self.texts
            .iter()
            .zip(&self.hashes)
            .map(|(texts, hash)| Wording {
                hash: hash.clone(),
                language: texts.language.clone(),
                revision: self.revision,
                texts: texts
                    .entries()
                    .into_iter()
                    .map(|(k, v)| (k, v.to_owned()))
                    .collect(),
            })
            .collect()
    }
}

/// Where the endpoint at `endpoint` serves the stylesheet.
pub(crate) fn stylesheet_path(endpoint: &str) -> String {
    format!("{}/banner.css", endpoint.trim_end_matches('/'))
}

/// A link a visitor can follow without surprise: an absolute path, or an `http(s)` URL.
fn is_safe_link(link: &str) -> bool {
    let no_controls = !link.chars().any(|c| c.is_control() || c == ' ');
    let path = link.starts_with('/') && !link.starts_with("//") && !link.starts_with("/\\");
    let url = link.starts_with("https://") || link.starts_with("http://");
    no_controls && (path || url)
}

/// What one page view gets, decided from the request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Insert {
    /// The banner: the visitor has not decided.
    Banner,
    /// The "Cookie settings" link: the visitor has decided.
    SettingsLink,
}

/// The banner or link one HTML page view gets, known from the request; rendered once the
/// response turns out to be a rewritable page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PagePlan {
    pub(crate) insert: Insert,
    pub(crate) language: usize,
    /// The page's own path and query, where a choice made on it returns to.
    pub(crate) return_to: Box<str>,
    /// The request carries `Sec-GPC: 1`: the banner says the signal is honoured.
    pub(crate) gpc: bool,
}

impl PagePlan {
    /// The plan for a top-level page view of a visitor who has (`decided`) or has not made a
    /// choice; `None` when the configuration inserts nothing for them.
    pub(crate) fn new(
        banner: &Banner,
        decided: bool,
        gpc: bool,
        accept_language: Option<&[u8]>,
        path_and_query: &str,
    ) -> Option<PagePlan> {
        let insert = match decided {
            false if banner.enabled => Insert::Banner,
            true if banner.settings_link => Insert::SettingsLink,
            _ => return None,
        };
        let return_to = crate::endpoint::safe_return_path(path_and_query).unwrap_or("/");
        Some(PagePlan {
            insert,
            language: banner.language(accept_language),
            return_to: return_to.into(),
            gpc,
        })
    }

    /// What tells this variant of the page apart in its `ETag`: the insert, the language,
    /// whether the GPC notice shows, and the start of the wording's hash (a changed text or
    /// revision must not be revalidated as the old page).
    pub(crate) fn variant(&self, banner: &Banner) -> String {
        let kind = match self.insert {
            Insert::Banner => 'b',
            Insert::SettingsLink => 'l',
        };
        let gpc = if self.gpc && self.insert == Insert::Banner {
            "g"
        } else {
            ""
        };
        let wording = banner
            .hashes
            .get(self.language)
            .map_or("", |hash| &hash[..8.min(hash.len())]);
        format!("{kind}{}{gpc}-{wording}", self.language)
    }

    /// The skip link for right after `<body>`, when the banner is shown.
    pub(crate) fn skip_link(&self, settings: &crate::config::Settings) -> Option<Vec<u8>> {
        if self.insert != Insert::Banner {
            return None;
        }
        let banner = &settings.banner;
        Some(match banner.templates.skip_link(self.language) {
            Some(link) => link.to_vec(),
            None => render::skip_link(banner, self.language),
        })
    }

    /// The markup, styled as the response's `Content-Security-Policy` allows: the language's
    /// template filled in, or rendered in full where a text kept a template from being made.
    pub(crate) fn markup(
        &self,
        settings: &crate::config::Settings,
        headers: &http::HeaderMap,
    ) -> Vec<u8> {
        let banner = &settings.banner;
        let style = render::Style::for_response(headers);
        if let Some(template) = banner.templates.get(self.insert, self.language, self.gpc) {
            return template.render(&self.return_to, &style, &banner.stylesheet_path);
        }
        let page = render::Page {
            banner,
            categories: settings.categories(),
            language: self.language,
            return_to: &self.return_to,
            gpc: self.gpc,
        };
        match self.insert {
            Insert::Banner => render::banner(&page, &style),
            Insert::SettingsLink => render::settings_link(&page, &style),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn compile(config: &BannerConfig) -> Result<Banner, BannerError> {
        Banner::compile(config, &Categories::standard(), 1, "/consent")
    }

    #[test]
    fn defaults_offer_eight_languages() {
        let banner = compile(&BannerConfig::default()).unwrap();
        assert_eq!(banner.languages.len(), 8);
        assert_eq!(banner.texts[banner.default_language].language, "en");
        assert_eq!(banner.hashes.len(), 8);
        assert!(banner.knows_wording(&banner.hashes[3]));
        assert!(!banner.knows_wording("00"));
        assert_eq!(banner.stylesheet_path, "/consent/banner.css");
    }

    #[test]
    fn configuration_errors() {
        let config = BannerConfig {
            default_language: "sv".into(),
            ..BannerConfig::default()
        };
        assert_eq!(
            compile(&config).unwrap_err(),
            BannerError::DefaultLanguage("sv".into())
        );
        let config = BannerConfig {
            languages: vec!["en".into(), "sv".into()],
            ..BannerConfig::default()
        };
        assert!(matches!(
            compile(&config).unwrap_err(),
            BannerError::MissingText { language, key } if language == "sv" && key == "title"
        ));
        let mut config = BannerConfig::default();
        config.texts.insert("fi".into(), BannerTexts::default());
        assert_eq!(
            compile(&config).unwrap_err(),
            BannerError::TextsForUnofferedLanguage("fi".into())
        );
        for link in ["javascript:alert(1)", "//evil.example", "privacy", "/a b"] {
            let config = BannerConfig {
                privacy_policy: Some(link.into()),
                ..BannerConfig::default()
            };
            assert_eq!(
                compile(&config).unwrap_err(),
                BannerError::PrivacyPolicy(link.into()),
                "{link}"
            );
        }
        for link in ["/privacy", "https://example.com/privacy#cookies"] {
            let config = BannerConfig {
                privacy_policy: Some(link.into()),
                ..BannerConfig::default()
            };
            assert!(compile(&config).is_ok(), "{link}");
        }
    }
}
