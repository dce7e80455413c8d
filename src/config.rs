//! Configuration: [`ConsentConfig`] (plain data, deserialisable), the [`ConsentLayerBuilder`]
//! around it, and the checked, compiled [`Settings`] every request reads.

use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::Deserialize;

use crate::ConsentLayer;
use crate::banner::{Banner, BannerConfig, BannerError, BannerTexts};
use crate::catalog::trackers::Trackers;
use crate::catalog::{Catalog, CookieRule, NamePattern, built_in_rules};
use crate::codec::Codec;
use crate::consent::{Categories, Category, CategorySet, InvalidCategoryName, MAX_CATEGORIES};
use crate::cookies::CookieFinder;
use crate::html::consent_mode::{ConsentModeConfig, Signals};
use crate::html::{BlockMode, Limits, Rules};
use crate::request::ConsentReader;
use crate::sink::{ConsentSink, JsonLinesSink};

/// Six months, as the CNIL recommends keeping a choice before asking again.
pub const DEFAULT_MAX_AGE: Duration = Duration::from_secs(180 * 24 * 60 * 60);

/// The layer's configuration as plain data, deserialisable from JSON (or any serde format).
///
/// Every field has a default; [`ConsentLayerBuilder`] sets the same values from code. Nothing is
/// checked until the layer is built.
///
/// ```
/// let config: tower_consent::ConsentConfig = serde_json::from_str(r#"{
///     "categories": ["preferences", "analytics", "marketing", "social"],
///     "policy_revision": 2,
///     "cookie": { "domain": "example.com" },
///     "cookies": [{ "name": "ab_*", "category": "analytics", "service": "Our A/B tests" }]
/// }"#).unwrap();
/// let layer = tower_consent::ConsentLayer::builder_from(config).build().unwrap();
/// # drop(layer);
/// ```
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct ConsentConfig {
    /// The optional categories, in the order the visitor sees them. `necessary` is always there
    /// and is not listed. Default: `preferences`, `analytics`, `marketing`.
    pub categories: Vec<String>,
    /// Categories that count as sale or sharing of personal data: denied while a request carries
    /// `Sec-GPC: 1`, unless the visitor granted them while sending the signal. Default:
    /// `marketing`.
    pub gpc_categories: Vec<String>,
    /// The revision of the site's cookie policy; raising it makes every earlier choice undecided,
    /// so visitors are asked again. Default: 1.
    pub policy_revision: u32,
    /// The consent cookie.
    pub cookie: CookieConfig,
    /// The consent endpoint.
    pub endpoint: EndpointConfig,
    /// The site's own cookies, which take precedence over the built-in rules.
    pub cookies: Vec<CookieDeclaration>,
    /// The site's own tracker hosts (a self-hosted Matomo, a server-side tag manager on a
    /// subdomain, a first-party proxy path). The most specific rule for a URL wins, the site's
    /// or a built-in one: the longer host, then the longer path; the site's rule wins only
    /// for the same host and path. To change how a built-in rule classifies a URL, declare
    /// its host and path exactly (a rule for `google.com` leaves the built-in
    /// `www.google.com/recaptcha` rule in force for reCAPTCHA).
    pub hosts: Vec<HostDeclaration>,
    /// The site's own inline-script signatures.
    pub signatures: Vec<SignatureDeclaration>,
    /// Built-in services switched off by name (as `CATALOG.md` lists them): none of their
    /// cookies, hosts or signatures are known any more.
    pub disable: Vec<String>,
    /// Built-in services the site uses, by name: listed (with the services its own rules
    /// name) by [`ConsentLayer::services`], for the preferences page and handlers. Every
    /// built-in service is recognised and blocked either way.
    pub services: Vec<String>,
    /// What to do with a `Set-Cookie` whose cookie no rule knows. Default: allow.
    pub unknown_cookies: UnknownCookies,
    /// Decide everything but change nothing; log what would have been removed. Default: off.
    pub report_only: bool,
    /// The JSON Lines file recorded choices are appended to, unless a sink is set from code.
    /// Default: `consent-log.jsonl` in the working directory, created on the first choice.
    pub consent_log: PathBuf,
    /// The HTML rewriter.
    pub html: HtmlConfig,
    /// Google Consent Mode v2.
    pub consent_mode: ConsentModeConfig,
    /// The built-in banner, "Cookie settings" link and preferences page.
    pub banner: BannerConfig,
}

/// A configuration file that could not be loaded: [`ConsentConfig::from_file`].
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigFileError {
    /// The file could not be read.
    #[error("{path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The file is not a valid configuration.
    #[error("{path}: {field}: {message}")]
    Invalid {
        /// The file.
        path: PathBuf,
        /// The key, dotted from the top (`cookie.max_age_secs`; `.` for the whole file).
        field: String,
        /// What was wrong and what was expected, with the line and column.
        message: String,
    },
    /// A `.toml` file, and the `toml` feature is off.
    #[error("{path}: reading TOML needs the `toml` feature of tower-consent")]
    TomlNotEnabled {
        /// The file.
        path: PathBuf,
    },
}

impl ConsentConfig {
    /// Reads a configuration file: TOML when its name ends in `.toml` (with the `toml`
    /// feature), JSON otherwise. Errors name the file, the key and what was expected.
    ///
    /// ```
    /// let path = std::env::temp_dir().join("tower-consent-doc.json");
    /// std::fs::write(&path, r#"{"cookie": {"max_age_secs": "long"}}"#).unwrap();
    /// let error = tower_consent::ConsentConfig::from_file(&path).unwrap_err();
    /// assert!(error.to_string().contains("cookie.max_age_secs: invalid type: string \"long\", expected u64"));
    /// ```
    pub fn from_file(path: impl AsRef<std::path::Path>) -> Result<Self, ConfigFileError> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|source| ConfigFileError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        let toml = path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("toml"));
        if toml {
            Self::from_toml(&text, path)
        } else {
            Self::from_json(&text, path)
        }
    }

    fn from_json(text: &str, path: &std::path::Path) -> Result<Self, ConfigFileError> {
        let mut deserializer = serde_json::Deserializer::from_str(text);
        let config: Self = serde_path_to_error::deserialize(&mut deserializer)
            .map_err(|e| invalid(path, e.path().to_string(), e.inner().to_string()))?;
        deserializer
            .end()
            .map_err(|e| invalid(path, ".".into(), e.to_string()))?;
        Ok(config)
    }

    #[cfg(feature = "toml")]
    fn from_toml(text: &str, path: &std::path::Path) -> Result<Self, ConfigFileError> {
        let deserializer = toml::Deserializer::parse(text)
            .map_err(|e| invalid(path, ".".into(), e.to_string().trim_end().to_string()))?;
        serde_path_to_error::deserialize(deserializer).map_err(|e| {
            invalid(
                path,
                e.path().to_string(),
                e.inner().to_string().trim_end().to_string(),
            )
        })
    }

    #[cfg(not(feature = "toml"))]
    fn from_toml(_text: &str, path: &std::path::Path) -> Result<Self, ConfigFileError> {
        Err(ConfigFileError::TomlNotEnabled {
            path: path.to_path_buf(),
        })
    }
}

