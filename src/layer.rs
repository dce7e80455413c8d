//! [`ConsentLayer`]: the configured layer, cheap to clone.

use std::sync::Arc;

use tower::Layer;

use crate::Wording;
use crate::config::{ConsentConfig, ConsentLayerBuilder, Service, Settings};
use crate::consent::CategorySet;
use crate::{ConfigError, ConsentService, HtmlRewriter};

/// Applies consent to every request and response of the service it wraps.
///
/// Built with [`ConsentLayer::builder`]; cloning shares the configuration.
///
/// ```
/// use tower::ServiceBuilder;
/// use tower_consent::{ConsentLayer, NoopSink};
///
/// let layer = ConsentLayer::builder().sink(NoopSink).build()?;
/// let service = ServiceBuilder::new()
///     .layer(layer)
///     .service_fn(|_req: http::Request<String>| async {
///         Ok::<_, std::convert::Infallible>(http::Response::new(String::new()))
///     });
/// # drop(service);
/// # Ok::<(), tower_consent::ConfigError>(())
/// ```
#[derive(Clone, Debug)]
pub struct ConsentLayer {
    settings: Arc<Settings>,
}

impl ConsentLayer {
    /// A builder with the default configuration.
    pub fn builder() -> ConsentLayerBuilder {
        ConsentLayerBuilder::new(ConsentConfig::default())
    }

    /// A builder starting from `config` (for example, deserialised from a file).
    pub fn builder_from(config: ConsentConfig) -> ConsentLayerBuilder {
        ConsentLayerBuilder::new(config)
    }

    /// The consent cookie's full name, prefix included (`__Host-consent` by default).
    pub fn cookie_name(&self) -> &str {
        &self.settings.cookie.name
    }

