//! String-level edits of the AWS query-protocol XML answers the proxy has buffered: find
//! elements by name, read their text, replace their content, insert siblings. AWS answers have
//! no CDATA and escape every `<` in text, so a scan of tags is enough.

use std::ops::Range;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Open,
    Close,
    Empty,
}

struct Tag<'a> {
    name: &'a str,
    start: usize,
    end: usize,
    kind: Kind,
}

/// The tags in `xml[range]`, in order (declarations and comments left out).
fn tags(xml: &str, range: Range<usize>) -> impl Iterator<Item = Tag<'_>> {
    let mut at = range.start;
    std::iter::from_fn(move || {
        loop {
            let start = at + xml.get(at..range.end)?.find('<')?;
            let end = start + xml[start..range.end].find('>')? + 1;
            at = end;
            let inner = &xml[start + 1..end - 1];
            if inner.starts_with('?') || inner.starts_with('!') {
                continue;
            }
            let (kind, inner) = if let Some(rest) = inner.strip_prefix('/') {
                (Kind::Close, rest)
            } else if let Some(rest) = inner.strip_suffix('/') {
                (Kind::Empty, rest)
            } else {
                (Kind::Open, inner)
            };
            let name = inner.split_whitespace().next().unwrap_or_default();
            return Some(Tag {
                name,
                start,
                end,
                kind,
            });
        }
    })
}

/// The whole elements (tags included) named `name` that are direct children of `within`, the
/// content of some element (or the whole document).
pub(super) fn children(xml: &str, within: Range<usize>, name: &str) -> Vec<Range<usize>> {
    let mut found = Vec::new();
    let mut depth = 0usize;
    let mut open_at = None;
    for tag in tags(xml, within) {
        match tag.kind {
            Kind::Open => {
                if depth == 0 && tag.name == name {
                    open_at = Some(tag.start);
                }
                depth += 1;
            }
            Kind::Close => {
                depth = depth.saturating_sub(1);
                if depth == 0
                    && let Some(start) = open_at.take()
                {
                    found.push(start..tag.end);
                }
            }
            Kind::Empty => {
                if depth == 0 && tag.name == name {
                    found.push(tag.start..tag.end);
                }
            }
        }
    }
    found
}

/// The first element named `name` at any depth inside `within`.
pub(super) fn descendant(xml: &str, within: Range<usize>, name: &str) -> Option<Range<usize>> {
    let mut start = None;
    let mut depth = 0usize;
    for tag in tags(xml, within) {
        if tag.name != name {
            continue;
        }
        match (tag.kind, start) {
            (Kind::Empty, None) => return Some(tag.start..tag.end),
            (Kind::Open, None) => {
                start = Some(tag.start);
                depth = 1;
            }
            (Kind::Open, Some(_)) => depth += 1,
            (Kind::Close, Some(from)) => {
                depth -= 1;
                if depth == 0 {
                    return Some(from..tag.end);
                }
            }
            _ => {}
        }
    }
    None
}

/// The content of an element (between its tags); empty at its end for `<name/>`.
pub(super) fn content(xml: &str, element: Range<usize>) -> Range<usize> {
    let text = &xml[element.clone()];
    if text.ends_with("/>") {
        return element.end..element.end;
    }
    let open_end = text
        .find('>')
        .map_or(element.end, |i| element.start + i + 1);
    let close_start = text.rfind("</").map_or(element.end, |i| element.start + i);
    open_end..close_start.max(open_end)
}

/// The text of the direct child `name` of the element content `within`.
pub(super) fn child_text<'a>(xml: &'a str, within: Range<usize>, name: &str) -> Option<&'a str> {
    let element = children(xml, within, name).into_iter().next()?;
    Some(&xml[content(xml, element)])
}

/// The text of the first element `name` anywhere in `xml`.
pub(super) fn first_text<'a>(xml: &'a str, name: &str) -> Option<&'a str> {
    let element = descendant(xml, 0..xml.len(), name)?;
    Some(&xml[content(xml, element)])
}

