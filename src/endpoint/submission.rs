//! Reading a consent submission: an HTML form (`application/x-www-form-urlencoded`) or JSON.

use std::borrow::Cow;

use serde::Deserialize;

use crate::consent::{Categories, CategorySet};
use crate::sink::Action;

/// The two body formats the endpoint accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Format {
    Form,
    Json,
}

impl Format {
    /// The format of a `Content-Type` value (parameters such as `charset` are ignored).
    pub(crate) fn from_content_type(value: &[u8]) -> Option<Self> {
        let media_type = value.split(|b| *b == b';').next()?.trim_ascii();
        if media_type.eq_ignore_ascii_case(b"application/x-www-form-urlencoded") {
            Some(Format::Form)
        } else if media_type.eq_ignore_ascii_case(b"application/json") {
            Some(Format::Json)
        } else {
            None
        }
    }
}

/// A parsed, checked submission.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Submission {
    pub(crate) action: Action,
    /// The optional categories the choice grants.
    pub(crate) granted: CategorySet,
    pub(crate) return_to: Option<String>,
    /// The hash of the wording the visitor was shown, as the banner's forms send it.
    pub(crate) wording: Option<String>,
}

/// Why a submission cannot be read; the message is shown to the client as it is.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum SubmissionError {
    #[error("missing field `action` (expected accept, reject or save)")]
    MissingAction,
    #[error("unknown action {0:?} (expected accept, reject or save)")]
    UnknownAction(String),
    #[error("unknown category {name:?} (expected one of: {expected})")]
    UnknownCategory { name: String, expected: String },
    #[error("field `{0}` is given more than once")]
    Repeated(&'static str),
    #[error("the form body is not valid UTF-8")]
    NotUtf8,
    #[error("the JSON body is invalid: {0}")]
    Json(String),
}

pub(crate) fn parse(
    format: Format,
    body: &[u8],
    categories: &Categories,
) -> Result<Submission, SubmissionError> {
    match format {
        Format::Form => parse_form(body, categories),
        Format::Json => parse_json(body, categories),
    }
}

fn parse_form(body: &[u8], categories: &Categories) -> Result<Submission, SubmissionError> {
    let mut action = None;
    let mut return_to = None;
    let mut wording = None;
    let mut chosen = Vec::new();
    for (name, value) in form_pairs(body) {
        let (name, value) = (name?, value?);
        match &*name {
            "action" if action.is_some() => return Err(SubmissionError::Repeated("action")),
            "action" => action = Some(value),
            "return_to" if return_to.is_some() => {
                return Err(SubmissionError::Repeated("return_to"));
            }
            "return_to" => return_to = Some(value.into_owned()),
            "wording" if wording.is_some() => return Err(SubmissionError::Repeated("wording")),
            "wording" => wording = Some(truncate(&value)),
            "category" => chosen.push(value),
            // Other fields (a framework's CSRF token, a submit button's name) are not ours.
            _ => {}
        }
    }
    let action = parse_action(&action.ok_or(SubmissionError::MissingAction)?)?;
    Ok(Submission {
        granted: granted(action, chosen.iter().map(|c| &**c), categories)?,
        action,
        return_to,
        wording,
    })
}

#[derive(Deserialize)]
struct JsonSubmission<'a> {
    #[serde(borrow)]
    action: Cow<'a, str>,
    #[serde(default, borrow)]
    categories: Vec<Cow<'a, str>>,
    #[serde(default, borrow)]
    wording: Option<Cow<'a, str>>,
}