    /// A rewriter for one HTML document, doing what the layer does to the HTML responses of a
    /// visitor who allowed `allowed` (`necessary` is always allowed). For HTML that does not
    /// pass through the layer: pages rendered ahead of time, or a test that checks markup.
    ///
    /// ```
    /// use bytes::Bytes;
    /// use tower_consent::{ConsentLayer, NoopSink};
    ///
    /// let layer = ConsentLayer::builder().sink(NoopSink).build()?;
    /// let mut rewriter = layer.html_rewriter(["preferences"])?;
    /// let page = Bytes::from_static(br#"<script src="https://connect.facebook.net/en_US/fbevents.js"></script>"#);
    /// assert_eq!(
    ///     rewriter.rewrite_all(&page),
    ///     br#"<script type="text/plain" data-consent-category="marketing" data-consent-src="https://connect.facebook.net/en_US/fbevents.js"></script>"#
    /// );
    /// # Ok::<(), tower_consent::ConfigError>(())
    /// ```
    pub fn html_rewriter<I, S>(&self, allowed: I) -> Result<HtmlRewriter, ConfigError>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let categories = self.settings.categories();
        let mut set = CategorySet::NECESSARY;
        for name in allowed {
            let name = name.as_ref();
            let index = categories
                .index_of(name)
                .ok_or_else(|| ConfigError::UnknownCategory {
                    setting: "html_rewriter".into(),
                    category: name.into(),
                })?;
            set = set.with(index);
        }
        Ok(HtmlRewriter::new(self.settings.clone(), set))
    }

    /// What the layer's rules (the site's, then the built-in catalog) say about a cookie
    /// name: its category and service. `None` when no rule knows the name (what then happens
    /// to it is the `unknown_cookies` policy's call).
    ///
    /// ```
    /// let layer = tower_consent::ConsentLayer::builder().cookie("theme", "preferences").build()?;
    /// let ga = layer.classify_cookie("_ga_ABC123").unwrap();
    /// assert_eq!((ga.category, ga.service), ("analytics", Some("Google Analytics")));
    /// assert_eq!(layer.classify_cookie("theme").unwrap().category, "preferences");
    /// assert!(layer.classify_cookie("basket").is_none());
    /// # Ok::<(), tower_consent::ConfigError>(())
    /// ```
    pub fn classify_cookie(&self, name: &str) -> Option<CookieClass<'_>> {
        let found = self.settings.catalog.classify(name.as_bytes())?;
        let category = self.settings.categories().name(found.category)?.as_str();
        Some(CookieClass {
            category,
            service: found.service,
        })
    }

    /// What the layer's rules say about a URL a page loads (a script, frame or pixel): the
    /// category and service of its host (and path). `None` for a URL no rule knows, or one that
    /// loads nothing from a host (`data:`); a relative URL is the page's own.
    ///
    /// ```
    /// let layer = tower_consent::ConsentLayer::builder().build()?;
    /// let pixel = layer.classify_url("https://www.facebook.com/tr?id=1").unwrap();
    /// assert_eq!((pixel.category, pixel.service), ("marketing", Some("Meta Pixel")));
    /// assert!(layer.classify_url("https://www.facebook.com/groups").is_none());
    /// # Ok::<(), tower_consent::ConfigError>(())
    /// ```
    pub fn classify_url(&self, url: &str) -> Option<CookieClass<'_>> {
        let base = crate::html::Base::default();
        let target = crate::html::resolve_url(url.as_bytes(), &base)?;
        let found = self
            .settings
            .catalog
            .trackers
            .classify_url(&target.host, &target.path)?;
        let category = self.settings.categories().name(found.category)?.as_str();
        Some(CookieClass {
            category,
            service: Some(found.service),
        })
    }

    /// What the layer's rules say about a host and path, as [`ConsentLayer::classify_url`] says
    /// it once the URL is read (`host` without port or userinfo; any case).
    ///
    /// ```
    /// let layer = tower_consent::ConsentLayer::builder().build()?;
    /// let found = layer.classify_host("www.google-analytics.com", "/analytics.js").unwrap();
    /// assert_eq!(found.category, "analytics");
    /// assert!(layer.classify_host("www.facebook.com", "/groups").is_none());
    /// # Ok::<(), tower_consent::ConfigError>(())
    /// ```
    pub fn classify_host(&self, host: &str, path: &str) -> Option<CookieClass<'_>> {
        let host = host.strip_suffix('.').unwrap_or(host);
        let lower;
        // A fold rather than `any`: without the early exit it compiles to a vector loop.
        let has_upper = host
            .bytes()
            .fold(false, |seen, b| seen | b.is_ascii_uppercase());
        let host = if has_upper {
            lower = host.to_ascii_lowercase();
            lower.as_str()
        } else {
            host
        };
        let found = self
            .settings
            .catalog
            .trackers
            .classify_url(host.as_bytes(), path.as_bytes())?;
        let category = self.settings.categories().name(found.category)?.as_str();
        Some(CookieClass {
            category,
            service: Some(found.service),
        })
    }

    /// The services in use on the site: the built-in ones its configuration names
    /// (`services`), then those its own rules name, with their categories. For the preferences
    /// page, and for handlers that show visitors what each category means.
    ///
    /// ```
    /// let layer = tower_consent::ConsentLayer::builder()
    ///     .service("Google Analytics")
    ///     .cookie("ab_*", "analytics")
    ///     .build()?;
    /// let analytics: Vec<&str> = layer
    ///     .services()
    ///     .iter()
    ///     .filter(|s| s.category == "analytics")
    ///     .map(|s| s.name.as_str())
    ///     .collect();
    /// assert_eq!(analytics, ["Google Analytics"]);
    /// # Ok::<(), tower_consent::ConfigError>(())
    /// ```
    pub fn services(&self) -> &[Service] {
        &self.settings.services
    }

    /// Every wording the banner and preferences page show, one per offered language, with the
    /// hash each recorded choice carries ([`ConsentRecord::wording`](crate::ConsentRecord)):
    /// what a site keeps to show which texts a choice was made on. A new policy revision or
    /// any changed text gives a new hash.
    ///
    /// ```
    /// let layer = tower_consent::ConsentLayer::builder().build()?;
    /// let dutch = layer.wordings().into_iter().find(|w| w.language == "nl").unwrap();
    /// assert_eq!(dutch.hash.len(), 32);
    /// assert!(dutch.texts.contains(&("reject_all".into(), "Nee, bedankt".into())));
    /// # Ok::<(), tower_consent::ConfigError>(())
    /// ```
    pub fn wordings(&self) -> Vec<Wording> {
        self.settings.banner.wordings()
    }

    pub(crate) fn from_settings(settings: Arc<Settings>) -> Self {
        ConsentLayer { settings }
    }

    #[cfg(any(test, feature = "testing"))]
    pub(crate) fn settings_ref(&self) -> &Settings {
        &self.settings
    }

    #[cfg(test)]
    pub(crate) fn shared_settings(&self) -> Arc<Settings> {
        self.settings.clone()
    }
}

/// What the layer's rules say about a cookie or a URL: see [`ConsentLayer::classify_cookie`]
/// and [`ConsentLayer::classify_url`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct CookieClass<'a> {
    /// The category: `necessary`, `preferences`, `analytics`, `marketing` or the site's own.
    pub category: &'a str,
    /// The service the cookie belongs to, when a rule names one.
    pub service: Option<&'a str>,
}

/// The built-in catalog as a Markdown table: the services, what they are for, and the cookie
/// names, hosts and inline-script signatures the layer knows them by. `CATALOG.md` holds it.
pub fn catalog_markdown() -> String {
    crate::catalog::data::markdown()
}

impl<S> Layer<S> for ConsentLayer {
    type Service = ConsentService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        ConsentService::new(inner, self.settings.clone())
    }
}
