//! [`Consent`] as an Axum extractor (feature `axum`).

use axum_core::extract::{FromRequestParts, OptionalFromRequestParts};
use axum_core::response::{IntoResponse, Response};
use http::StatusCode;
use http::request::Parts;

use crate::Consent;

/// The request has no [`Consent`]: the handler is not behind a
/// [`ConsentLayer`](crate::ConsentLayer). Answers `500 Internal Server Error`, since this is a
/// wiring mistake in the application, not a fault of the visitor.
#[derive(Debug, Clone, Copy, Default, thiserror::Error)]
#[error(
    "tower-consent: no Consent in the request extensions; was ConsentLayer added around this route (Router::layer, not route_layer on another router)?"
)]
pub struct MissingConsent;

impl IntoResponse for MissingConsent {
    fn into_response(self) -> Response {
        tracing::error!("{self}");
        (StatusCode::INTERNAL_SERVER_ERROR, self.to_string()).into_response()
    }
}

impl<S: Sync> FromRequestParts<S> for Consent {
    type Rejection = MissingConsent;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<Consent>()
            .cloned()
            .ok_or(MissingConsent)
    }
}

impl<S: Sync> OptionalFromRequestParts<S> for Consent {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        _state: &S,
    ) -> Result<Option<Self>, Self::Rejection> {
        Ok(parts.extensions.get::<Consent>().cloned())
    }
}
