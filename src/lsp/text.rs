//! The text of an open document and the translation between byte offsets (what spans hold) and
//! LSP positions (0-based line, column in UTF-16 code units), with incremental edits applied.

use lsp_types::{Position, Range, TextDocumentContentChangeEvent};

use crate::diagnostic::LineIndex;
use crate::source::Span;

/// A document's text with the start of each of its lines.
#[derive(Clone, Debug)]
pub struct Text {
    text: String,
    lines: LineIndex,
}

impl Text {
    pub fn new(text: String) -> Text {
        let lines = LineIndex::of(&text);
        Text { text, lines }
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The LSP position of byte `offset` (clamped to the text, and back to a character boundary).
    pub fn position(&self, offset: usize) -> Position {
        position_in(&self.text, &self.lines, offset)
    }

    /// The LSP range of a span of this text.
    pub fn range(&self, span: Span) -> Range {
        Range::new(self.position(span.start), self.position(span.end))
    }

    /// The byte offset of an LSP position. A column past the end of its line is the end of the
    /// line (the line break excluded); a line past the end is the end of the text; a column
    /// inside a character written with two UTF-16 units is the start of that character.
    pub fn offset(&self, position: Position) -> usize {
        offset_in(&self.text, &self.lines, position)
    }

    /// Applies the edits of one `didChange` notification, in order. An edit without a range
    /// replaces the whole text.
    pub fn apply(&mut self, changes: Vec<TextDocumentContentChangeEvent>) {
        for change in changes {
            match change.range {
                None => self.text = change.text,
                Some(range) => {
                    let start = self.offset(range.start);
                    let end = self.offset(range.end).max(start);
                    self.text.replace_range(start..end, &change.text);
                }
            }
            self.lines = LineIndex::of(&self.text);
        }
    }
}

/// The end of line `line` (where its line break starts), or of the text for the last line.
fn line_end(text: &str, lines: &LineIndex, line: usize) -> usize {
    let next = lines.start(line + 1).unwrap_or(text.len());
    let body = text.get(..next).unwrap_or(text);
    body.strip_suffix("\r\n")
        .or_else(|| body.strip_suffix('\n'))
        .or_else(|| body.strip_suffix('\r'))
        .map_or(next, str::len)
}

pub(crate) fn position_in(text: &str, lines: &LineIndex, offset: usize) -> Position {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    let line = lines.line_of(offset);
    let start = lines.start(line).unwrap_or(0);
    let column: usize = text.get(start..offset).map_or(0, |s| s.chars().map(char::len_utf16).sum());
    Position::new(u32::try_from(line).unwrap_or(u32::MAX), u32::try_from(column).unwrap_or(u32::MAX))
}

pub(crate) fn offset_in(text: &str, lines: &LineIndex, position: Position) -> usize {
    let line = usize::try_from(position.line).unwrap_or(usize::MAX);
    let Some(start) = lines.start(line) else { return text.len() };
    let end = line_end(text, lines, line);
    let want = usize::try_from(position.character).unwrap_or(usize::MAX);
    let mut units = 0;
    for (i, c) in text.get(start..end).unwrap_or_default().char_indices() {
        if units + c.len_utf16() > want {
            return start + i;
        }
        units += c.len_utf16();
    }
    end
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;

    #[test]
    fn columns_count_utf16_units() {
        // `é` is one unit and two bytes, `𝄞` two units and four bytes.
        let t = Text::new("ab\né𝄞x\r\nlast".to_string());
        let x = t.as_str().find('x').unwrap();
        assert_eq!(t.position(x), Position::new(1, 3));
        assert_eq!(t.offset(Position::new(1, 3)), x);
        // Inside the surrogate pair: the start of the character.
        assert_eq!(t.offset(Position::new(1, 2)), t.as_str().find('𝄞').unwrap());
        // Past the end of a line: its end, before `\r\n`.
        assert_eq!(t.offset(Position::new(1, 99)), x + 1);
        assert_eq!(t.position(t.as_str().len()), Position::new(2, 4));
        assert_eq!(t.offset(Position::new(9, 0)), t.as_str().len());
    }

    #[test]
    fn incremental_edits_apply_in_order() {
        let mut t = Text::new("né\nb".to_string());
        let edit = |l1, c1, l2, c2, s: &str| TextDocumentContentChangeEvent {
            range: Some(Range::new(Position::new(l1, c1), Position::new(l2, c2))),
            range_length: None,
            text: s.to_string(),
        };
        t.apply(vec![edit(0, 2, 0, 2, "🙂"), edit(1, 0, 1, 1, "c")]);
        assert_eq!(t.as_str(), "né🙂\nc");
        t.apply(vec![edit(0, 2, 0, 4, "")]);
        assert_eq!(t.as_str(), "né\nc");
    }
}
