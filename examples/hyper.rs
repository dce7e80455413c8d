//! The consent layer on a bare Hyper server, without Axum: `cargo run --example hyper`.
//!
//! A Tower `service_fn` answers every path; the layer in front of it handles `/consent`, puts
//! the visitor's `Consent` into the request extensions, and removes the tracking cookies the
//! visitor did not allow. Set `PORT` to choose the port (default: any free one).

use std::convert::Infallible;
use std::net::SocketAddr;

use bytes::Bytes;
use http::header::{CONTENT_TYPE, SET_COOKIE};
use http::{HeaderValue, Request, Response};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use hyper_util::service::TowerToHyperService;
use tower::{Layer, service_fn};
use tower_consent::{Consent, ConsentLayer, NoopSink};

async fn handle(req: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    let allowed = req
        .extensions()
        .get::<Consent>()
        .map(|consent| {
            consent
                .allowed()
                .map(|c| c.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        })
        .unwrap_or_default();
    let body = format!(
        "<!doctype html><title>tower-consent on hyper</title>\
         <p>Allowed: {allowed}</p>\
         <form method=post action=/consent><button name=action value=accept>Accept all</button>\
         <button name=action value=reject>Reject all</button></form>"
    );
    let mut response = Response::new(Full::new(Bytes::from(body)));
    let headers = response.headers_mut();
    headers.insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    headers.append(
        SET_COOKIE,
        HeaderValue::from_static("_ga=GA1.1.42.1764460000; Path=/"),
    );
    headers.append(
        SET_COOKIE,
        HeaderValue::from_static("_fbp=fb.1.1764460000000.42; Path=/"),
    );
    Ok(response)
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let layer = ConsentLayer::builder()
        // Plain HTTP on 127.0.0.1: a `Secure` cookie would not come back. Never in production.
        .secure_cookie(false)
        .sink(NoopSink)
        .build()?;
    let service = layer.layer(service_fn(handle));

    let port: u16 = match std::env::var("PORT") {
        Ok(port) => port
            .parse()
            .map_err(|_| format!("PORT={port:?} is not a port number"))?,
        Err(_) => 0,
    };
    let listener = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], port))).await?;
    println!("tower-consent on hyper: http://{}/", listener.local_addr()?);
    loop {
        let (stream, _) = listener.accept().await?;
        let service = TowerToHyperService::new(service.clone());
        tokio::spawn(async move {
            let connection = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service);
            if let Err(error) = connection.await {
                eprintln!("connection error: {error}");
            }
        });
    }
}
