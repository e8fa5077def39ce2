//! Screen geometry shared by `update` (scroll limits, page sizes) and `draw`: which Regions the
//! map shows at a width and how tall it is, how many rows a list shows. It depends on the map
//! model only, so the state never reaches into drawing code for a size.

use ratatui::layout::Rect;

use super::map::{self, RegionMap};

/// Width a Region panel needs to be shown next to another.
pub const REGION_PANEL_WIDTH: u16 = 80;

/// Columns a map panel takes around its content (borders and one column of padding each side).
const PANEL_FRAME: u16 = 4;

/// Which Regions are shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RegionFocus {
    /// The Region shown when one is chosen (index into the topology's Regions).
    pub current: usize,
    /// Show every Region: side by side when the terminal is wide enough, else one after another.
    pub all: bool,
}

/// How the map lays out the Regions it shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MapLayout {
    /// One panel per Region, side by side (one panel when one Region is shown).
    Panels(Vec<usize>),
    /// Every Region one after another in one panel: all were asked for and they do not fit
    /// side by side.
    Stacked(Vec<usize>),
}

impl MapLayout {
    /// The Regions shown, in order.
    pub fn regions(&self) -> &[usize] {
        match self {
            MapLayout::Panels(r) | MapLayout::Stacked(r) => r,
        }
    }
}

/// The map's layout at this width.
pub fn map_layout(maps: &[RegionMap], focus: RegionFocus, width: u16) -> MapLayout {
    let n = maps.len();
    if n == 0 {
        return MapLayout::Panels(Vec::new());
    }
    if !focus.all || n == 1 {
        return MapLayout::Panels(vec![focus.current.min(n - 1)]);
    }
    if usize::from(width) >= usize::from(REGION_PANEL_WIDTH) * n {
        MapLayout::Panels((0..n).collect())
    } else {
        MapLayout::Stacked((0..n).collect())
    }
}

/// The panels of `count` Regions side by side in `area`.
pub fn panel_rects(area: Rect, count: usize) -> Vec<Rect> {
    let count = count.max(1) as u16;
    let width = area.width / count;
    (0..count)
        .map(|i| {
            let x = area.x + i * width;
            let w = if i + 1 == count {
                area.width - i * width
            } else {
                width
            };
            Rect::new(x, area.y, w, area.height)
        })
        .collect()
}

/// Content width of a map panel `width` columns wide.
pub fn panel_content_width(width: u16) -> u16 {
    width.saturating_sub(PANEL_FRAME)
}

/// Lines the map needs at this width, borders included.
pub fn map_content_height(maps: &[RegionMap], focus: RegionFocus, width: u16) -> usize {
    let content = match map_layout(maps, focus, width) {
        MapLayout::Stacked(_) => map::stacked(maps).height(panel_content_width(width)),
        MapLayout::Panels(shown) => {
            let area = Rect::new(0, 0, width, 1);
            shown
                .iter()
                .zip(panel_rects(area, shown.len()))
                .filter_map(|(i, r)| Some(maps.get(*i)?.height(panel_content_width(r.width))))
                .max()
                .unwrap_or(0)
        }
    };
    content + 2
}

/// Rows of the body (between the two header lines and the footer) on a screen this tall.
pub fn body_height(screen_rows: u16) -> usize {
    usize::from(screen_rows.saturating_sub(3))
}

/// Rows a list shows at once (body less borders and the column header).
pub fn list_page(screen_rows: u16) -> usize {
    body_height(screen_rows).saturating_sub(3).max(1)
}

/// Columns of the describe pane's text on a screen this wide (borders, one column of padding).
pub fn describe_width(screen_columns: u16) -> usize {
    usize::from(screen_columns.saturating_sub(3)).max(1)
}

/// The largest first line of a describe pane that still fills its page, long lines wrapped.
pub fn describe_max_scroll(lines: &[String], screen_columns: u16, page: usize) -> usize {
    let width = describe_width(screen_columns);
    let mut rows = 0;
    for (i, line) in lines.iter().enumerate().rev() {
        rows += super::fit::width(line).div_ceil(width).max(1);
        if rows > page {
            return i + 1;
        }
    }
    0
}
