//! Proof of consent: every choice recorded at the endpoint goes to a [`ConsentSink`].
//!
//! GDPR Art. 7(1) asks a site to be able to demonstrate consent. The record holds no personal
//! data beyond the random consent id that the visitor's cookie also carries, so a site can match
//! a browser's cookie to the record of the choice behind it.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};

use serde::Serialize;

use crate::consent::ConsentId;
use crate::time::Rfc3339;

/// What the visitor did at the consent endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum Action {
    /// Allowed every category.
    Accept,
    /// Allowed only what is necessary.
    Reject,
    /// Allowed exactly the categories chosen.
    Save,
}

impl Action {
    /// The action's name as used in forms, JSON and records.
    pub fn as_str(&self) -> &'static str {
        match self {
            Action::Accept => "accept",
            Action::Reject => "reject",
            Action::Save => "save",
        }
    }
}

/// One recorded choice.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct ConsentRecord {
    /// The consent id, also stored in the visitor's consent cookie.
    #[serde(serialize_with = "serialize_id")]
    pub id: ConsentId,
    /// When the choice was made, in seconds since the Unix epoch.
    #[serde(serialize_with = "serialize_time")]
    pub time: u64,
    /// What the visitor did.
    pub action: Action,
    /// The optional categories allowed by this choice (`necessary` is implied).
    pub categories: Vec<String>,
    /// The policy revision the choice was made on.
    pub revision: u32,
    /// Whether the request carried `Sec-GPC: 1`.
    pub gpc: bool,
    /// The wording the choice was made on: the hash of the banner texts of the visitor's
    /// language and the policy revision (see [`ConsentLayer::wordings`](crate::ConsentLayer::wordings)).
    /// `None` when the submission named no wording this layer shows (a site's own banner).
    pub wording: Option<String>,
}

fn serialize_id<S: serde::Serializer>(id: &ConsentId, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(id)
}

fn serialize_time<S: serde::Serializer>(time: &u64, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(&Rfc3339(*time))
}

/// A sink could not record a choice. The endpoint then answers `503` and sets no cookie, so no
/// choice takes effect without its record.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SinkError {
    /// Writing the record failed.
    #[error("could not write consent record to {path}: {source}")]
    Io {
        /// The file written to.
        path: PathBuf,
        /// What the operating system said.
        #[source]
        source: std::io::Error,
    },
    /// A custom sink failed.
    #[error("could not record consent: {0}")]
    Other(#[source] Box<dyn std::error::Error + Send + Sync>),
}

/// Where recorded choices go.
///
/// `record` is called on the request path of the consent endpoint, before the reply is sent;
/// keep it quick (hand records to a queue if the store is slow). An error makes the endpoint
/// answer `503 Service Unavailable` without setting the consent cookie.
pub trait ConsentSink: Send + Sync + 'static {
    /// Stores one record.
    fn record(&self, record: &ConsentRecord) -> Result<(), SinkError>;
}

/// Discards every record. For tests, or when the site keeps proof elsewhere.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoopSink;

impl ConsentSink for NoopSink {
    fn record(&self, _record: &ConsentRecord) -> Result<(), SinkError> {
        Ok(())
    }
}

/// Appends one JSON object per line to a file:
///
/// ```text
/// {"id":"6f1c0e6a9d8b4b2f8e51c7a1d2e3f405","time":"2026-11-29T23:13:20Z","action":"save","categories":["analytics"],"revision":1,"gpc":false}
/// ```
///
/// The file is opened (and created) on the first record, in append mode, and each record is
/// written with a single `write` call, so lines from several processes do not interleave. Writes
/// go to the operating system's page cache and are not synced to disk one by one.
#[derive(Debug)]
pub struct JsonLinesSink {
    path: PathBuf,
    file: Mutex<Option<File>>,
}

impl JsonLinesSink {
    /// A sink appending to the file at `path`.
    ///
    /// ```
    /// let sink = tower_consent::JsonLinesSink::new("/var/lib/my-site/consent-log.jsonl");
    /// # drop(sink);
    /// ```
    pub fn new(path: impl Into<PathBuf>) -> Self {
        JsonLinesSink {
            path: path.into(),
            file: Mutex::new(None),
        }
    }

    /// The file written to.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn io_error(&self, source: std::io::Error) -> SinkError {
        SinkError::Io {
            path: self.path.clone(),
            source,
        }
    }
}

impl ConsentSink for JsonLinesSink {
    fn record(&self, record: &ConsentRecord) -> Result<(), SinkError> {
        let mut line =
            serde_json::to_vec(record).map_err(|e| self.io_error(std::io::Error::other(e)))?;
        line.push(b'\n');
        // A panic elsewhere while holding the lock leaves the file handle itself intact.
        let mut file = self.file.lock().unwrap_or_else(PoisonError::into_inner);
        if file.is_none() {
            let opened = OpenOptions::new()
                .create(true)
                .append(true)
                .open(&self.path)
                .map_err(|e| self.io_error(e))?;
            *file = Some(opened);
        }
        match file.as_mut() {
            Some(f) => f.write_all(&line).map_err(|e| self.io_error(e)),
            None => Err(self.io_error(std::io::Error::other("file not open"))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_lines_sink_appends_one_record_per_line() {
        let dir = std::env::temp_dir().join(format!("tower-consent-sink-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("log.jsonl");
        let _ = std::fs::remove_file(&path);
        let sink = JsonLinesSink::new(&path);
        for (i, action) in [Action::Accept, Action::Save].into_iter().enumerate() {
            sink.record(&ConsentRecord {
                id: ConsentId::from_u128(0xabc + i as u128),
                time: 1_764_457_200,
                action,
                categories: vec!["analytics".into()],
                revision: 2,
                gpc: i == 1,
                wording: (i == 1).then(|| "0123456789abcdef0123456789abcdef".into()),
            })
            .unwrap();
        }
        let text = std::fs::read_to_string(&path).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines[0],
            r#"{"id":"00000000000000000000000000000abc","time":"2025-11-29T23:00:00Z","action":"accept","categories":["analytics"],"revision":2,"gpc":false,"wording":null}"#
        );
        assert!(lines[1].contains(r#""action":"save""#));
        assert!(lines[1].ends_with(r#""gpc":true,"wording":"0123456789abcdef0123456789abcdef"}"#));
        assert_eq!(lines.len(), 2);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn json_lines_sink_reports_the_path_when_it_cannot_write() {
        let sink = JsonLinesSink::new("/nonexistent-dir/for/sure/log.jsonl");
        let err = sink
            .record(&ConsentRecord {
                id: ConsentId::from_u128(1),
                time: 0,
                action: Action::Reject,
                categories: vec![],
                revision: 1,
                gpc: false,
                wording: None,
            })
            .unwrap_err();
        assert!(
            err.to_string()
                .contains("/nonexistent-dir/for/sure/log.jsonl"),
            "{err}"
        );
    }
}