fn invalid(path: &std::path::Path, field: String, message: String) -> ConfigFileError {
    ConfigFileError::Invalid {
        path: path.to_path_buf(),
        field,
        message,
    }
}

/// The HTML rewriter: whether it runs, how it blocks, and how much it may hold back.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct HtmlConfig {
    /// Rewrite HTML responses. Default: true.
    pub rewrite: bool,
    /// How a blocked element is blocked: `"neutralise"` (kept, inert) or `"remove"`.
    /// Default: `"neutralise"`.
    pub block_mode: BlockMode,
    /// The longest tag read whole, in bytes. A longer script tag is made inert; any other
    /// longer tag is judged on the attributes within the bound. Default: 64 KiB.
    pub max_tag_bytes: usize,
    /// The longest inline script held back until its text is classified, start tag included.
    /// A longer one is made inert. Default: 64 KiB.
    pub max_inline_script_bytes: usize,
    /// How much of a `<noscript>` is read as markup (what a browser without scripting shows);
    /// the rest passes unchanged. Default: 64 KiB.
    pub max_noscript_bytes: usize,
}

impl Default for HtmlConfig {
    fn default() -> Self {
        let limits = Limits::default();
        HtmlConfig {
            rewrite: true,
            block_mode: BlockMode::Neutralise,
            max_tag_bytes: limits.max_tag,
            max_inline_script_bytes: limits.max_script,
            max_noscript_bytes: limits.max_noscript,
        }
    }
}

impl Default for ConsentConfig {
    fn default() -> Self {
        ConsentConfig {
            categories: vec!["preferences".into(), "analytics".into(), "marketing".into()],
            gpc_categories: vec!["marketing".into()],
            policy_revision: 1,
            cookie: CookieConfig::default(),
            endpoint: EndpointConfig::default(),
            cookies: Vec::new(),
            hosts: Vec::new(),
            signatures: Vec::new(),
            disable: Vec::new(),
            services: Vec::new(),
            unknown_cookies: UnknownCookies::Allow,
            report_only: false,
            consent_log: PathBuf::from("consent-log.jsonl"),
            html: HtmlConfig::default(),
            consent_mode: ConsentModeConfig::default(),
            banner: BannerConfig::default(),
        }
    }
}

/// The consent cookie's name and attributes.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct CookieConfig {
    /// The name, before any prefix. Default: `consent`. A secure cookie without a domain is
    /// named `__Host-consent`; a secure one with a domain `__Secure-consent`.
    pub name: String,
    /// A parent domain to share the choice across subdomains (`example.com`). Default: none,
    /// a host-only cookie.
    pub domain: Option<String>,
    /// Send the cookie over HTTPS only. Default: true. Turn off only for local development over
    /// plain HTTP: browsers drop `Secure` cookies set by `http://` pages other than
    /// `http://localhost`.
    pub secure: bool,
    /// How long a choice is kept, in seconds. Default: six months.
    pub max_age_secs: u64,
}

impl Default for CookieConfig {
    fn default() -> Self {
        CookieConfig {
            name: "consent".into(),
            domain: None,
            secure: true,
            max_age_secs: DEFAULT_MAX_AGE.as_secs(),
        }
    }
}

/// The endpoint choices are posted to.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct EndpointConfig {
    /// The path. Default: `/consent`.
    pub path: String,
    /// The largest request body accepted, in bytes. Default: 8 KiB.
    pub max_body_bytes: usize,
    /// Origins (`https://www.example.com`) besides the request's own host from which choices
    /// may be posted: needed behind a proxy that rewrites `Host`. Default: none.
    pub allowed_origins: Vec<String>,
}

impl Default for EndpointConfig {
    fn default() -> Self {
        EndpointConfig {
            path: "/consent".into(),
            max_body_bytes: 8 * 1024,
            allowed_origins: Vec::new(),
        }
    }
}

/// A cookie of the site's own, and its category.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct CookieDeclaration {
    /// The cookie's name, or a prefix followed by `*` (`ab_test_*`).
    pub name: String,
    /// Its category (`necessary` for cookies that must never be removed).
    pub category: String,
    /// The service that sets it, for people reading logs and the preferences page.
    #[serde(default)]
    pub service: Option<String>,
}

/// A host (and path) the site declares: URLs there belong to a category.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct HostDeclaration {
    /// The host (`stats.example.com`, covering its subdomains). Absent: the page's own host,
    /// for relative URLs (`/js/script.js` of a first-party proxy); list the host too for
    /// absolute URLs to it.
    #[serde(default)]
    pub host: Option<String>,
    /// Only URLs whose path starts with this (`/js/`). Default: the whole host.
    #[serde(default)]
    pub path: Option<String>,
    /// The category.
    pub category: String,
    /// The service, for people reading logs and the preferences page.
    #[serde(default)]
    pub service: Option<String>,
}

/// Text that marks an inline script as the site's own tracker loader.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct SignatureDeclaration {
    /// Text found in the script (compared without regard to ASCII case).
    pub text: String,
    /// The category.
    pub category: String,
    /// The service.
    #[serde(default)]
    pub service: Option<String>,
}

/// What to do with a cookie no rule knows.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum UnknownCookies {
    /// Keep it, and log one warning per cookie name so it can be declared.
    #[default]
    Allow,
    /// Treat it as belonging to this category (for example `marketing`, to be strict).
    AsCategory(String),
}

