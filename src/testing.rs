//! Helpers for a site's own tests (feature `testing`): requests as a given visitor, and an
//! audit of a response that reports every tracking cookie it sets and every tracker its page
//! would load, judged by the same catalog and scanner as the layer.
//!
//! ```
//! use tower_consent::ConsentLayer;
//! use tower_consent::testing::{Visitor, assert_no_tracking};
//!
//! let layer = ConsentLayer::builder().build()?;
//! // A request as a visitor who allowed analytics only would send it.
//! let request = Visitor::allowing(&["analytics"]).request(&layer, "/shop").body(())?;
//! assert!(request.headers()["cookie"].to_str()?.contains("analytics"));
//!
//! // What a page sent without the layer would do to a new visitor.
//! let response = http::Response::builder()
//!     .header("content-type", "text/html")
//!     .header("set-cookie", "_ga=GA1.1.1.1; Path=/")
//!     .body(r#"<script src="https://www.googletagmanager.com/gtag/js?id=G-1"></script>"#)?;
//! let audit = tower_consent::testing::audit(&layer, &response);
//! assert_eq!(audit.cookies[0].name, "_ga");
//! assert_eq!(audit.trackers[0].service.as_deref(), Some("Google Analytics"));
//! let check = std::panic::AssertUnwindSafe(|| assert_no_tracking(&layer, &response));
//! assert!(std::panic::catch_unwind(check).is_err());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::fmt;

use http::header::{CONTENT_TYPE, COOKIE, HOST, SET_COOKIE};
use http::{HeaderValue, Response};

use crate::ConsentLayer;
use crate::consent::{CategorySet, Decision};

/// A visitor whose requests carry the consent cookie of a given choice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Visitor {
    choice: Choice,
    gpc: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Choice {
    Undecided,
    Rejected,
    Accepted,
    Allowing(Vec<String>),
}

impl Visitor {
    /// A visitor who has not decided: no consent cookie.
    pub fn new() -> Self {
        Visitor {
            choice: Choice::Undecided,
            gpc: false,
        }
    }

    /// A visitor who rejected every optional category.
    pub fn rejected() -> Self {
        Visitor {
            choice: Choice::Rejected,
            gpc: false,
        }
    }

    /// A visitor who accepted every category.
    pub fn accepted() -> Self {
        Visitor {
            choice: Choice::Accepted,
            gpc: false,
        }
    }

    /// A visitor who allowed exactly these optional categories.
    pub fn allowing(categories: &[&str]) -> Self {
        Visitor {
            choice: Choice::Allowing(categories.iter().map(|c| (*c).to_owned()).collect()),
            gpc: false,
        }
    }

    /// The same visitor, with a browser that sends `Sec-GPC: 1` (Global Privacy Control). The
    /// choice was made with the signal on.
    pub fn sending_gpc(mut self) -> Self {
        self.gpc = true;
        self
    }