/// The content of the first element `name` anywhere in `xml`, or the whole document.
pub(super) fn section(xml: &str, name: &str) -> Option<Range<usize>> {
    descendant(xml, 0..xml.len(), name).map(|element| content(xml, element))
}

/// Replacements of byte ranges of one document, applied together.
#[derive(Debug, Default)]
pub(super) struct Edits {
    edits: Vec<(Range<usize>, String)>,
}

impl Edits {
    /// Replaces `range` with `text`.
    pub(super) fn replace(&mut self, range: Range<usize>, text: impl Into<String>) {
        self.edits.push((range, text.into()));
    }

    /// Sets the text of the direct child `name` of the element content `within`; adds the
    /// child at the end of `within` when it is missing.
    pub(super) fn set_child(&mut self, xml: &str, within: Range<usize>, name: &str, text: &str) {
        match children(xml, within.clone(), name).into_iter().next() {
            Some(element) => self.replace(element, format!("<{name}>{text}</{name}>")),
            None => self.replace(within.end..within.end, format!("<{name}>{text}</{name}>")),
        }
    }

    /// Replaces the element `element` of a list whose content is `list` by `items` appended
    /// (for `<list/>`, the whole element is rewritten).
    pub(super) fn append(&mut self, xml: &str, list: Range<usize>, items: &str) {
        let text = &xml[list.clone()];
        if let Some(name) = text
            .strip_prefix('<')
            .and_then(|rest| rest.strip_suffix("/>"))
        {
            let name = name.trim();
            self.replace(list, format!("<{name}>{items}</{name}>"));
        } else {
            let at = content(xml, list).end;
            self.replace(at..at, items);
        }
    }

    /// Whether nothing is to be changed.
    pub(super) fn is_empty(&self) -> bool {
        self.edits.is_empty()
    }

    /// The edited document (overlapping edits keep the first one given).
    pub(super) fn apply(mut self, xml: &str) -> String {
        self.edits
            .sort_by_key(|(range, _)| (range.start, range.end));
        let mut out = String::with_capacity(xml.len() + 256);
        let mut at = 0;
        for (range, text) in self.edits {
            if range.start < at {
                continue;
            }
            out.push_str(&xml[at..range.start]);
            out.push_str(&text);
            at = range.end;
        }
        out.push_str(&xml[at..]);
        out
    }
}

/// Escapes text for an XML element.
pub(super) fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

#[cfg(test)]
mod tests {
    use super::*;

    const NATS: &str = "<?xml version=\"1.0\"?><R><natGatewaySet><item><natGatewayId>nat-1\
        </natGatewayId><natGatewayAddressSet><item><status>ok</status></item>\
        </natGatewayAddressSet><state>available</state></item><item><natGatewayId>nat-2\
        </natGatewayId><state>deleted</state><tagSet/></item></natGatewaySet></R>";

    #[test]
    fn finds_direct_children_and_edits_them() {
        let set = section(NATS, "natGatewaySet").expect("set");
        let items = children(NATS, set, "item");
        assert_eq!(items.len(), 2, "nested items are not direct children");
        let second = content(NATS, items[1].clone());
        assert_eq!(child_text(NATS, second.clone(), "state"), Some("deleted"));
        let mut edits = Edits::default();
        edits.set_child(NATS, second.clone(), "state", "deleting");
        edits.set_child(NATS, second, "progress", "50%");
        let tag_set = descendant(NATS, 0..NATS.len(), "tagSet").expect("tagSet");
        edits.append(NATS, tag_set, "<item><key>k</key></item>");
        let edited = edits.apply(NATS);
        assert!(edited.contains("<state>deleting</state><tagSet><item><key>k</key></item></tagSet><progress>50%</progress></item>"), "{edited}");
        assert!(edited.contains("<state>available</state>"));
        assert_eq!(first_text(NATS, "natGatewayId"), Some("nat-1"));
    }
}
