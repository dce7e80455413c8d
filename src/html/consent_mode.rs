//! Google Consent Mode v2: the `gtag('consent', 'default', …)` call, set from the visitor's
//! consent, inserted as the first script of the page so Google's tags read it before they run.

use serde::Deserialize;

use crate::consent::{Categories, CategorySet};

/// The attribute that marks the inserted script: one found in a page (a page rewritten before)
/// is taken out and a fresh one inserted, so rewriting twice changes nothing.
pub(crate) const MARKER: &[u8] = b"data-tower-consent-mode";

/// The Consent Mode signals and the category each follows.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct ConsentModeConfig {
    /// Insert the default-consent call. Default: off.
    pub enabled: bool,
    /// Default: `marketing`.
    pub ad_storage: String,
    /// Default: `marketing`.
    pub ad_user_data: String,
    /// Default: `marketing`.
    pub ad_personalization: String,
    /// Default: `analytics`.
    pub analytics_storage: String,
    /// Default: `preferences`.
    pub functionality_storage: String,
    /// Default: `preferences`.
    pub personalization_storage: String,
    /// Default: `necessary` (always granted).
    pub security_storage: String,
}

impl Default for ConsentModeConfig {
    fn default() -> Self {
        ConsentModeConfig {
            enabled: false,
            ad_storage: "marketing".into(),
            ad_user_data: "marketing".into(),
            ad_personalization: "marketing".into(),
            analytics_storage: "analytics".into(),
            functionality_storage: "preferences".into(),
            personalization_storage: "preferences".into(),
            security_storage: "necessary".into(),
        }
    }
}

/// The signals with the index of the category each follows.
pub(crate) type Signals = Vec<(&'static str, usize)>;

impl ConsentModeConfig {
    /// The signals, when enabled; `Err` has the setting and the category the layer does not
    /// have.
    pub(crate) fn compile(
        &self,
        categories: &Categories,
    ) -> Result<Option<Signals>, (String, String)> {
        if !self.enabled {
            return Ok(None);
        }
        let pairs = [
            ("ad_storage", &self.ad_storage),
            ("ad_user_data", &self.ad_user_data),
            ("ad_personalization", &self.ad_personalization),
            ("analytics_storage", &self.analytics_storage),
            ("functionality_storage", &self.functionality_storage),
            ("personalization_storage", &self.personalization_storage),
            ("security_storage", &self.security_storage),
        ];
        pairs
            .into_iter()
            .map(|(signal, category)| {
                categories
                    .index_of(category)
                    .map(|index| (signal, index))
                    .ok_or_else(|| (format!("consent_mode.{signal}"), category.clone()))
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Some)
    }
}

/// The script for a visitor who allowed `allowed`, with the page's CSP nonce if it has one.
pub(crate) fn script(signals: &Signals, allowed: CategorySet, nonce: Option<&str>) -> Vec<u8> {
    let mut out = String::from("<script data-tower-consent-mode");
    if let Some(nonce) = nonce {
        out.push_str(" nonce=\"");
        out.push_str(nonce);
        out.push('"');
    }
    out.push_str(
        ">window.dataLayer=window.dataLayer||[];function gtag(){dataLayer.push(arguments);}gtag('consent','default',{",
    );
    for (i, (signal, category)) in signals.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        let state = if allowed.contains(*category) {
            "granted"
        } else {
            "denied"
        };
        out.push_str(&format!("'{signal}':'{state}'"));
    }
    out.push_str("});</script>");
    out.into_bytes()
}

/// The nonce a page's `Content-Security-Policy` allows inline scripts by, if it needs one.
pub(crate) fn csp_nonce(headers: &http::HeaderMap) -> Option<String> {
    match super::csp::inline(headers, super::csp::SCRIPTS) {
        super::csp::Inline::Nonce(nonce) => Some(nonce),
        super::csp::Inline::Free | super::csp::Inline::Blocked => None,
    }
}