/// A configuration that cannot work. Returned by [`ConsentLayerBuilder::build`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// A category name is malformed.
    #[error(transparent)]
    InvalidCategory(#[from] InvalidCategoryName),
    /// A category is listed twice, or `necessary` is listed as optional.
    #[error(
        "category {0:?} is listed more than once (necessary is always present and is not listed)"
    )]
    DuplicateCategory(String),
    /// More categories than a consent set can hold.
    #[error("{0} categories configured; at most {max} optional categories are supported", max = MAX_CATEGORIES - 1)]
    TooManyCategories(usize),
    /// A setting names a category that is not configured.
    #[error("{setting} names category {category:?}, which is not one of the configured categories")]
    UnknownCategory {
        /// The setting (`gpc_categories`, `cookies`, `unknown_cookies`).
        setting: String,
        /// The category it names.
        category: String,
    },
    /// The consent cookie's name is not a valid cookie name.
    #[error(
        "invalid consent cookie name {0:?}: use letters, digits and !#$%&'*+-.^_`|~, without a __Host- or __Secure- prefix (added automatically)"
    )]
    InvalidCookieName(String),
    /// A declared cookie name or prefix is not a valid cookie name.
    #[error(
        "invalid cookie name in declaration {0:?}: use letters, digits and !#$%&'*+-.^_`|~, optionally ending in *"
    )]
    InvalidDeclaredCookie(String),
    /// The cookie domain is not a domain name.
    #[error("invalid cookie domain {0:?}: expected a domain name such as example.com")]
    InvalidCookieDomain(String),
    /// The cookie lifetime is zero.
    #[error("the consent cookie's max age must be at least one second")]
    ZeroMaxAge,
    /// The signing key is too short to be safe.
    #[error("the signing key has {0} bytes; use at least 32 random bytes")]
    SigningKeyTooShort(usize),
    /// The endpoint path is not an absolute path.
    #[error(
        "invalid endpoint path {0:?}: expected an absolute path such as /consent, without query or fragment"
    )]
    InvalidEndpointPath(String),
    /// An allowed origin is not `scheme://host[:port]`.
    #[error(
        "invalid allowed origin {0:?}: expected scheme://host[:port], such as https://www.example.com"
    )]
    InvalidOrigin(String),
    /// The body limit is zero.
    #[error("the endpoint's max body size must be at least one byte")]
    ZeroBodyLimit,
    /// `disable` or `services` names a service the built-in catalog does not have.
    #[error("no built-in service is called {0:?} (see CATALOG.md for the names)")]
    UnknownService(String),
    /// A declared host is not a host name, or its path does not start with `/`.
    #[error("{0}: expected a host name (example.com) and/or a path starting with /")]
    InvalidHost(String),
    /// A declared signature is too short to mean anything.
    #[error("{0}: a signature needs at least 4 characters")]
    InvalidSignature(String),
    /// `banner.default_language` is not one of `banner.languages`.
    #[error("banner.default_language {0:?} is not one of banner.languages")]
    UnknownDefaultLanguage(String),
    /// A language offered by the banner lacks a text: one without built-in texts needs all.
    #[error(
        "banner.texts.{language}.{key} is missing (a language without built-in texts needs every text)"
    )]
    MissingBannerText {
        /// The language tag.
        language: String,
        /// The missing text's key.
        key: String,
    },
    /// `banner.texts` gives texts for a language `banner.languages` does not offer.
    #[error("banner.texts.{0} gives texts for a language that banner.languages does not list")]
    TextsForUnofferedLanguage(String),
    /// The privacy policy link is neither an absolute path nor an `http(s)` URL.
    #[error(
        "banner.privacy_policy {0:?}: expected an absolute path such as /privacy or an https:// URL"
    )]
    InvalidPrivacyPolicy(String),
    /// An HTML rewriter bound is too small to hold ordinary tags.
    #[error("{setting} is {value} bytes; use at least 1024")]
    HtmlLimitTooSmall {
        /// The setting.
        setting: &'static str,
        /// Its value.
        value: usize,
    },
}

/// Builds a [`ConsentLayer`]. Start from [`ConsentLayer::builder`].
///
/// ```
/// use tower_consent::{ConsentLayer, NoopSink};
///
/// let layer = ConsentLayer::builder()
///     .category("social")
///     .policy_revision(3)
///     .cookie("theme", "preferences")
///     .cookie("ab_*", "analytics")
///     .sink(NoopSink)
///     .build()
///     .expect("valid configuration");
/// # drop(layer);
/// ```
#[must_use]
pub struct ConsentLayerBuilder {
    config: ConsentConfig,
    sink: Option<Arc<dyn ConsentSink>>,
    signing_key: Option<Vec<u8>>,
}

impl std::fmt::Debug for ConsentLayerBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConsentLayerBuilder")
            .field("config", &self.config)
            .field("sink", &self.sink.as_ref().map(|_| "custom"))
            .field("signing_key", &self.signing_key.as_ref().map(|_| "set"))
            .finish()
    }
}

impl ConsentLayerBuilder {
    pub(crate) fn new(config: ConsentConfig) -> Self {
        ConsentLayerBuilder {
            config,
            sink: None,
            signing_key: None,
        }
    }

    /// Adds an optional category of the site's own after the existing ones.
    ///
    /// ```
    /// let layer = tower_consent::ConsentLayer::builder().category("social").build();
    /// assert!(layer.is_ok());
    /// ```
    pub fn category(mut self, name: impl Into<String>) -> Self {
        self.config.categories.push(name.into());
        self
    }

    /// Replaces the list of optional categories (default: `preferences`, `analytics`,
    /// `marketing`).
    ///
    /// ```
    /// let layer = tower_consent::ConsentLayer::builder()
    ///     .categories(["analytics"])
    ///     .gpc_categories([] as [&str; 0])
    ///     .build();
    /// assert!(layer.is_ok());
    /// ```
    pub fn categories<I, S>(mut self, names: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.config.categories = names.into_iter().map(Into::into).collect();
        self
    }

    /// The categories Global Privacy Control denies (default: `marketing`).
    ///
    /// ```
    /// let layer = tower_consent::ConsentLayer::builder()
    ///     .gpc_categories(["analytics", "marketing"])
    ///     .build();
    /// assert!(layer.is_ok());
    /// ```
    pub fn gpc_categories<I, S>(mut self, names: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.config.gpc_categories = names.into_iter().map(Into::into).collect();
        self
    }

