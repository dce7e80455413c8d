//! The prefix and pattern rules for cookie names: a trie over their literal prefixes, walked
//! once along a name. (Exact names are a hash table's job, asked first: see `Catalog`.)
//!
//! Each node lists the rules whose literal is its path or a prefix of it, best first, so a
//! lookup is one walk down the name and one pass over a short list. (An anchored Aho-Corasick
//! automaton did this before, but its states also report the literals that only *end* the
//! path walked, so a site's `p_*` claimed Amplitude's `amp_…` cookies.)

use std::collections::BTreeMap;
use std::ops::Range;

use super::{Segment, Target, matches_segments};

/// A prefix or pattern rule, found through its literal and then checked against the whole name.
#[derive(Debug)]
pub(super) struct PrefixRule {
    /// The text every name the rule matches starts with (never empty).
    pub(super) literal: Box<[u8]>,
    /// `None` for a plain prefix; the segments of a pattern otherwise.
    pub(super) pattern: Option<Box<[Segment]>>,
    pub(super) target: Target,
    pub(super) from_site: bool,
}

impl PrefixRule {
    fn matches(&self, name: &[u8]) -> bool {
        self.pattern
            .as_deref()
            .is_none_or(|segments| matches_segments(segments, name))
    }
}

/// Prefix and pattern rules, compiled for lookup.
#[derive(Debug)]
pub(super) struct NameTrie {
    nodes: Vec<Node>,
    /// The bytes that lead out of the nodes with few edges, node after node...
    edge_bytes: Vec<u8>,
    /// ...and the node each leads to.
    edge_nodes: Vec<u32>,
    /// For each node with many edges, 256 entries: the node each byte leads to, 0 for none
    /// (the root is no one's child).
    rows: Vec<u32>,
    /// Per node, indexes in `rules` of the rules whose literal the node's path starts with,
    /// best first: a site's rule before a built-in one, then the longer literal, then the
    /// first declared. A node that ends no literal shares its parent's list.
    candidates: Vec<u32>,
    rules: Vec<PrefixRule>,
}

/// Nodes with more edges than this get a row of 256 entries. Most nodes have one or two edges,
/// which a scan finds at once; the few wide ones (the root, `_`) are on most names' path,
/// and a row finds any edge in one load.
const MAX_SCANNED_EDGES: usize = 4;

#[derive(Debug, Clone)]
enum Edges {
    /// In `edge_bytes` and `edge_nodes`.
    Few(Range<u32>),
    /// Row number in `rows`.
    Row(u32),
}

#[derive(Debug, Clone)]
struct Node {
    edges: Edges,
    candidates: Range<u32>,
}

impl NameTrie {
    /// `rules` in the order they were declared, which breaks ties between equal ranks.
    pub(super) fn new(rules: Vec<PrefixRule>) -> Self {
        let mut building = Building {
            nodes: vec![BuildingNode::default()],
        };
        for (index, rule) in rules.iter().enumerate() {
            let node = building.insert(&rule.literal);
            building.nodes[node].ends.push(index);
        }
        building.finish(rules)
    }

    /// The best rule that matches the whole name.
    pub(super) fn find(&self, name: &[u8]) -> Option<Target> {
        let mut node = self.nodes.first()?;
        for &byte in name {
            let Some(next) = self.child(node, byte) else {
                break;
            };
            node = next;
        }
        self.candidates
            .get(range(&node.candidates))?
            .iter()
            .filter_map(|index| self.rules.get(*index as usize))
            .find(|rule| rule.matches(name))
            .map(|rule| rule.target)
    }

    fn child(&self, node: &Node, byte: u8) -> Option<&Node> {
        let next = match &node.edges {
            Edges::Few(edges) => {
                let edges = range(edges);
                let at = self
                    .edge_bytes
                    .get(edges.clone())?
                    .iter()
                    .position(|b| *b == byte)?;
                *self.edge_nodes.get(edges.start + at)?
            }
            Edges::Row(row) => match *self.rows.get(*row as usize * 256 + usize::from(byte))? {
                0 => return None,
                next => next,
            },
        };
        self.nodes.get(next as usize)
    }
}

fn range(span: &Range<u32>) -> Range<usize> {
    span.start as usize..span.end as usize
}

/// The trie as it is built, from its root: children in ordered maps, and at each node the
/// rules whose literal ends there.
struct Building {
    nodes: Vec<BuildingNode>,
}

#[derive(Default)]
struct BuildingNode {
    children: BTreeMap<u8, usize>,
    ends: Vec<usize>,
}

impl Building {
    /// The node whose path spells `text`, made if missing.
    fn insert(&mut self, text: &[u8]) -> usize {
        let mut node = 0;
        for &byte in text {
            node = match self.nodes[node].children.get(&byte) {
                Some(child) => *child,
                None => {
                    let child = self.nodes.len();
                    self.nodes.push(BuildingNode::default());
                    self.nodes[node].children.insert(byte, child);
                    child
                }
            };
        }
        node
    }

