//! [`ConsentBody`]: the response body of the layer: the inner service's body, as it is or
//! through the HTML rewriter, or the consent endpoint's own.

use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use pin_project_lite::pin_project;

use crate::html::body::HtmlBody;

pin_project! {
    /// Response body of [`ConsentService`](crate::ConsentService).
    pub struct ConsentBody<B> {
        #[pin]
        kind: Kind<B>,
    }
}

pin_project! {
    #[project = KindProj]
    enum Kind<B> {
        Inner {
            #[pin]
            body: B,
        },
        Full {
            data: Option<Bytes>,
        },
        Html {
            #[pin]
            body: HtmlBody<B>,
        },
    }
}

impl<B> ConsentBody<B> {
    pub(crate) fn inner(body: B) -> Self {
        ConsentBody {
            kind: Kind::Inner { body },
        }
    }

    pub(crate) fn html(body: HtmlBody<B>) -> Self {
        ConsentBody {
            kind: Kind::Html { body },
        }
    }

    pub(crate) fn full(data: Bytes) -> Self {
        let data = (!data.is_empty()).then_some(data);
        ConsentBody {
            kind: Kind::Full { data },
        }
    }
}

/// The error of a [`ConsentBody`]: the inner body's, or the layer's own when a compressed page
/// cannot be decoded (so the response is cut off as failed, not ended as if whole), as
/// `tower-http`'s bodies box theirs.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

impl<B> Body for ConsentBody<B>
where
    B: Body<Data = Bytes>,
    B::Error: Into<BoxError>,
{
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        match self.project().kind.project() {
            KindProj::Inner { body } => body
                .poll_frame(cx)
                .map(|frame| frame.map(|result| result.map_err(Into::into))),
            KindProj::Full { data } => Poll::Ready(data.take().map(|d| Ok(Frame::data(d)))),
            KindProj::Html { body } => body.poll_frame(cx),
        }
    }

    fn is_end_stream(&self) -> bool {
        match &self.kind {
            Kind::Inner { body } => body.is_end_stream(),
            Kind::Full { data } => data.is_none(),
            Kind::Html { body } => body.is_end_stream(),
        }
    }

    fn size_hint(&self) -> SizeHint {
        match &self.kind {
            Kind::Inner { body } => body.size_hint(),
            Kind::Full { data } => {
                SizeHint::with_exact(data.as_ref().map_or(0, |d| d.len() as u64))
            }
            // The rewritten length is known only at the end.
            Kind::Html { .. } => SizeHint::default(),
        }
    }
}

impl<B> std::fmt::Debug for ConsentBody<B> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.kind {
            Kind::Inner { .. } => f.write_str("ConsentBody::Inner"),
            Kind::Html { .. } => f.write_str("ConsentBody::Html"),
            Kind::Full { data } => f
                .debug_struct("ConsentBody::Full")
                .field("len", &data.as_ref().map_or(0, Bytes::len))
                .finish(),
        }
    }
}
