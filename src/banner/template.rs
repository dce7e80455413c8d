//! The banner and the settings link rendered once per language when the layer is built, with
//! the parts that change per page view left as holes: the page's path (in a hidden field and
//! in the settings link's query) and the style element (which depends on the response's
//! `Content-Security-Policy`). A page view only fills the holes: every page of an undecided
//! visitor gets the banner, and rendering it (escaping every text, formatting the forms) cost
//! about a twentieth of the layer's time per page under load.

use super::render::{self, Page, Sheet, Style};
use super::{Banner, Insert};
use crate::consent::Categories;

/// Stands for the page's path while a template is rendered; never a real path (a control
/// character), and left as it is by `escape` and spelled `%01return-to%01` by the query
/// encoding, so each of its two spellings marks its own hole.
const RETURN_TO_HOLE: &str = "\u{1}return-to\u{1}";

/// Paths and styles every template is checked with before it is used.
const PROBE_PATHS: [&str; 3] = [
    "/",
    "/a b/<c>?d=\"e\"&f='g'",
    "/caf\u{e9}?q=\u{1}return-to\u{1}",
];

#[derive(Debug, Clone, PartialEq, Eq)]
enum Piece {
    Text(Box<str>),
    /// The path, escaped for an attribute value.
    ReturnTo,
    /// The path, encoded for a query and escaped.
    ReturnToQuery,
    Style,
}

/// One rendering with holes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Template {
    pieces: Vec<Piece>,
    sheet: Sheet,
    /// The length of the text pieces, to size the output once.
    text_len: usize,
}