    /// The cookie policy's revision (default 1). Raising it asks every visitor again.
    ///
    /// ```
    /// let layer = tower_consent::ConsentLayer::builder().policy_revision(2).build();
    /// assert!(layer.is_ok());
    /// ```
    pub fn policy_revision(mut self, revision: u32) -> Self {
        self.config.policy_revision = revision;
        self
    }

    /// The consent cookie's name before its prefix (default `consent`).
    ///
    /// ```
    /// let layer = tower_consent::ConsentLayer::builder().cookie_name("cc").build().unwrap();
    /// assert_eq!(layer.cookie_name(), "__Host-cc");
    /// ```
    pub fn cookie_name(mut self, name: impl Into<String>) -> Self {
        self.config.cookie.name = name.into();
        self
    }

    /// Shares the choice with every subdomain of `domain`. Lingering tracker cookies are then
    /// expired on this domain as well as on the host.
    ///
    /// # Warning
    /// Every subdomain can then read and set the consent cookie. Set a
    /// [`signing_key`](Self::signing_key) so none can forge a choice.
    ///
    /// ```
    /// let layer = tower_consent::ConsentLayer::builder().cookie_domain("example.com").build().unwrap();
    /// assert_eq!(layer.cookie_name(), "__Secure-consent");
    /// ```
    pub fn cookie_domain(mut self, domain: impl Into<String>) -> Self {
        self.config.cookie.domain = Some(domain.into());
        self
    }

    /// Whether the consent cookie is `Secure` (default true).
    ///
    /// # Warning
    /// Turn this off only for local development over plain HTTP. On a public site the choice
    /// would travel unencrypted and could be changed by anyone on the path.
    ///
    /// ```
    /// let layer = tower_consent::ConsentLayer::builder().secure_cookie(false).build().unwrap();
    /// assert_eq!(layer.cookie_name(), "consent");
    /// ```
    pub fn secure_cookie(mut self, secure: bool) -> Self {
        self.config.cookie.secure = secure;
        self
    }

    /// How long a choice is kept before the visitor is asked again (default six months).
    ///
    /// ```
    /// use std::time::Duration;
    /// let layer = tower_consent::ConsentLayer::builder()
    ///     .max_age(Duration::from_secs(90 * 24 * 3600))
    ///     .build();
    /// assert!(layer.is_ok());
    /// ```
    pub fn max_age(mut self, max_age: Duration) -> Self {
        self.config.cookie.max_age_secs = max_age.as_secs();
        self
    }

    /// Signs the consent cookie with HMAC-SHA256 under this key (at least 32 bytes). A cookie
    /// that is unsigned or signed with another key then counts as no choice.
    ///
    /// ```
    /// let key = [0x5a; 32]; // in production: random bytes from a secret store
    /// let layer = tower_consent::ConsentLayer::builder().signing_key(key).build();
    /// assert!(layer.is_ok());
    /// assert!(tower_consent::ConsentLayer::builder().signing_key(*b"short").build().is_err());
    /// ```
    pub fn signing_key(mut self, key: impl Into<Vec<u8>>) -> Self {
        self.signing_key = Some(key.into());
        self
    }

    /// The consent endpoint's path (default `/consent`).
    ///
    /// ```
    /// let layer = tower_consent::ConsentLayer::builder().endpoint_path("/privacy/choice").build();
    /// assert!(layer.is_ok());
    /// ```
    pub fn endpoint_path(mut self, path: impl Into<String>) -> Self {
        self.config.endpoint.path = path.into();
        self
    }

    /// The largest consent submission accepted, in bytes (default 8 KiB).
    ///
    /// ```
    /// let layer = tower_consent::ConsentLayer::builder().max_body_bytes(2048).build();
    /// assert!(layer.is_ok());
    /// ```
    pub fn max_body_bytes(mut self, limit: usize) -> Self {
        self.config.endpoint.max_body_bytes = limit;
        self
    }

    /// Accepts submissions from this origin too (`https://www.example.com`), for a site behind
    /// a proxy that changes the `Host` header.
    ///
    /// ```
    /// let layer = tower_consent::ConsentLayer::builder()
    ///     .allowed_origin("https://www.example.com")
    ///     .build();
    /// assert!(layer.is_ok());
    /// ```
    pub fn allowed_origin(mut self, origin: impl Into<String>) -> Self {
        self.config.endpoint.allowed_origins.push(origin.into());
        self
    }

    /// Declares a cookie of the site's own: an exact name, or a prefix ending in `*`. Site
    /// declarations take precedence over the built-in rules; declare a cookie `necessary` to make
    /// sure it is never removed.
    ///
    /// ```
    /// let layer = tower_consent::ConsentLayer::builder()
    ///     .cookie("session_id", "necessary")
    ///     .cookie("ab_*", "analytics")
    ///     .build();
    /// assert!(layer.is_ok());
    /// ```
    pub fn cookie(mut self, name: impl Into<String>, category: impl Into<String>) -> Self {
        self.config.cookies.push(CookieDeclaration {
            name: name.into(),
            category: category.into(),
            service: None,
        });
        self
    }

    /// What to do with cookies no rule knows (default: keep them and warn once per name).
    ///
    /// ```
    /// use tower_consent::UnknownCookies;
    /// let layer = tower_consent::ConsentLayer::builder()
    ///     .unknown_cookies(UnknownCookies::AsCategory("marketing".into()))
    ///     .build();
    /// assert!(layer.is_ok());
    /// ```
    pub fn unknown_cookies(mut self, policy: UnknownCookies) -> Self {
        self.config.unknown_cookies = policy;
        self
    }

    /// Report-only mode: decide as usual, change no response, and log (at `info`) what would
    /// have been removed or expired. For rolling the layer out on a live site.
    ///
    /// # Warning
    /// In this mode tracking cookies reach visitors who refused them.
    ///
    /// ```
    /// let layer = tower_consent::ConsentLayer::builder().report_only(true).build();
    /// assert!(layer.is_ok());
    /// ```
    pub fn report_only(mut self, report_only: bool) -> Self {
        self.config.report_only = report_only;
        self
    }

    /// A built-in service the site uses, by its `CATALOG.md` name: listed by
    /// [`ConsentLayer::services`](crate::ConsentLayer::services).
    ///
    /// ```
    /// let layer = tower_consent::ConsentLayer::builder().service("Meta Pixel").build();
    /// assert!(layer.is_ok());
    /// assert!(tower_consent::ConsentLayer::builder().service("Nope").build().is_err());
    /// ```
    pub fn service(mut self, name: impl Into<String>) -> Self {
        self.config.services.push(name.into());
        self
    }