fn parse_json(body: &[u8], categories: &Categories) -> Result<Submission, SubmissionError> {
    // A derived `Deserialize` also reads a struct from an array, by position (`["accept"]`):
    // only the object the endpoint documents is taken.
    let first = body
        .iter()
        .find(|b| !matches!(b, b' ' | b'\t' | b'\n' | b'\r'));
    if first != Some(&b'{') {
        return Err(SubmissionError::Json("expected an object".into()));
    }
    let submission: JsonSubmission<'_> =
        serde_json::from_slice(body).map_err(|e| SubmissionError::Json(e.to_string()))?;
    let action = parse_action(&submission.action)?;
    Ok(Submission {
        granted: granted(
            action,
            submission.categories.iter().map(|c| &**c),
            categories,
        )?,
        action,
        return_to: None,
        wording: submission.wording.map(|w| truncate(&w)),
    })
}

fn parse_action(action: &str) -> Result<Action, SubmissionError> {
    match action {
        "accept" => Ok(Action::Accept),
        "reject" => Ok(Action::Reject),
        "save" => Ok(Action::Save),
        other => Err(SubmissionError::UnknownAction(truncate(other))),
    }
}

/// The optional categories an action grants. Every named category must exist, whatever the
/// action, so that a mistyped name is caught; `necessary` may be named and is implied anyway.
fn granted<'a>(
    action: Action,
    chosen: impl Iterator<Item = &'a str>,
    categories: &Categories,
) -> Result<CategorySet, SubmissionError> {
    let mut set = CategorySet::EMPTY;
    for name in chosen {
        let index = categories
            .index_of(name)
            .ok_or_else(|| SubmissionError::UnknownCategory {
                name: truncate(name),
                expected: categories
                    .iter()
                    .map(|(_, c)| c.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
            })?;
        set = set.with(index);
    }
    let optional = categories.all().minus(CategorySet::NECESSARY);
    Ok(match action {
        Action::Accept => optional,
        Action::Reject => CategorySet::EMPTY,
        Action::Save => set.intersect(optional),
    })
}

/// Echoed names are cut short, so an error message cannot be made arbitrarily large.
fn truncate(s: &str) -> String {
    s.chars().take(64).collect()
}

type Decoded<'a> = Result<Cow<'a, str>, SubmissionError>;

/// `application/x-www-form-urlencoded` pairs, decoded as the WHATWG URL standard does: `+` is
/// a space, `%XX` a byte, and a `%` not followed by two hex digits stays as it is.
pub(crate) fn form_pairs(body: &[u8]) -> impl Iterator<Item = (Decoded<'_>, Decoded<'_>)> {
    body.split(|b| *b == b'&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (name, value) = match memchr::memchr(b'=', pair) {
                Some(eq) => (&pair[..eq], &pair[eq + 1..]),
                None => (pair, &b""[..]),
            };
            (percent_decode(name), percent_decode(value))
        })
}

fn percent_decode(input: &[u8]) -> Decoded<'_> {
    if !input.iter().any(|b| matches!(b, b'%' | b'+')) {
        return std::str::from_utf8(input)
            .map(Cow::Borrowed)
            .map_err(|_| SubmissionError::NotUtf8);
    }
    let mut out = Vec::with_capacity(input.len());
    let mut i = 0;
    while i < input.len() {
        match input[i] {
            b'+' => out.push(b' '),
            b'%' => match (input.get(i + 1), input.get(i + 2)) {
                (Some(h), Some(l)) if h.is_ascii_hexdigit() && l.is_ascii_hexdigit() => {
                    out.push(hex(*h) << 4 | hex(*l));
                    i += 2;
                }
                _ => out.push(b'%'),
            },
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out)
        .map(Cow::Owned)
        .map_err(|_| SubmissionError::NotUtf8)
}