/// A renderer of the banner or the link, as `render` has them.
type Render = fn(&Page<'_>, &Style) -> Vec<u8>;

impl Template {
    /// The template of `render` for `page`, or `None` when a text of the page happens to
    /// contain a hole's spelling: then the template would not render what `render` does,
    /// which the probes catch, and the page views render in full.
    fn new(render: Render, sheet: Sheet, page: &Page<'_>) -> Option<Template> {
        let holes = Page {
            return_to: RETURN_TO_HOLE,
            ..*page
        };
        let text = String::from_utf8(render(&holes, &Style::Hole)).ok()?;
        let spellings = [
            (render::escape(RETURN_TO_HOLE).into_owned(), Piece::ReturnTo),
            (
                render::escape(&render::encode_query_value(RETURN_TO_HOLE)).into_owned(),
                Piece::ReturnToQuery,
            ),
            (render::STYLE_HOLE.to_owned(), Piece::Style),
        ];
        let mut pieces = Vec::new();
        let mut rest = text.as_str();
        loop {
            let next = spellings
                .iter()
                .filter_map(|(spelling, piece)| {
                    Some((rest.find(spelling.as_str())?, spelling, piece))
                })
                .min_by_key(|(at, _, _)| *at);
            let Some((at, spelling, piece)) = next else {
                break;
            };
            if at > 0 {
                pieces.push(Piece::Text(rest[..at].into()));
            }
            pieces.push(piece.clone());
            rest = &rest[at + spelling.len()..];
        }
        if !rest.is_empty() {
            pieces.push(Piece::Text(rest.into()));
        }
        let text_len = pieces
            .iter()
            .map(|piece| match piece {
                Piece::Text(text) => text.len(),
                _ => 0,
            })
            .sum();
        let template = Template {
            pieces,
            sheet,
            text_len,
        };
        let styles = [
            Style::Inline(None),
            Style::Inline(Some("n0nce".into())),
            Style::Linked,
        ];
        for (path, style) in PROBE_PATHS
            .iter()
            .flat_map(|p| styles.iter().map(move |s| (p, s)))
        {
            let probe = Page {
                return_to: path,
                ..*page
            };
            if template.render(path, style, &page.banner.stylesheet_path) != render(&probe, style) {
                return None;
            }
        }
        Some(template)
    }

    /// The markup for a page view: the page's path and the response's style filled in.
    pub(crate) fn render(&self, return_to: &str, style: &Style, stylesheet_path: &str) -> Vec<u8> {
        let escaped = render::escape(return_to);
        let query = render::encode_query_value(return_to);
        let query = render::escape(&query);
        let mut out = String::with_capacity(
            self.text_len + self.sheet.css().len() + 4 * return_to.len() + 64,
        );
        for piece in &self.pieces {
            match piece {
                Piece::Text(text) => out.push_str(text),
                Piece::ReturnTo => out.push_str(&escaped),
                Piece::ReturnToQuery => out.push_str(&query),
                Piece::Style => render::style_element(style, self.sheet, stylesheet_path, &mut out),
            }
        }
        out.into_bytes()
    }
}

/// The templates of one layer's banner: for each language, the banner without and with the
/// GPC notice, and the settings link; and the skip link, which has no holes.
#[derive(Debug, Default)]
pub(crate) struct Templates {
    by_language: Vec<[Option<Template>; 3]>,
    skip_links: Vec<Box<[u8]>>,
}

impl Templates {
    pub(crate) fn build(banner: &Banner, categories: &Categories) -> Templates {
        let mut templates = Templates::default();
        for language in 0..banner.texts.len() {
            let page = |gpc| Page {
                banner,
                categories,
                language,
                return_to: "/",
                gpc,
            };
            templates.by_language.push([
                Template::new(render::banner, Sheet::Banner, &page(false)),
                Template::new(render::banner, Sheet::Banner, &page(true)),
                Template::new(render::settings_link, Sheet::Link, &page(false)),
            ]);
            templates
                .skip_links
                .push(render::skip_link(banner, language).into());
        }
        templates
    }

    /// The template of what a page view gets, if one could be made.
    pub(crate) fn get(&self, insert: Insert, language: usize, gpc: bool) -> Option<&Template> {
        let kinds = self.by_language.get(language)?;
        let kind = match insert {
            Insert::Banner if gpc => 1,
            Insert::Banner => 0,
            Insert::SettingsLink => 2,
        };
        kinds[kind].as_ref()
    }

    pub(crate) fn skip_link(&self, language: usize) -> Option<&[u8]> {
        self.skip_links.get(language).map(|link| &**link)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::banner::BannerConfig;

    fn banner(config: &BannerConfig) -> Banner {
        Banner::compile(config, &Categories::standard(), 1, "/consent").unwrap()
    }

    #[test]
    fn templates_render_what_the_renderers_do() {
        let categories = Categories::standard();
        let banner = banner(&BannerConfig::default());
        let paths = ["/", "/shop?x=1&y=<2>", "/\u{fc}ber uns", "/%01return-to%01"];
        let styles = [
            Style::Inline(None),
            Style::Inline(Some("abc\"def".into())),
            Style::Linked,
        ];
        for language in 0..banner.texts.len() {
            for (insert, gpc) in [
                (Insert::Banner, false),
                (Insert::Banner, true),
                (Insert::SettingsLink, false),
            ] {
                let template = banner
                    .templates
                    .get(insert, language, gpc)
                    .expect("every built-in wording has templates");
                for path in paths {
                    for style in &styles {
                        let page = Page {
                            banner: &banner,
                            categories: &categories,
                            language,
                            return_to: path,
                            gpc,
                        };
                        let direct = match insert {
                            Insert::Banner => render::banner(&page, style),
                            Insert::SettingsLink => render::settings_link(&page, style),
                        };
                        assert_eq!(
                            String::from_utf8(template.render(
                                path,
                                style,
                                &banner.stylesheet_path
                            ))
                            .unwrap(),
                            String::from_utf8(direct).unwrap(),
                            "language {language}, {insert:?}, gpc {gpc}, {path}, {style:?}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn a_text_spelling_a_hole_falls_back_to_full_rendering() {
        let mut config = BannerConfig::default();
        let texts: crate::banner::BannerTexts =
            serde_json::from_str(r#"{"title": "Cookies \u0001return-to\u0001 here"}"#).unwrap();
        config.texts.insert("en".into(), texts);
        let banner = banner(&config);
        let english = banner.languages.iter().position(|l| l == "en").unwrap();
        assert_eq!(banner.templates.get(Insert::Banner, english, false), None);
        // The link does not show the title: its template stands.
        assert!(
            banner
                .templates
                .get(Insert::SettingsLink, english, false)
                .is_some()
        );
    }
}
