//! Where each pane goes for a terminal size. Shared by `update` (page sizes) and the view.

use ratatui::layout::Rect;

use crate::config::Layout;

/// Terminals at least this wide put the reader beside the list in `auto` layout.
pub const WIDE_MIN_WIDTH: u16 = 140;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Areas {
    pub sidebar: Rect,
    pub list: Rect,
    pub reader: Rect,
    pub status: Rect,
    /// Reader beside the list (true) or under it.
    pub wide: bool,
}

/// Where the panes go; with `fullscreen` the reader takes the whole screen above the status line
/// and the sidebar and list get no room.
pub fn areas(size: Rect, layout: Layout, fullscreen: bool) -> Areas {
    areas_with(size, layout, fullscreen, false)
}

/// The areas of the app's screen as its state says (the mailboxes pane may be hidden).
pub fn areas_of(state: &crate::app::state::AppState) -> Areas {
    areas_with(
        state.size,
        state.layout,
        state.fullscreen,
        state.sidebar_hidden,
    )
}

/// Columns of text in the reader pane of the app's screen (inside its border).
pub fn reader_cols_of(state: &crate::app::state::AppState) -> u16 {
    areas_of(state).reader.width.saturating_sub(2).max(1)
}

/// [`areas`], with the mailboxes pane hidden (`no_sidebar`: the list and reader take its room).
pub fn areas_with(size: Rect, layout: Layout, fullscreen: bool, no_sidebar: bool) -> Areas {
    let status = Rect {
        y: size.y + size.height.saturating_sub(1),
        height: size.height.min(1),
        ..size
    };
    let body = Rect {
        height: size.height.saturating_sub(1),
        ..size
    };
    let side_w = if no_sidebar {
        0
    } else {
        (body.width / 5).clamp(18, 32).min(body.width)
    };
    let sidebar = Rect {
        width: side_w,
        ..body
    };
    let right = Rect {
        x: body.x + side_w,
        width: body.width - side_w,
        ..body
    };
    let wide = is_wide(size, layout);
    if fullscreen {
        let none = Rect {
            width: 0,
            height: 0,
            ..body
        };
        return Areas {
            sidebar: none,
            list: none,
            reader: body,
            status,
            wide,
        };
    }
    let (list, reader) = if wide {
        let lw = right.width * 45 / 100;
        (
            Rect { width: lw, ..right },
            Rect {
                x: right.x + lw,
                width: right.width - lw,
                ..right
            },
        )
    } else {
        let lh = (right.height * 2 / 5).max(5).min(right.height);
        (
            Rect {
                height: lh,
                ..right
            },
            Rect {
                y: right.y + lh,
                height: right.height - lh,
                ..right
            },
        )
    };
    Areas {
        sidebar,
        list,
        reader,
        status,
        wide,
    }
}

/// The first sidebar row shown when `selected` must be visible in `height` rows.
pub fn sidebar_start(selected: usize, height: usize) -> usize {
    selected.saturating_sub(height.saturating_sub(1))
}

/// Whether (x, y) is inside `r` and below its top border: the row inside the pane's border,
/// counted from 0.
pub fn row_in(r: Rect, x: u16, y: u16) -> Option<u16> {
    let inside = x > r.x && x + 1 < r.x + r.width && y > r.y && y + 1 < r.y + r.height;
    inside.then(|| y - r.y - 1)
}

/// Whether the reader goes beside the list (else under it).
pub fn is_wide(size: Rect, layout: Layout) -> bool {
    match layout {
        Layout::Wide => true,
        Layout::Tall => false,
        Layout::Auto => size.width >= WIDE_MIN_WIDTH,
    }
}

/// Rows of messages visible in the list pane (inside its border), as laid out without the
/// full-screen reader (the list keeps its page size behind it).
pub fn list_rows(size: Rect, layout: Layout) -> u32 {
    u32::from(areas(size, layout, false).list.height.saturating_sub(2)).max(1)
}

/// Columns of text in the reader pane (inside its border).
pub fn reader_cols(size: Rect, layout: Layout, fullscreen: bool) -> u16 {
    areas(size, layout, fullscreen)
        .reader
        .width
        .saturating_sub(2)
        .max(1)
}

/// Lines of text visible in the reader pane (inside its border).
pub fn reader_rows(size: Rect, layout: Layout, fullscreen: bool) -> u16 {
    areas(size, layout, fullscreen)
        .reader
        .height
        .saturating_sub(2)
        .max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wide_and_tall() {
        let a = areas(Rect::new(0, 0, 200, 50), Layout::Auto, false);
        assert!(a.wide);
        assert_eq!(a.list.y, a.reader.y);
        let t = areas(Rect::new(0, 0, 100, 40), Layout::Auto, false);
        assert!(!t.wide);
        assert_eq!(t.reader.y, t.list.y + t.list.height);
        assert_eq!(t.status.y, 39);
        // Tiny terminals do not underflow.
        let z = areas(Rect::new(0, 0, 10, 2), Layout::Auto, false);
        assert!(z.sidebar.width <= 10);
        // Full screen: the reader takes everything but the status line.
        let f = areas(Rect::new(0, 0, 100, 40), Layout::Auto, true);
        assert_eq!(f.reader, Rect::new(0, 0, 100, 39));
        assert_eq!(f.list.area(), 0);
        assert_eq!(f.sidebar.area(), 0);
    }
}
