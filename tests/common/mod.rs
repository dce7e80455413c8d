//! What the integration tests share: a reply read whole, a sink that keeps its records, and
//! sending a request through a layer to a test site.
// Each test crate uses a part of this module.
#![allow(dead_code)]

use std::convert::Infallible;
use std::future::Future;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http::header::SET_COOKIE;
use http::{HeaderMap, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use tower::{Layer, ServiceExt, service_fn};
use tower_consent::{ConsentLayer, ConsentRecord, ConsentSink, SinkError};

/// A response with its body read whole.
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: String,
}

impl Reply {
    pub fn set_cookies(&self) -> Vec<String> {
        self.headers
            .get_all(SET_COOKIE)
            .iter()
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
            .collect()
    }

    pub fn set_cookie_names(&self) -> Vec<String> {
        self.set_cookies()
            .iter()
            .map(|c| c.split('=').next().unwrap().to_string())
            .collect()
    }

    /// `name=value` of the consent cookie set by this reply.
    pub fn consent_cookie(&self) -> String {
        self.set_cookies()
            .into_iter()
            .find(|c| c.split('=').next().unwrap().ends_with("consent"))
            .map(|c| c.split(';').next().unwrap().to_string())
            .expect("a consent cookie")
    }
}

/// Sends `req` through `layer` to `site`, and reads the reply.
pub async fn send_to<F, Fut>(layer: &ConsentLayer, site: F, req: Request<Full<Bytes>>) -> Reply
where
    F: FnMut(Request<Full<Bytes>>) -> Fut,
    Fut: Future<Output = Result<Response<Full<Bytes>>, Infallible>>,
{
    let response = layer.layer(service_fn(site)).oneshot(req).await.unwrap();
    read(response).await
}

/// Reads a response of the layer whole.
pub async fn read<B>(response: Response<B>) -> Reply
where
    B: http_body::Body,
    B::Error: std::fmt::Debug,
{
    let (parts, body) = response.into_parts();
    let body = body.collect().await.unwrap().to_bytes();
    Reply {
        status: parts.status,
        headers: parts.headers,
        body: String::from_utf8_lossy(&body).into_owned(),
    }
}

/// Records every choice, for assertions.
#[derive(Clone, Default)]
pub struct Recorder(Arc<Mutex<Vec<ConsentRecord>>>);

impl ConsentSink for Recorder {
    fn record(&self, record: &ConsentRecord) -> Result<(), SinkError> {
        self.0.lock().unwrap().push(record.clone());
        Ok(())
    }
}

impl Recorder {
    pub fn records(&self) -> Vec<ConsentRecord> {
        self.0.lock().unwrap().clone()
    }
}
