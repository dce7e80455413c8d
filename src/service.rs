//! [`ConsentService`]: reads the visitor's consent, answers the consent endpoint, and hands
//! everything else to the inner service with the consent in its extensions.

use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use http::header::ACCEPT_ENCODING;
use http::{Method, Request, Response};
use tower::Service;

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
{
    type Response = Response<ConsentBody<ResBody>>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future, ReqBody>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: Request<ReqBody>) -> Self::Future {
        let settings = &self.settings;
        if req.uri().path() == settings.endpoint_path {
            let (parts, body) = req.into_parts();
            return match endpoint::prepare(&parts, settings) {
                Prepared::Answer(response) => ResponseFuture::answered(response),
                Prepared::ReadBody(format) => {
                    ResponseFuture::endpoint(parts, body, format, settings.clone())
                }
            };
        }
        let facts = RequestFacts::read(req.headers(), &settings.reader.finder);
        let (navigation, conditional) = (facts.navigation, facts.conditional);
        let consent = request::consent(settings, facts);
        let partial_navigation = navigation && !consent.allows_all();
        // A page view is where cookies left from before a withdrawal are cleared.
        let lingering = if partial_navigation {
            headers::lingering_cookies(req.headers(), settings, consent.allowed_set())
        } else {
            Vec::new()
        };
        let mut html = HtmlRequest {
            rewrite: settings.rewrite_html && !settings.report_only && req.method() != Method::HEAD,
            variant_revalidated: false,
        };
        if html.rewrite {
            if partial_navigation {
                // The page must arrive uncompressed for trackers to be blocked in it.
                req.headers_mut().remove(ACCEPT_ENCODING);
            }
            if conditional {
                html.variant_revalidated =
                    validators::strip_variant(req.headers_mut(), consent.allowed_set().bits());
            }
        }
        let filter = ResponseFilter::new(consent.clone(), lingering, html);
        req.extensions_mut().insert(consent);
        ResponseFuture::inner(self.inner.call(req), filter)
    }
}
