//! [`ResponseFuture`]: the inner service's response with its headers filtered, or the consent
//! endpoint's own answer once the submission has been read.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};

use bytes::{Buf, BufMut, Bytes, BytesMut};
use http::{Response, StatusCode, request};
use http_body::Body;
use pin_project_lite::pin_project;

use crate::banner::PagePlan;
use crate::config::Settings;
use crate::consent::CategorySet;
use crate::endpoint::{self, Format};
use crate::headers::{self, validators};
use crate::html::{self, PageInserts, body::HtmlBody, response::Coding, response::Skip};
use crate::{Consent, ConsentBody};

pin_project! {
    /// Response future of [`ConsentService`](crate::ConsentService).
    pub struct ResponseFuture<F, B> {
        #[pin]
        kind: Kind<F, B>,
    }
}

pin_project! {
    #[project = KindProj]
    enum Kind<F, B> {
        Inner {
            #[pin]
            future: F,
            filter: ResponseFilter,
        },
        Endpoint {
            #[pin]
            body: B,
            // Boxed: the endpoint is rare, and every other response's future stays small.
            read: Box<EndpointRead>,
        },
        Answered {
            // Boxed like the endpoint's state: rare, and large.
            response: Option<Box<Response<Bytes>>>,
        },
    }
}

/// What the endpoint keeps while it reads a submission.
struct EndpointRead {
    parts: request::Parts,
    format: Format,
    buffer: BytesMut,
    settings: Arc<Settings>,
}

/// What the response's headers are filtered with.
pub(crate) struct ResponseFilter {
    /// Read only if the response sets a cookie whose fate depends on it. It also carries the
    /// layer's settings, so the filter needs no reference count of its own.
    consent: Consent,
    /// Cookies the request carries that the visitor has not allowed: expired in the response.
    lingering: Vec<Box<str>>,
    /// What the HTML rewriter needs to know of the request.
    html: HtmlRequest,
}

/// What the HTML rewriter needs to know of the request.
#[derive(Clone, Debug, Default)]
pub(crate) struct HtmlRequest {
    /// The response may be rewritten: the layer rewrites HTML (not in report-only mode).
    pub(crate) rewrite: bool,
    /// The request is `HEAD`: the response gets the headers a `GET` would, and no body is
    /// rewritten (there is none).
    pub(crate) head: bool,
    /// The request's `If-None-Match` named the visitor's own variant: a `304` gets the
    /// variant's `ETag` back.
    pub(crate) variant_revalidated: bool,
    /// The banner or link a page gets (boxed: most responses are not pages).
    pub(crate) page: Option<Box<PagePlan>>,
}

impl ResponseFilter {
    pub(crate) fn new(consent: Consent, lingering: Vec<Box<str>>, html: HtmlRequest) -> Self {
        ResponseFilter {
            consent,
            lingering,
            html,
        }
    }

    /// Filters the headers, and says whether the body is to be rewritten (and how it arrives).
    /// A `HEAD` response gets the headers of the `GET` response it describes, which is
    /// rewritten: no length, the variant's `ETag`, the same `Vary`.
    fn apply(&self, status: StatusCode, headers: &mut http::HeaderMap) -> Option<Coding> {
        let settings = self.consent.settings();
        let filtered = headers::filter_set_cookies(headers, settings, &self.consent);
        headers::expire_cookies(headers, settings, &self.lingering);
        let mut changed_by_consent = filtered.depends_on_consent || !self.lingering.is_empty();
        let (rewrite, html_passed) = if self.html.rewrite {
            self.rewrites(status, headers)
        } else {
            (None, false)
        };
        // A 304 answering the visitor's own variant carries that variant's headers.
        let revalidated = status == StatusCode::NOT_MODIFIED && self.html.variant_revalidated;
        if rewrite.is_some() || revalidated {
            html::response::drop_length_headers(headers);
        }
        // HTML passed whole for this visitor (a coding or charset the layer cannot read) is
        // marked too: another visitor's copy would be rewritten, so caches must tell them
        // apart, and a revalidation after a change of mind must not keep this one.
        if rewrite.is_some() || revalidated || html_passed {
            validators::vary_etag(headers, || {
                validators::variant(
                    self.consent.allowed_set(),
                    self.html.page.as_deref(),
                    settings,
                )
            });
            changed_by_consent = true;
        }
        if rewrite.is_some_and(|coding| coding != Coding::Identity) {
            html::response::drop_coding_header(headers);
        }
        if changed_by_consent && !settings.report_only {
            let gpc_in_use = settings.categories().sale_share() != CategorySet::EMPTY;
            // Whether a page gets the banner or link depends on the language asked for and
            // on what loads it (a frame gets neither); a 304 carries the same `Vary`.
            let page_inserts = settings.banner.enabled || settings.banner.settings_link;
            let by_page = page_inserts && (rewrite.is_some() || revalidated);
            headers::add_vary(headers, gpc_in_use, by_page);
        }
        rewrite.filter(|_| !self.html.head)
    }

