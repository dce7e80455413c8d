//! [`HtmlBody`]: an HTML response body streamed through the rewriter.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};

use bytes::Bytes;
use http::HeaderMap;
use http_body::{Body, Frame};
use pin_project_lite::pin_project;

use crate::body::BoxError;
use crate::config::Settings;
use crate::consent::CategorySet;

#[cfg(feature = "decompress")]
use super::decode::Decoder;
use super::response::Coding;
use super::{PageInserts, Rewriter};

pin_project! {
    /// The inner body's frames rewritten as they arrive: each data frame's output goes out before
    /// the next frame is polled, trailers after the last data.
    pub(crate) struct HtmlBody<B> {
        #[pin]
        inner: B,
        settings: Arc<Settings>,
        // Boxed: the rewriter's state is a few hundred bytes, and the response future that
        // carries the body should stay small.
        rewriter: Box<Rewriter>,
        trailers: Option<HeaderMap>,
        ended: bool,
        // Why the body cannot be whole (a compressed page that does not decode): given to the
        // client after what was rewritten, so the response fails instead of ending early.
        failed: Option<BoxError>,
        decoding: Decoding,
    }
}

/// A compressed body's decoder, with the `decompress` feature (boxed: rare, and large); nothing
/// without it.
struct Decoding {
    #[cfg(feature = "decompress")]
    decoder: Option<Box<Decoder>>,
}

impl<B> HtmlBody<B> {
    /// A body arriving with `coding` (anything but identity only with `decompress`), with
    /// what this page view gets inserted.
    pub(crate) fn new(
        inner: B,
        settings: Arc<Settings>,
        allowed: CategorySet,
        coding: Coding,
        inserts: PageInserts,
    ) -> Self {
        let rewriter = Box::new(Rewriter::for_page(&*settings, allowed, inserts));
        #[cfg(not(feature = "decompress"))]
        let _ = coding;
        HtmlBody {
            inner,
            settings,
            rewriter,
            trailers: None,
            ended: false,
            failed: None,
            decoding: Decoding {
                #[cfg(feature = "decompress")]
                decoder: Decoder::new(coding).map(Box::new),
            },
        }
    }
}

impl<B> Body for HtmlBody<B>
where
    B: Body<Data = Bytes>,
    B::Error: Into<BoxError>,
{
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let mut this = self.project();
        loop {
            if let Some(output) = this.rewriter.next_output() {
                return Poll::Ready(Some(Ok(Frame::data(output))));
            }
            if *this.ended {
                if let Some(error) = this.failed.take() {
                    return Poll::Ready(Some(Err(error)));
                }
                return Poll::Ready(this.trailers.take().map(|t| Ok(Frame::trailers(t))));
            }
            #[cfg(feature = "decompress")]
            if let Some(decoder) = this.decoding.decoder.as_mut().filter(|d| d.has_pending()) {
                // Decoded a piece at a time, so a small chunk that expands a thousandfold
                // never sits in memory whole.
                match decoder.step() {
                    Ok(decoded) if decoded.is_empty() => {}
                    Ok(decoded) => {
                        this.rewriter.push(&**this.settings, &decoded);
                        continue;
                    }
                    Err(error) => {
                        tracing::error!(%error, "tower-consent: a compressed HTML body could not be decoded; the response fails here");
                        this.rewriter.end(&**this.settings);
                        *this.ended = true;
                        *this.failed = Some(Box::new(error));
                        continue;
                    }
                }
            }
            match ready!(this.inner.as_mut().poll_frame(cx)) {
                Some(Ok(frame)) => match frame.into_data() {
                    Ok(data) => {
                        #[cfg(feature = "decompress")]
                        if let Some(decoder) = this.decoding.decoder.as_mut() {
                            decoder.feed(data);
                            continue;
                        }
                        this.rewriter.push(&**this.settings, &data);
                        if this.inner.is_end_stream() {
                            // The last data: ended now, so that the frame it gives is known to
                            // be the last and goes out with the end of the body, not in a
                            // small write of its own (which Nagle's algorithm and a delayed
                            // acknowledgement can hold back for 40 ms).
                            this.rewriter.end(&**this.settings);
                            *this.ended = true;
                        }
                    }
                    Err(frame) => {
                        // Trailers end the data: what is held goes out first.
                        this.rewriter.end(&**this.settings);
                        *this.ended = true;
                        *this.trailers = frame.into_trailers().ok();
                    }
                },
                Some(Err(error)) => return Poll::Ready(Some(Err(error.into()))),
                None => {
                    #[cfg(feature = "decompress")]
                    if let Some(decoder) = this.decoding.decoder.as_mut() {
                        if let Err(error) = decoder.finish() {
                            tracing::error!(%error, "tower-consent: a compressed HTML body ended early; the response fails here");
                            *this.failed = Some(Box::new(error));
                        }
                    }
                    this.rewriter.end(&**this.settings);
                    *this.ended = true;
                }
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.ended && self.trailers.is_none() && self.rewriter.is_drained()
    }
}