    /// Whether HTML responses are rewritten to block trackers (default: on). Off, the layer still
    /// gates `Set-Cookie`, but pages load every tracker they carry.
    ///
    /// ```
    /// let layer = tower_consent::ConsentLayer::builder().rewrite_html(false).build();
    /// assert!(layer.is_ok());
    /// ```
    pub fn rewrite_html(mut self, rewrite: bool) -> Self {
        self.config.html.rewrite = rewrite;
        self
    }

    /// Google Consent Mode v2 (default: off): every HTML page gets, as its first script, the
    /// `gtag('consent', 'default', …)` call set from the visitor's consent, with the default
    /// mapping of signals to categories (`ad_*` to marketing, `analytics_storage` to analytics,
    /// `functionality_storage` and `personalization_storage` to preferences). The configuration
    /// file's `consent_mode` section changes the mapping.
    ///
    /// ```
    /// let layer = tower_consent::ConsentLayer::builder().consent_mode(true).build();
    /// assert!(layer.is_ok());
    /// ```
    pub fn consent_mode(mut self, enabled: bool) -> Self {
        self.config.consent_mode.enabled = enabled;
        self
    }

    /// The built-in banner for visitors who have not decided (default: on). Off, the site
    /// shows its own and posts to the consent endpoint.
    ///
    /// ```
    /// let layer = tower_consent::ConsentLayer::builder().banner(false).build();
    /// assert!(layer.is_ok());
    /// ```
    pub fn banner(mut self, enabled: bool) -> Self {
        self.config.banner.enabled = enabled;
        self
    }

    /// The site's privacy policy, linked from the banner and the preferences page: an
    /// absolute path or an `http(s)` URL.
    ///
    /// ```
    /// let layer = tower_consent::ConsentLayer::builder().privacy_policy("/privacy").build();
    /// assert!(layer.is_ok());
    /// ```
    pub fn privacy_policy(mut self, link: impl Into<String>) -> Self {
        self.config.banner.privacy_policy = Some(link.into());
        self
    }

    /// The language shown when `Accept-Language` names none the banner offers (default: `en`).
    ///
    /// ```
    /// let layer = tower_consent::ConsentLayer::builder().default_language("nl").build();
    /// assert!(layer.is_ok());
    /// ```
    pub fn default_language(mut self, language: impl Into<String>) -> Self {
        self.config.banner.default_language = language.into();
        self
    }

    /// The small "Cookie settings" link for visitors who decided (default: on).
    pub fn settings_link(mut self, enabled: bool) -> Self {
        self.config.banner.settings_link = enabled;
        self
    }

    /// Texts of one language that replace the built-in ones; for a language without built-in
    /// texts, add it to the offered ones and give every text.
    ///
    /// ```
    /// use tower_consent::{BannerTexts, ConsentLayer};
    ///
    /// let mut texts = BannerTexts::default();
    /// texts.reject_all = Some("Nee".into());
    /// let layer = ConsentLayer::builder().banner_texts("nl", texts).build();
    /// assert!(layer.is_ok());
    /// ```
    pub fn banner_texts(mut self, language: impl Into<String>, texts: BannerTexts) -> Self {
        let language = language.into();
        let offered = &mut self.config.banner.languages;
        if !offered.iter().any(|l| l.eq_ignore_ascii_case(&language)) {
            offered.push(language.clone());
        }
        self.config.banner.texts.insert(language, texts);
        self
    }

    /// How blocked elements are blocked: kept but inert (the default), or taken out.
    ///
    /// ```
    /// use tower_consent::{BlockMode, ConsentLayer};
    ///
    /// let layer = ConsentLayer::builder().block_mode(BlockMode::Remove).build();
    /// assert!(layer.is_ok());
    /// ```
    pub fn block_mode(mut self, mode: BlockMode) -> Self {
        self.config.html.block_mode = mode;
        self
    }

    /// Where recorded choices go (default: a [`JsonLinesSink`] on `consent-log.jsonl`).
    ///
    /// ```
    /// let layer = tower_consent::ConsentLayer::builder().sink(tower_consent::NoopSink).build();
    /// assert!(layer.is_ok());
    /// ```
    pub fn sink(mut self, sink: impl ConsentSink) -> Self {
        self.sink = Some(Arc::new(sink));
        self
    }

    /// Checks the configuration and builds the layer.
    pub fn build(self) -> Result<ConsentLayer, ConfigError> {
        Ok(ConsentLayer::from_settings(Arc::new(Settings::compile(
            self.config,
            self.sink,
            self.signing_key,
        )?)))
    }
}

/// The consent cookie as configured: its full name and attributes.
#[derive(Debug)]
pub(crate) struct ConsentCookie {
    pub(crate) name: String,
    pub(crate) domain: Option<String>,
    pub(crate) secure: bool,
    pub(crate) max_age_secs: u64,
}

/// What is done with a cookie no rule knows, compiled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum UnknownPolicy {
    Allow,
    AsCategory(usize),
}

/// The checked configuration, shared by every request of a layer.
pub(crate) struct Settings {
    /// Categories, cookie codec and finder: what a `Consent` needs to read itself.
    pub(crate) reader: ConsentReader,
    pub(crate) catalog: Catalog,
    pub(crate) cookie: ConsentCookie,
    pub(crate) endpoint_path: String,
    pub(crate) max_body_bytes: usize,
    /// Lowercase `scheme://host[:port]`.
    pub(crate) allowed_origins: Vec<String>,
    pub(crate) unknown: UnknownPolicy,
    pub(crate) report_only: bool,
    pub(crate) sink: Arc<dyn ConsentSink>,
    /// Unknown cookie names already warned about, so each is logged once.
    pub(crate) warned_unknown: Mutex<HashSet<Box<str>>>,
    pub(crate) rewrite_html: bool,
    pub(crate) block_mode: BlockMode,
    pub(crate) html_limits: Limits,
    /// The services in use on the site.
    pub(crate) services: Vec<Service>,
    /// Google Consent Mode's signals, when it is on.
    pub(crate) consent_mode: Option<Signals>,
    /// The banner, link and preferences page.
    pub(crate) banner: Banner,
    /// What a page rewritten under these settings depends on besides the visitor's choice:
    /// see [`rules_fingerprint`].
    pub(crate) rules_fingerprint: Box<str>,
    /// The configuration with no built-in service switched off: the rules an audit judges by,
    /// so that switching a rule off cannot hide a tracker from a site's tests.
    #[cfg(feature = "testing")]
    pub(crate) audit_config: ConsentConfig,
    #[cfg(feature = "testing")]
    pub(crate) audit_rules: std::sync::OnceLock<Option<Box<Settings>>>,
}

