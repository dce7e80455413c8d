//! [`ConsentLayer`]: the configured layer, cheap to clone.

use std::sync::Arc;

use tower::Layer;

use crate::ConsentService;
use crate::config::{ConsentConfig, ConsentLayerBuilder, Settings};

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
