#![forbid(unsafe_code)]
#![warn(missing_docs)]
//! Cookie-consent middleware for Tower.
#![doc = include_str!("../README.md")]

mod banner;
mod body;
mod catalog;
mod codec;
mod config;
mod consent;
mod cookies;
mod endpoint;
#[cfg(feature = "axum")]
mod extract;
mod future;
mod headers;
mod html;
mod layer;
mod request;
mod service;
mod sink;
mod swar;
#[cfg(feature = "testing")]
pub mod testing;
mod time;

pub use banner::{BannerConfig, BannerTexts, CategoryTexts, Wording};
pub use body::{BoxError, ConsentBody};
pub use config::{
    ConfigError, ConfigFileError, ConsentConfig, ConsentLayerBuilder, CookieConfig,
    CookieDeclaration, DEFAULT_MAX_AGE, EndpointConfig, HostDeclaration, HtmlConfig, Service,
    SignatureDeclaration, UnknownCookies,
};
pub use consent::{Category, Consent, ConsentId, InvalidCategoryName, MAX_CATEGORIES};
#[cfg(feature = "axum")]
pub use extract::MissingConsent;
pub use future::ResponseFuture;
pub use html::consent_mode::ConsentModeConfig;
pub use html::{BlockMode, HtmlRewriter};
pub use layer::{ConsentLayer, CookieClass, catalog_markdown};
pub use service::ConsentService;
pub use sink::{Action, ConsentRecord, ConsentSink, JsonLinesSink, NoopSink, SinkError};