/// A short hash of everything a rewritten page depends on besides the visitor's choice and
/// the request: the crate's version (its rewriting), its built-in catalog, and the whole
/// configuration but the consent log's path (which differs between the instances of one site,
/// and changes no page). Every page variant carries it, so that after a deploy that changes a
/// rule a copy rewritten under the old rules (a tracker left live, say) is not revalidated as
/// current. Stable across processes: the configuration holds no hash map.
fn rules_fingerprint(config: &ConsentConfig) -> Box<str> {
    use sha2::{Digest, Sha256};
    let described = ConsentConfig {
        consent_log: PathBuf::new(),
        ..config.clone()
    };
    let mut hash = Sha256::new();
    hash.update(env!("CARGO_PKG_VERSION"));
    hash.update(crate::catalog::data::BUILT_IN);
    hash.update(format!("{described:?}"));
    hash.finalize()[..4]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A service in use on the site: see [`ConsentLayer::services`].
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Service {
    /// Its name (`Google Analytics`, or the name the site's rules give).
    pub name: String,
    /// Who runs it (`-` when the site's rules do not say).
    pub vendor: String,
    /// Its category.
    pub category: String,
    /// What it does, in a line a visitor can understand (empty when the site's rules do not
    /// say).
    pub purpose: String,
    /// From the built-in catalog, rather than the site's own rules.
    pub built_in: bool,
}

/// The built-in services the site names, then the services its own rules name, once each.
fn services_in_use(config: &ConsentConfig) -> Vec<Service> {
    let mut services: Vec<Service> = crate::catalog::data::built_in()
        .iter()
        .filter(|e| config.services.contains(&e.service) && !config.disable.contains(&e.service))
        .map(|e| Service {
            name: e.service.clone(),
            vendor: e.vendor.clone(),
            category: e.category.clone(),
            purpose: e.purpose.clone(),
            built_in: true,
        })
        .collect();
    let own = config
        .cookies
        .iter()
        .map(|c| (&c.service, &c.category))
        .chain(config.hosts.iter().map(|h| (&h.service, &h.category)))
        .chain(config.signatures.iter().map(|s| (&s.service, &s.category)));
    for (name, category) in own {
        let Some(name) = name else {
            continue;
        };
        if !services.iter().any(|s| &s.name == name) {
            services.push(Service {
                name: name.clone(),
                vendor: "-".into(),
                category: category.clone(),
                purpose: String::new(),
                built_in: false,
            });
        }
    }
    services
}

impl Rules for Settings {
    fn trackers(&self) -> &Trackers {
        &self.catalog.trackers
    }

    fn categories(&self) -> &Categories {
        self.categories()
    }

    fn limits(&self) -> Limits {
        self.html_limits
    }

    fn block_mode(&self) -> BlockMode {
        self.block_mode
    }

    fn consent_mode(&self) -> Option<&Signals> {
        self.consent_mode.as_ref()
    }
}

impl std::fmt::Debug for Settings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Settings")
            .field("categories", &self.reader.categories)
            .field("cookie", &self.cookie)
            .field("endpoint_path", &self.endpoint_path)
            .field("report_only", &self.report_only)
            .finish_non_exhaustive()
    }
}

impl Settings {
    pub(crate) fn categories(&self) -> &Categories {
        &self.reader.categories
    }

    /// The rules an audit judges by: these, with every built-in service on.
    #[cfg(feature = "testing")]
    pub(crate) fn audit_rules(&self) -> &Settings {
        let rules = self.audit_rules.get_or_init(|| {
            Settings::compile(
                self.audit_config.clone(),
                Some(Arc::new(crate::NoopSink)),
                None,
            )
            .ok()
            .map(Box::new)
        });
        // The same configuration with fewer services switched off compiles as this one did.
        rules.as_deref().unwrap_or(self)
    }