    /// The `Cookie` header value (`name=value`) that carries this visitor's choice for `layer`,
    /// or `None` for a visitor who has not decided.
    ///
    /// # Panics
    ///
    /// When [`allowing`](Visitor::allowing) named a category the layer does not have.
    pub fn cookie(&self, layer: &ConsentLayer) -> Option<String> {
        let settings = layer.settings_ref();
        let categories = settings.categories();
        let optional = categories.all().minus(CategorySet::NECESSARY);
        let granted = match &self.choice {
            Choice::Undecided => return None,
            Choice::Rejected => CategorySet::EMPTY,
            Choice::Accepted => optional,
            Choice::Allowing(names) => names.iter().fold(CategorySet::EMPTY, |set, name| {
                match categories.index_of(name) {
                    Some(index) => set.with(index),
                    None => panic!(
                        "Visitor::allowing: the layer has no category {name:?} (it has: {})",
                        categories
                            .iter()
                            .map(|(_, c)| c.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                }
            }),
        };
        let decision = Decision {
            granted: granted.intersect(optional),
            revision: settings.reader.codec.revision(),
            decided_at: crate::time::now_secs(),
            id: crate::endpoint::new_consent_id(),
            gpc: self.gpc,
        };
        let value = settings.reader.codec.encode(&decision, categories);
        Some(format!("{}={value}", settings.cookie.name))
    }

    /// A `GET` of `uri` as this visitor's browser sends a page view: `Host: example.com`,
    /// `Sec-Fetch-Dest: document`, `Sec-Fetch-Mode: navigate`, an `Accept` for HTML, the
    /// consent cookie, and `Sec-GPC: 1` when the visitor sends it. Add headers or change the
    /// method on the builder; finish it with `.body(…)`.
    pub fn request(&self, layer: &ConsentLayer, uri: &str) -> http::request::Builder {
        let mut builder = http::Request::get(uri)
            .header(HOST, "example.com")
            .header("sec-fetch-dest", "document")
            .header("sec-fetch-mode", "navigate")
            .header(
                http::header::ACCEPT,
                "text/html,application/xhtml+xml,*/*;q=0.8",
            );
        if let Some(cookie) = self.cookie(layer) {
            builder = builder.header(COOKIE, cookie);
        }
        if self.gpc {
            builder = builder.header("sec-gpc", "1");
        }
        builder
    }
}

impl Default for Visitor {
    fn default() -> Self {
        Visitor::new()
    }
}

/// A cookie a response sets.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct CookieFinding {
    /// The cookie's name, as a browser reads it.
    pub name: String,
    /// Its category: `necessary`, an optional one, or `unknown` when no rule knows it.
    pub category: String,
    /// The service that sets it, when a rule names one.
    pub service: Option<String>,
}

/// Something a page would load that a rule knows as a tracker.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct TrackerFinding {
    /// What loads it: `script`, `inline script`, `iframe`, `img`, `link`, … (also in the
    /// markup of a `<noscript>`, which a browser without scripting reads).
    pub element: String,
    /// The URL it loads (as written), or the start of an inline script's text.
    pub source: String,
    /// Its category (`unknown` for an inline script too long to classify).
    pub category: String,
    /// The service, when a rule names one.
    pub service: Option<String>,
}

/// What a response would do to a visitor: the cookies it sets that are not necessary, the
/// live trackers its page would load, and the cookies no rule knows.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Audit {
    /// Cookies of an optional category that the response sets (deletions excluded).
    pub cookies: Vec<CookieFinding>,
    /// Trackers its HTML would load: scripts by `src` and by inline signature, frames, pixels,
    /// preloads and the rest the rewriter judges, in `<noscript>` too.
    pub trackers: Vec<TrackerFinding>,
    /// Names of cookies it sets that no rule knows.
    pub unknown_cookies: Vec<String>,
}

impl Audit {
    /// The findings of categories outside `allowed` (`necessary` is always allowed).
    pub fn outside(&self, allowed: &[&str]) -> Audit {
        let denied = |category: &str| category != "necessary" && !allowed.contains(&category);
        Audit {
            cookies: self
                .cookies
                .iter()
                .filter(|c| denied(&c.category))
                .cloned()
                .collect(),
            trackers: self
                .trackers
                .iter()
                .filter(|t| denied(&t.category))
                .cloned()
                .collect(),
            unknown_cookies: self.unknown_cookies.clone(),
        }
    }

    /// Whether nothing was found.
    pub fn is_clean(&self) -> bool {
        self.cookies.is_empty() && self.trackers.is_empty()
    }
}