    fn finish(self, rules: Vec<PrefixRule>) -> NameTrie {
        let building = self.nodes;
        let rank = |index: &usize| {
            let rule = &rules[*index];
            (
                std::cmp::Reverse(rule.from_site),
                std::cmp::Reverse(rule.literal.len()),
                *index,
            )
        };
        let mut nodes = Vec::with_capacity(building.len());
        let (mut edge_bytes, mut edge_nodes, mut rows, mut candidates) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        // Where the list each node inherits from its parent is stored: a node that ends no
        // literal shares it, one that does stores the longer list anew.
        let mut inherited: Vec<Range<u32>> = vec![0..0; building.len()];
        // A child is always made after its parent, so parents come first.
        for (index, node) in building.iter().enumerate() {
            let mut span = std::mem::take(&mut inherited[index]);
            if !node.ends.is_empty() {
                let mut list: Vec<usize> = candidates[range(&span)]
                    .iter()
                    .map(|i| *i as usize)
                    .chain(node.ends.iter().copied())
                    .collect();
                list.sort_by_key(rank);
                let start = small(candidates.len());
                candidates.extend(list.iter().map(|i| small(*i)));
                span = start..small(candidates.len());
            }
            for &child in node.children.values() {
                inherited[child] = span.clone();
            }
            let edges = if node.children.len() > MAX_SCANNED_EDGES {
                let row = rows.len() / 256;
                rows.resize(rows.len() + 256, 0);
                for (&byte, &child) in &node.children {
                    rows[row * 256 + usize::from(byte)] = small(child);
                }
                Edges::Row(small(row))
            } else {
                let start = small(edge_bytes.len());
                edge_bytes.extend(node.children.keys());
                edge_nodes.extend(node.children.values().map(|child| small(*child)));
                Edges::Few(start..small(edge_bytes.len()))
            };
            nodes.push(Node {
                edges,
                candidates: span,
            });
        }
        NameTrie {
            nodes,
            rows,
            edge_bytes,
            edge_nodes,
            candidates,
            rules,
        }
    }
}

/// An index as stored. A catalog has some thousands of nodes and rules; one with four billion
/// would not fit in memory, so the saturation here is never reached.
fn small(index: usize) -> u32 {
    u32::try_from(index).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// What the trie must answer, read straight from the rules: of those whose literal starts
    /// the name and whose pattern matches it, the best ranked.
    fn reference(rules: &[PrefixRule], name: &[u8]) -> Option<usize> {
        rules
            .iter()
            .enumerate()
            .filter(|(_, rule)| name.starts_with(&rule.literal) && rule.matches(name))
            .min_by_key(|(index, rule)| {
                (
                    std::cmp::Reverse(rule.from_site),
                    std::cmp::Reverse(rule.literal.len()),
                    *index,
                )
            })
            .map(|(_, rule)| rule.target.category)
    }

    /// Short texts over the first `letters` of eight: few letters make names, literals and
    /// patterns overlap often, more make nodes wide enough for a row.
    fn text(letters: usize) -> impl Strategy<Value = Vec<u8>> {
        proptest::collection::vec(
            proptest::sample::select(b"ab_cdefg"[..letters].to_vec()),
            1..5,
        )
    }

    /// Rules (a literal, a pattern's tail if any, whether the site declared it) and names to
    /// look up, over one alphabet.
    #[allow(clippy::type_complexity)]
    fn case() -> impl Strategy<Value = (Vec<(Vec<u8>, Option<Vec<u8>>, bool)>, Vec<Vec<u8>>)> {
        (2usize..=8).prop_flat_map(|letters| {
            (
                proptest::collection::vec(
                    (
                        text(letters),
                        proptest::option::of(text(letters)),
                        any::<bool>(),
                    ),
                    0..16,
                ),
                proptest::collection::vec(text(letters), 1..12),
            )
        })
    }

    proptest! {
        #[test]
        fn the_trie_answers_as_the_rules_read((rules, names) in case()) {
            // Categories number the rules, so an answer tells which rule gave it.
            let rules: Vec<PrefixRule> = rules
                .into_iter()
                .enumerate()
                .map(|(i, (literal, tail, from_site))| PrefixRule {
                    // A pattern `literal<any>tail`, or a plain prefix.
                    pattern: tail.clone().map(|tail| {
                        vec![Segment::Literal(literal.clone().into()), Segment::Any, Segment::Literal(tail.into())]
                            .into_boxed_slice()
                    }),
                    literal: literal.into(),
                    target: Target { category: i, service: None },
                    from_site,
                })
                .collect();
            let expected: Vec<Option<usize>> =
                names.iter().map(|name| reference(&rules, name)).collect();
            let trie = NameTrie::new(rules);
            let found: Vec<Option<usize>> =
                names.iter().map(|name| trie.find(name).map(|t| t.category)).collect();
            prop_assert_eq!(found, expected);
        }
    }
}
