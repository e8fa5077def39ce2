//! Text made to fit a width: one rule for every cut on screen — lists, the judged views and the
//! map — so a cut always ends with `…` and is never mistaken for the whole value.

use std::borrow::Cow;

use ratatui::text::Span;

/// Columns `text` takes on screen.
pub fn width(text: &str) -> usize {
    Span::raw(text).width()
}

/// `text` cut to `max` columns, ending with `…` when something was cut.
pub fn fit(text: &str, max: usize) -> Cow<'_, str> {
    if width(text) <= max {
        return Cow::Borrowed(text);
    }
    if max == 0 {
        return Cow::Borrowed("");
    }
    let mut out = String::new();
    let mut used = 0;
    for c in text.chars() {
        let mut buf = [0u8; 4];
        let w = width(c.encode_utf8(&mut buf));
        if used + w > max - 1 {
            break;
        }
        used += w;
        out.push(c);
    }
    out.push('…');
    Cow::Owned(out)
}

/// `ap-northeast-2a` → `2a`, the way people say it.
pub fn short_az(region: &str, az: &str) -> String {
    match (az.strip_prefix(region), region.chars().last()) {
        (Some(letter), Some(digit)) if !letter.is_empty() => format!("{digit}{letter}"),
        _ => az.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cut_ends_with_an_ellipsis_and_a_fit_is_unchanged() {
        assert_eq!(fit("lab-db fails over", 20), "lab-db fails over");
        assert_eq!(fit("lab-db fails over", 10), "lab-db fa…");
        assert_eq!(width(&fit("lab-db fails over", 10)), 10);
        assert_eq!(fit("abc", 1), "…");
        assert_eq!(fit("abc", 0), "");
        assert_eq!(fit("✓ lab-alb 1/2", 5), "✓ la…");
    }
}