impl fmt::Display for Audit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_clean() {
            writeln!(f, "no tracking cookie and no tracker")?;
        }
        for cookie in &self.cookies {
            writeln!(
                f,
                "cookie {} ({}, {})",
                cookie.name,
                cookie.category,
                cookie.service.as_deref().unwrap_or("no service named")
            )?;
        }
        for tracker in &self.trackers {
            writeln!(
                f,
                "{} {} ({}, {})",
                tracker.element,
                tracker.source,
                tracker.category,
                tracker.service.as_deref().unwrap_or("no service named")
            )?;
        }
        if !self.unknown_cookies.is_empty() {
            writeln!(
                f,
                "cookies no rule knows: {}",
                self.unknown_cookies.join(", ")
            )?;
        }
        Ok(())
    }
}

/// Audits a response (headers and, for HTML, the body) with `layer`'s rules: every cookie
/// it sets that is not necessary, and every tracker its page would load, whatever the
/// visitor allowed. Filter with [`Audit::outside`].
///
/// The rules are the layer's own with every built-in service switched on (`disable`
/// ignored): switching a rule off must not hide a tracker from the test that should catch it.
/// Trackers already made inert (by the layer, or by the site's own `type="text/plain"`) are
/// not live and not reported.
pub fn audit<B: AsRef<[u8]>>(layer: &ConsentLayer, response: &Response<B>) -> Audit {
    // The layer's rules with every built-in service on: a rule switched off must not hide a
    // tracker from the test that should catch it.
    let settings = layer.settings_ref().audit_rules();
    let mut audit = Audit::default();
    for value in response.headers().get_all(SET_COOKIE) {
        if crate::headers::is_deletion(value) {
            continue;
        }
        let Some(name) = crate::cookies::set_cookie_name(value.as_bytes()) else {
            continue;
        };
        let name = String::from_utf8_lossy(name).into_owned();
        match settings.catalog.classify(name.as_bytes()) {
            Some(found) if found.category == 0 => {}
            Some(found) => audit.cookies.push(CookieFinding {
                category: settings
                    .categories()
                    .name(found.category)
                    .map_or("unknown", |c| c.as_str())
                    .to_owned(),
                service: found.service.map(str::to_owned),
                name,
            }),
            None => audit.unknown_cookies.push(name),
        }
    }
    if is_html(response.headers().get(CONTENT_TYPE)) {
        let category = |index: usize| {
            settings
                .categories()
                .name(index)
                .map_or("unknown", |c| c.as_str())
                .to_owned()
        };
        audit.trackers = crate::html::audit(settings, response.body().as_ref())
            .into_iter()
            .map(|found| TrackerFinding {
                element: found.element.to_owned(),
                source: found.source,
                category: category(found.category),
                service: found.service,
            })
            .collect();
    }
    audit
}

fn is_html(content_type: Option<&HeaderValue>) -> bool {
    content_type.is_some_and(|value| {
        let media = value.as_bytes().split(|b| *b == b';').next().unwrap_or(b"");
        let media = media.trim_ascii();
        media.eq_ignore_ascii_case(b"text/html")
            || media.eq_ignore_ascii_case(b"application/xhtml+xml")
    })
}

/// Fails, listing each offender, if the response sets a cookie of an optional category or its
/// page would load a tracker of one.
///
/// # Panics
///
/// When it finds tracking: that is what a test wants.
#[track_caller]
pub fn assert_no_tracking<B: AsRef<[u8]>>(layer: &ConsentLayer, response: &Response<B>) {
    assert_no_tracking_except(layer, response, &[]);
}

/// Fails, listing each offender, if the response sets a cookie or its page would load a
/// tracker of a category outside `allowed` (`necessary` is always allowed).
///
/// # Panics
///
/// When it finds tracking outside `allowed`.
#[track_caller]
pub fn assert_no_tracking_except<B: AsRef<[u8]>>(
    layer: &ConsentLayer,
    response: &Response<B>,
    allowed: &[&str],
) {
    let found = audit(layer, response).outside(allowed);
    if !found.is_clean() {
        let allowed = if allowed.is_empty() {
            "nothing but necessary".to_owned()
        } else {
            allowed.join(", ")
        };
        panic!("tracking beyond what the visitor allowed ({allowed}):\n{found}");
    }
}
