//! [`ConsentLayer`]: the configured layer, cheap to clone.

use std::sync::Arc;

use tower::Layer;

use crate::config::{ConsentConfig, ConsentLayerBuilder, Settings};
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
    ///     br#"<script type="text/plain" data-consent-category="marketing" src="https://connect.facebook.net/en_US/fbevents.js"></script>"#
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

    pub(crate) fn from_settings(settings: Arc<Settings>) -> Self {
        ConsentLayer { settings }
    }

    #[cfg(test)]
    pub(crate) fn settings(&self) -> &Settings {
        &self.settings
    }

    #[cfg(test)]
    pub(crate) fn shared_settings(&self) -> Arc<Settings> {
        self.settings.clone()
    }
}

impl<S> Layer<S> for ConsentLayer {
    type Service = ConsentService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        ConsentService::new(inner, self.settings.clone())
    }
}