    /// What the page view gets inserted: Consent Mode's nonce, and the banner (with its skip
    /// link) or the settings link, as the response's `Content-Security-Policy` allows.
    fn inserts(&self, headers: &http::HeaderMap) -> PageInserts {
        let settings = self.consent.settings();
        PageInserts {
            script_nonce: settings
                .consent_mode
                .as_ref()
                .and_then(|_| html::consent_mode::csp_nonce(headers)),
            closing: self
                .html
                .page
                .as_ref()
                .map(|page| page.markup(settings, headers)),
            opening: self
                .html
                .page
                .as_ref()
                .and_then(|page| page.skip_link(settings)),
        }
    }

    /// How the body is to be rewritten, if it is; and whether it is an HTML body passed
    /// through only because the layer cannot read it.
    fn rewrites(&self, status: StatusCode, headers: &http::HeaderMap) -> (Option<Coding>, bool) {
        match html::response::rewritable(status, headers, false) {
            Ok(coding) => (Some(coding), false),
            Err(Skip::NoBody | Skip::NotHtml) => (None, false),
            // A visitor who allowed everything has nothing to block: only the settings link
            // is missed, and that is not worth a warning on every page.
            Err(Skip::Encoded) if self.consent.allows_all() => (None, true),
            Err(Skip::Encoded) => {
                tracing::warn!(
                    "tower-consent: an HTML response arrived compressed and passes through without tracker blocking; serve navigations uncompressed to the layer (it asks by dropping Accept-Encoding), or turn on the `decompress` feature"
                );
                (None, true)
            }
            Err(Skip::Charset) => {
                tracing::warn!(
                    "tower-consent: an HTML response in a charset that is not ASCII-compatible passes through without tracker blocking"
                );
                (None, true)
            }
        }
    }
}

impl<F, B> ResponseFuture<F, B> {
    pub(crate) fn inner(future: F, filter: ResponseFilter) -> Self {
        ResponseFuture {
            kind: Kind::Inner { future, filter },
        }
    }

    pub(crate) fn endpoint(
        parts: request::Parts,
        body: B,
        format: Format,
        settings: Arc<Settings>,
    ) -> Self {
        let read = Box::new(EndpointRead {
            parts,
            format,
            buffer: BytesMut::new(),
            settings,
        });
        ResponseFuture {
            kind: Kind::Endpoint { body, read },
        }
    }

    pub(crate) fn answered(response: Response<Bytes>) -> Self {
        ResponseFuture {
            kind: Kind::Answered {
                response: Some(Box::new(response)),
            },
        }
    }
}

impl<F, B, ResBody, E> Future for ResponseFuture<F, B>
where
    F: Future<Output = Result<Response<ResBody>, E>>,
    B: Body,
{
    type Output = Result<Response<ConsentBody<ResBody>>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project().kind.project() {
            KindProj::Inner { future, filter } => {
                let response = ready!(future.poll(cx))?;
                let (mut parts, body) = response.into_parts();
                let body = match filter.apply(parts.status, &mut parts.headers) {
                    Some(coding) => {
                        let inserts = filter.inserts(&parts.headers);
                        ConsentBody::html(HtmlBody::new(
                            body,
                            filter.consent.shared_settings(),
                            filter.consent.allowed_set(),
                            coding,
                            inserts,
                        ))
                    }
                    None => ConsentBody::inner(body),
                };
                Poll::Ready(Ok(Response::from_parts(parts, body)))
            }
            KindProj::Endpoint { mut body, read } => loop {
                let response = match ready!(body.as_mut().poll_frame(cx)) {
                    Some(Ok(frame)) => {
                        // Trailers carry nothing the endpoint reads.
                        let Ok(data) = frame.into_data() else {
                            continue;
                        };
                        if read.buffer.len() + data.remaining() <= read.settings.max_body_bytes {
                            read.buffer.put(data);
                            continue;
                        }
                        endpoint::too_large(&read.settings)
                    }
                    Some(Err(_)) => endpoint::unreadable_body(),
                    None => {
                        endpoint::answer(&read.parts, read.format, &read.buffer, &read.settings)
                    }
                };
                return Poll::Ready(Ok(response.map(ConsentBody::full)));
            },
            KindProj::Answered { response } => {
                let response = response.take().map_or_else(
                    || {
                        // Polled again after completion: a caller's bug, answered without panicking.
                        let mut response = Response::new(Bytes::new());
                        *response.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
                        response
                    },
                    |boxed| *boxed,
                );
                Poll::Ready(Ok(response.map(ConsentBody::full)))
            }
        }
    }
}