    fn compile(
        config: ConsentConfig,
        sink: Option<Arc<dyn ConsentSink>>,
        signing_key: Option<Vec<u8>>,
    ) -> Result<Self, ConfigError> {
        let categories = compile_categories(&config.categories, &config.gpc_categories)?;
        let cookie = compile_cookie(&config.cookie)?;
        let rules_fingerprint = rules_fingerprint(&config);
        if let Some(key) = &signing_key
            && key.len() < 32
        {
            return Err(ConfigError::SigningKeyTooShort(key.len()));
        }
        let codec = Codec::new(
            signing_key.as_deref(),
            config.policy_revision,
            cookie.max_age_secs,
        );
        let site_rules = config
            .cookies
            .iter()
            .map(|d| {
                let pattern = NamePattern::parse(&d.name)
                    .map_err(|_| ConfigError::InvalidDeclaredCookie(d.name.clone()))?;
                Ok(CookieRule {
                    pattern,
                    category: d.category.as_str().into(),
                    service: d.service.as_deref().map(Into::into),
                })
            })
            .collect::<Result<Vec<_>, ConfigError>>()?;
        let known: std::collections::HashSet<&str> = crate::catalog::data::built_in()
            .iter()
            .map(|e| e.service.as_str())
            .collect();
        if let Some(unknown) = config.disable.iter().find(|d| !known.contains(d.as_str())) {
            return Err(ConfigError::UnknownService(unknown.clone()));
        }
        if let Some(unknown) = config.services.iter().find(|d| !known.contains(d.as_str())) {
            return Err(ConfigError::UnknownService(unknown.clone()));
        }
        let services = services_in_use(&config);
        let consent_mode = config
            .consent_mode
            .compile(&categories)
            .map_err(|(setting, category)| ConfigError::UnknownCategory { setting, category })?;
        for (index, host) in config.hosts.iter().enumerate() {
            let name = host.host.as_deref().unwrap_or("");
            let valid_host = name.is_empty() || is_domain(name);
            let valid_path = host.path.as_deref().is_none_or(|p| p.starts_with('/'));
            if !valid_host || !valid_path || (name.is_empty() && host.path.is_none()) {
                return Err(ConfigError::InvalidHost(format!("hosts[{index}]")));
            }
        }
        if let Some(index) = config
            .signatures
            .iter()
            .position(|s| s.text.trim().len() < 4)
        {
            return Err(ConfigError::InvalidSignature(format!(
                "signatures[{index}]"
            )));
        }
        let site_trackers = crate::catalog::trackers::SiteTrackers {
            hosts: config
                .hosts
                .iter()
                .map(|h| {
                    (
                        h.host.as_deref().unwrap_or("").to_ascii_lowercase(),
                        h.path.clone().unwrap_or_default(),
                        h.category.clone(),
                        h.service.clone(),
                    )
                })
                .collect(),
            signatures: config
                .signatures
                .iter()
                .map(|s| (s.text.clone(), s.category.clone(), s.service.clone()))
                .collect(),
            disabled: config.disable.clone(),
        };
        let catalog = Catalog::compile(
            &site_rules,
            &built_in_rules(&config.disable),
            &categories,
            &cookie.name,
            &site_trackers,
        )
        .map_err(|e| ConfigError::UnknownCategory {
            setting: e.rule,
            category: e.category.into(),
        })?;
        let unknown = match &config.unknown_cookies {
            UnknownCookies::Allow => UnknownPolicy::Allow,
            UnknownCookies::AsCategory(name) => {
                UnknownPolicy::AsCategory(categories.index_of(name).ok_or_else(|| {
                    ConfigError::UnknownCategory {
                        setting: "unknown_cookies".into(),
                        category: name.clone(),
                    }
                })?)
            }
        };
        let endpoint = &config.endpoint;
        if !is_endpoint_path(&endpoint.path) {
            return Err(ConfigError::InvalidEndpointPath(endpoint.path.clone()));
        }
        if endpoint.max_body_bytes == 0 {
            return Err(ConfigError::ZeroBodyLimit);
        }
        let allowed_origins = endpoint
            .allowed_origins
            .iter()
            .map(|o| normalize_origin(o).ok_or_else(|| ConfigError::InvalidOrigin(o.clone())))
            .collect::<Result<_, _>>()?;
        if !cookie.secure {
            tracing::warn!(
                "tower-consent: the consent cookie is not Secure; use this for local development over plain HTTP only"
            );
        }
        let banner = Banner::compile(
            &config.banner,
            &categories,
            config.policy_revision,
            &endpoint.path,
        )
        .map_err(|error| match error {
            BannerError::DefaultLanguage(language) => ConfigError::UnknownDefaultLanguage(language),
            BannerError::MissingText { language, key } => {
                ConfigError::MissingBannerText { language, key }
            }
            BannerError::TextsForUnofferedLanguage(language) => {
                ConfigError::TextsForUnofferedLanguage(language)
            }
            BannerError::PrivacyPolicy(link) => ConfigError::InvalidPrivacyPolicy(link),
        })?;
        #[cfg(feature = "testing")]
        let audit_config = ConsentConfig {
            disable: Vec::new(),
            ..config.clone()
        };
        let sink = sink.unwrap_or_else(|| Arc::new(JsonLinesSink::new(config.consent_log)));
        Ok(Settings {
            rules_fingerprint,
            reader: ConsentReader {
                finder: CookieFinder::new(&cookie.name),
                categories,
                codec,
            },
            catalog,
            cookie,
            endpoint_path: endpoint.path.clone(),
            max_body_bytes: endpoint.max_body_bytes,
            allowed_origins,
            unknown,
            report_only: config.report_only,
            sink,
            warned_unknown: Mutex::new(HashSet::new()),
            rewrite_html: config.html.rewrite,
            block_mode: config.html.block_mode,
            html_limits: html_limits(&config.html)?,
            services,
            consent_mode,
            banner,
            #[cfg(feature = "testing")]
            audit_config,
            #[cfg(feature = "testing")]
            audit_rules: std::sync::OnceLock::new(),
        })
    }
}

fn html_limits(config: &HtmlConfig) -> Result<Limits, ConfigError> {
    for (setting, value) in [
        ("html.max_tag_bytes", config.max_tag_bytes),
        (
            "html.max_inline_script_bytes",
            config.max_inline_script_bytes,
        ),
    ] {
        // Below this a common tag (a script with a long URL and an integrity hash) would not
        // fit, and scripts would be blocked for their length.
        if value < 1024 {
            return Err(ConfigError::HtmlLimitTooSmall { setting, value });
        }
    }
    Ok(Limits {
        max_tag: config.max_tag_bytes,
        max_script: config.max_inline_script_bytes,
        max_noscript: config.max_noscript_bytes,
    })
}

fn compile_categories(optional: &[String], gpc: &[String]) -> Result<Categories, ConfigError> {
    if optional.len() > MAX_CATEGORIES - 1 {
        return Err(ConfigError::TooManyCategories(optional.len()));
    }
    let mut seen = HashSet::new();
    let mut names = Vec::with_capacity(optional.len());
    for name in optional {
        let category = Category::new(name.clone())?;
        if category == Category::NECESSARY || !seen.insert(name.as_str()) {
            return Err(ConfigError::DuplicateCategory(name.clone()));
        }
        names.push(category);
    }
    let mut sale_share = CategorySet::EMPTY;
    for name in gpc {
        // Index 0 is `necessary`, which GPC cannot deny.
        let index = names
            .iter()
            .position(|c| c.as_str() == name)
            .ok_or_else(|| ConfigError::UnknownCategory {
                setting: "gpc_categories".into(),
                category: name.clone(),
            })?;
        sale_share = sale_share.with(index + 1);
    }
    Ok(Categories::new(names, sale_share))
}

fn compile_cookie(config: &CookieConfig) -> Result<ConsentCookie, ConfigError> {
    let name = &config.name;
    let prefixed = name.to_ascii_lowercase();
    if !is_cookie_name(name) || prefixed.starts_with("__host-") || prefixed.starts_with("__secure-")
    {
        return Err(ConfigError::InvalidCookieName(name.clone()));
    }
    let domain = match &config.domain {
        None => None,
        Some(d) => {
            let d = d.strip_prefix('.').unwrap_or(d).to_ascii_lowercase();
            if !is_domain(&d) {
                return Err(ConfigError::InvalidCookieDomain(d));
            }
            Some(d)
        }
    };
    if config.max_age_secs == 0 {
        return Err(ConfigError::ZeroMaxAge);
    }
    let full_name = match (config.secure, &domain) {
        (true, None) => format!("__Host-{name}"),
        (true, Some(_)) => format!("__Secure-{name}"),
        (false, _) => name.clone(),
    };
    Ok(ConsentCookie {
        name: full_name,
        domain,
        secure: config.secure,
        max_age_secs: config.max_age_secs,
    })
}