fn hex(digit: u8) -> u8 {
    (digit as char).to_digit(16).map_or(0, |d| d as u8)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn categories() -> Categories {
        Categories::standard()
    }

    fn form(body: &str) -> Result<Submission, SubmissionError> {
        parse(Format::Form, body.as_bytes(), &categories())
    }

    fn json(body: &str) -> Result<Submission, SubmissionError> {
        parse(Format::Json, body.as_bytes(), &categories())
    }

    #[test]
    fn content_types() {
        assert_eq!(
            Format::from_content_type(b"application/x-www-form-urlencoded"),
            Some(Format::Form)
        );
        assert_eq!(
            Format::from_content_type(b"Application/JSON; charset=utf-8"),
            Some(Format::Json)
        );
        for other in [
            &b"text/plain"[..],
            b"multipart/form-data; boundary=x",
            b"",
            b"application/jsonx",
        ] {
            assert_eq!(Format::from_content_type(other), None);
        }
    }

    #[test]
    fn form_actions() {
        let all = CategorySet::EMPTY.with(1).with(2).with(3);
        assert_eq!(form("action=accept").unwrap().granted, all);
        assert_eq!(
            form("action=reject&category=analytics").unwrap().granted,
            CategorySet::EMPTY
        );
        let save =
            form("action=save&category=analytics&category=necessary&return_to=%2Fa%3Fb%3Dc+d")
                .unwrap();
        assert_eq!(save.granted, CategorySet::EMPTY.with(2));
        assert_eq!(save.action, Action::Save);
        assert_eq!(save.return_to.as_deref(), Some("/a?b=c d"));
        assert_eq!(
            form("csrf=1&action=save").unwrap().granted,
            CategorySet::EMPTY
        );
    }

    #[test]
    fn form_errors_name_the_problem() {
        assert_eq!(form(""), Err(SubmissionError::MissingAction));
        assert_eq!(
            form("action=maybe"),
            Err(SubmissionError::UnknownAction("maybe".into()))
        );
        assert_eq!(
            form("action=save&action=accept"),
            Err(SubmissionError::Repeated("action"))
        );
        let err = form("action=save&category=tracking")
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            "unknown category \"tracking\" (expected one of: necessary, preferences, analytics, marketing)"
        );
        assert_eq!(form("action=%FF"), Err(SubmissionError::NotUtf8));
        assert_eq!(form("action=a%cc"), Err(SubmissionError::NotUtf8));
    }

    #[test]
    fn json_submissions() {
        let save = json(r#"{"action":"save","categories":["marketing"],"extra":1}"#).unwrap();
        assert_eq!(save.granted, CategorySet::EMPTY.with(3));
        assert_eq!(
            json(r#"{"action":"reject"}"#).unwrap().granted,
            CategorySet::EMPTY
        );
        assert!(matches!(json("not json"), Err(SubmissionError::Json(_))));
        // Only an object, not the same fields by position.
        for array in [r#"["accept"]"#, r#" ["save",["analytics"]]"#, "", "  "] {
            assert_eq!(
                json(array),
                Err(SubmissionError::Json("expected an object".into())),
                "{array:?}"
            );
        }
        assert!(json(" \n\t{\"action\":\"accept\"}").is_ok());
        assert!(matches!(
            json(r#"{"categories":[]}"#),
            Err(SubmissionError::Json(_))
        ));
        assert!(matches!(
            json(r#"{"action":"save","categories":"analytics"}"#),
            Err(SubmissionError::Json(_))
        ));
        assert_eq!(
            json(r#"{"action":"ACCEPT"}"#),
            Err(SubmissionError::UnknownAction("ACCEPT".into()))
        );
        let escaped = json(r#"{"action":"sav\u0065","categories":["anal\u0079tics"]}"#).unwrap();
        assert_eq!(escaped.granted, CategorySet::EMPTY.with(2));
    }

    #[test]
    fn percent_decoding_is_lenient_like_browsers() {
        assert_eq!(percent_decode(b"a%2").unwrap(), "a%2");
        assert_eq!(percent_decode(b"%zz%41").unwrap(), "%zzA");
        assert_eq!(percent_decode(b"%").unwrap(), "%");
    }

    proptest! {
        #[test]
        fn arbitrary_bodies_never_panic(body in proptest::collection::vec(any::<u8>(), 0..300)) {
            let _ = parse(Format::Form, &body, &categories());
            let _ = parse(Format::Json, &body, &categories());
        }
    }
}
