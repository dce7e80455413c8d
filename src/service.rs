//! [`ConsentService`]: reads the visitor's consent, answers the consent endpoint, and hands
//! everything else to the inner service with the consent in its extensions.

use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use http::header::{ACCEPT_ENCODING, ACCEPT_LANGUAGE, IF_MODIFIED_SINCE, IF_RANGE, RANGE};
use http::{HeaderValue, Method, Request, Response};
use tower::Service;

use crate::banner::PagePlan;
use crate::config::Settings;
use crate::endpoint::{self, Prepared};
use crate::future::{HtmlRequest, ResponseFilter, ResponseFuture};
use crate::headers::validators;
use crate::request::RequestFacts;
use crate::{ConsentBody, headers, request};

/// The service [`ConsentLayer`](crate::ConsentLayer) wraps around an inner service.
#[derive(Clone, Debug)]
pub struct ConsentService<S> {
    inner: S,
    settings: Arc<Settings>,
}

impl<S> ConsentService<S> {
    pub(crate) fn new(inner: S, settings: Arc<Settings>) -> Self {
        ConsentService { inner, settings }
    }

    /// The wrapped service.
    pub fn get_ref(&self) -> &S {
        &self.inner
    }

    /// The wrapped service, mutably.
    pub fn get_mut(&mut self) -> &mut S {
        &mut self.inner
    }

    /// Unwraps the inner service.
    pub fn into_inner(self) -> S {
        self.inner
    }
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for ConsentService<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
    ReqBody: http_body::Body,
    ResBody: http_body::Body<Data = Bytes>,
    ResBody::Error: Into<crate::body::BoxError>,
{
    type Response = Response<ConsentBody<ResBody>>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future, ReqBody>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: Request<ReqBody>) -> Self::Future {
        let settings = &self.settings;
        let path = req.uri().path();
        if path == settings.endpoint_path || path == settings.banner.stylesheet_path {
            let (parts, body) = req.into_parts();
            return match endpoint::prepare(&parts, settings) {
                Prepared::Answer(response) => ResponseFuture::answered(response),
                Prepared::ReadBody(format) => {
                    ResponseFuture::endpoint(parts, body, format, settings.clone())
                }
            };
        }
        let facts = RequestFacts::read(req.headers(), &settings.reader.finder);
        let (navigation, frame, conditional) = (facts.navigation, facts.frame, facts.conditional);
        let consent = request::consent(settings, facts);
        let partial_navigation = navigation && !consent.allows_all();
        // A page view is where cookies left from before a withdrawal are cleared.
        let lingering = if partial_navigation {
            headers::lingering_cookies(req.headers(), settings, consent.allowed_set())
        } else {
            Vec::new()
        };
        let mut html = HtmlRequest {
            rewrite: settings.rewrite_html && !settings.report_only,
            head: req.method() == Method::HEAD,
            variant_revalidated: false,
            page: None,
        };
        if html.rewrite {
            if navigation && !frame && !fragment_request(req.headers()) {
                html.page = PagePlan::new(
                    &settings.banner,
                    consent.is_decided(),
                    consent.gpc(),
                    req.headers()
                        .get(ACCEPT_LANGUAGE)
                        .map(HeaderValue::as_bytes),
                    req.uri().path_and_query().map_or("/", |p| p.as_str()),
                )
                .map(Box::new);
            }
            // The page must arrive uncompressed for trackers to be blocked in it (and the
            // banner inserted: an undecided visitor allows less than everything). Not for the
            // settings link alone: a visitor who allowed everything keeps a compressed page,
            // and gets the link when the page arrives uncompressed anyway.
            if partial_navigation {
                req.headers_mut().remove(ACCEPT_ENCODING);
            }
            let page_view = navigation && matches!(*req.method(), Method::GET | Method::HEAD);
            // Part of a page cannot be rewritten (a 206 passes as it is): a page view gets the
            // whole page. Browsers send a range with one only to resume a download.
            if page_view {
                req.headers_mut().remove(RANGE);
                req.headers_mut().remove(IF_RANGE);
            }
            if conditional {
                let variant =
                    validators::variant(consent.allowed_set(), html.page.as_deref(), settings);
                html.variant_revalidated =
                    validators::strip_variant(req.headers_mut(), &variant, page_view);
            }
            // A date alone cannot say which variant, or which rules, a cached page is of (nor
            // whether the layer rewrote it at all): on a page view it is only sent with the
            // visitor's own variant's tag.
            if page_view && !html.variant_revalidated {
                req.headers_mut().remove(IF_MODIFIED_SINCE);
            }
        }
        let filter = ResponseFilter::new(consent.clone(), lingering, html);
        req.extensions_mut().insert(consent);
        ResponseFuture::inner(self.inner.call(req), filter)
    }
}

/// A request from htmx or Turbo for a piece of a page: no banner goes into it, even from a
/// browser that does not send `Sec-Fetch-Dest`.
fn fragment_request(headers: &http::HeaderMap) -> bool {
    headers.contains_key("hx-request") || headers.contains_key("turbo-frame")
}