fn is_cookie_name(name: &str) -> bool {
    crate::cookies::is_cookie_name(name.as_bytes())
}

fn is_domain(domain: &str) -> bool {
    domain.len() <= 253
        && domain.split('.').all(|label| {
            (1..=63).contains(&label.len())
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
                && !label.starts_with('-')
                && !label.ends_with('-')
        })
}

fn is_endpoint_path(path: &str) -> bool {
    path.starts_with('/')
        && !path.starts_with("//")
        && path
            .bytes()
            .all(|b| b.is_ascii_graphic() && !matches!(b, b'?' | b'#' | b'\\'))
}

/// `scheme://host[:port]`, lowercased, with the scheme's default port removed.
pub(crate) fn normalize_origin(origin: &str) -> Option<String> {
    let (scheme, authority) = origin.split_once("://")?;
    let scheme = scheme.to_ascii_lowercase();
    if !matches!(scheme.as_str(), "http" | "https")
        || authority.is_empty()
        || !authority
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b':' | b'[' | b']'))
    {
        return None;
    }
    let authority = authority.to_ascii_lowercase();
    let default_port = if scheme == "https" { ":443" } else { ":80" };
    let authority = authority.strip_suffix(default_port).unwrap_or(&authority);
    Some(format!("{scheme}://{authority}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn build(builder: ConsentLayerBuilder) -> Result<ConsentLayer, ConfigError> {
        builder.sink(crate::NoopSink).build()
    }

    #[test]
    fn defaults_build() {
        let layer = build(ConsentLayer::builder()).unwrap();
        assert_eq!(layer.cookie_name(), "__Host-consent");
    }

    #[test]
    fn each_error_is_reported() {
        let cases: Vec<(ConsentLayerBuilder, &str)> = vec![
            (
                ConsentLayer::builder().category("Bad Name"),
                "invalid category name",
            ),
            (
                ConsentLayer::builder().category("analytics"),
                "more than once",
            ),
            (
                ConsentLayer::builder().category("necessary"),
                "more than once",
            ),
            (
                ConsentLayer::builder().categories((0..64).map(|i| format!("c{i}"))),
                "at most 63",
            ),
            (
                ConsentLayer::builder().gpc_categories(["ads"]),
                "gpc_categories names category \"ads\"",
            ),
            (ConsentLayer::builder().cookie("x", "ads"), "cookies"),
            (
                ConsentLayer::builder().cookie("a b", "analytics"),
                "invalid cookie name in declaration",
            ),
            (
                ConsentLayer::builder().cookie("*", "analytics"),
                "invalid cookie name in declaration",
            ),
            (
                ConsentLayer::builder().unknown_cookies(UnknownCookies::AsCategory("ads".into())),
                "unknown_cookies",
            ),
            (
                ConsentLayer::builder().cookie_name("a;b"),
                "invalid consent cookie name",
            ),
            (
                ConsentLayer::builder().cookie_name("__Host-x"),
                "invalid consent cookie name",
            ),
            (
                ConsentLayer::builder().cookie_domain("exa mple.com"),
                "invalid cookie domain",
            ),
            (ConsentLayer::builder().max_age(Duration::ZERO), "max age"),
            (ConsentLayer::builder().signing_key(vec![1; 31]), "31 bytes"),
            (
                ConsentLayer::builder().endpoint_path("consent"),
                "invalid endpoint path",
            ),
            (
                ConsentLayer::builder().endpoint_path("//evil"),
                "invalid endpoint path",
            ),
            (
                ConsentLayer::builder().endpoint_path("/c?x=1"),
                "invalid endpoint path",
            ),
            (
                ConsentLayer::builder().allowed_origin("example.com"),
                "invalid allowed origin",
            ),
            (
                ConsentLayer::builder().allowed_origin("ftp://example.com"),
                "invalid allowed origin",
            ),
            (ConsentLayer::builder().max_body_bytes(0), "max body size"),
        ];
        for (builder, expected) in cases {
            let err = build(builder).unwrap_err().to_string();
            assert!(
                err.contains(expected),
                "{err:?} should mention {expected:?}"
            );
        }
    }

    #[test]
    fn cookie_name_prefixes() {
        let host = build(ConsentLayer::builder()).unwrap();
        assert_eq!(host.cookie_name(), "__Host-consent");
        let secure = build(ConsentLayer::builder().cookie_domain(".Example.com")).unwrap();
        assert_eq!(secure.cookie_name(), "__Secure-consent");
        let dev = build(
            ConsentLayer::builder()
                .secure_cookie(false)
                .cookie_domain("a.test"),
        )
        .unwrap();
        assert_eq!(dev.cookie_name(), "consent");
    }

    #[test]
    fn origins_are_normalized() {
        assert_eq!(
            normalize_origin("HTTPS://WWW.Example.com:443").as_deref(),
            Some("https://www.example.com")
        );
        assert_eq!(
            normalize_origin("http://localhost:8080").as_deref(),
            Some("http://localhost:8080")
        );
        assert_eq!(normalize_origin("https://a.com/path"), None);
        assert_eq!(normalize_origin("null"), None);
    }

    #[test]
    fn config_deserializes_from_json_and_rejects_unknown_keys() {
        let config: ConsentConfig = serde_json::from_str(
            r#"{"policy_revision": 4, "unknown_cookies": {"as_category": "marketing"},
                "cookie": {"secure": false}, "report_only": true}"#,
        )
        .unwrap();
        assert_eq!(config.policy_revision, 4);
        assert_eq!(
            config.unknown_cookies,
            UnknownCookies::AsCategory("marketing".into())
        );
        assert!(build(ConsentLayer::builder_from(config)).is_ok());
        let err = serde_json::from_str::<ConsentConfig>(r#"{"polcy_revision": 4}"#).unwrap_err();
        assert!(err.to_string().contains("polcy_revision"), "{err}");
    }
}
