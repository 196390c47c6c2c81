//! Text tables whose columns line up in a terminal, Chinese included: a CJK character takes two
//! columns there, so cells are padded by their display width, not by their count of characters.
//!
//! Every table of the command looks the same: indented by two spaces, two spaces between
//! columns, a rule of dashes under the header, numbers right-aligned and text left. A [`Table`]
//! is filled first and sized by its cells; [`Columns`] print a row at a time, as a benchmark's
//! figures come in.

use unicode_width::UnicodeWidthStr;

/// Columns `text` takes in a terminal: 2 for each CJK ideograph and full-width form, 1 for
/// most other characters.
pub fn display_width(text: &str) -> usize {
    text.width()
}

/// Where a cell's text sits in its column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Align {
    /// Text, padded on the right.
    Left,
    /// Figures, padded on the left so their last digits line up.
    Right,
}

/// A table filled row by row and rendered at the end: each column as wide as its widest cell,
/// right-aligned when every cell below the header is a number, a rate or a dash.
#[derive(Debug)]
pub struct Table {
    header: Vec<String>,
    rows: Vec<Vec<String>>,
}

impl Table {
    /// An empty table under `header`.
    pub fn new(header: &[&str]) -> Self {
        Self {
            header: header.iter().map(|h| (*h).to_owned()).collect(),
            rows: Vec::new(),
        }
    }

    /// Adds a row, one cell per header column.
    pub fn row(&mut self, cells: Vec<String>) {
        self.rows.push(cells);
    }

    /// The header and then every row, as cells (for CSV).
    pub fn rows(&self) -> impl Iterator<Item = &[String]> {
        std::iter::once(self.header.as_slice()).chain(self.rows.iter().map(Vec::as_slice))
    }

    /// The header, its rule and every row, each line ending in a newline.
    pub fn render(&self) -> String {
        let columns = self.columns();
        let mut out = columns.header();
        for row in &self.rows {
            out.push_str(&columns.line(row));
        }
        out
    }

    /// The layout that fits every cell.
    fn columns(&self) -> Columns {
        let mut widths = vec![0; self.header.len()];
        for row in std::iter::once(&self.header).chain(&self.rows) {
            for (width, cell) in widths.iter_mut().zip(row) {
                *width = (*width).max(display_width(cell));
            }
        }
        let aligns = (0..self.header.len())
            .map(|column| {
                let numeric = !self.rows.is_empty()
                    && self.rows.iter().all(|row| {
                        row.get(column).is_some_and(|cell| {
                            !cell.is_empty()
                                && cell.chars().all(|c| {
                                    c.is_ascii_digit() || matches!(c, '.' | '%' | '—' | '-')
                                })
                        })
                    });
                if numeric {
                    Align::Right
                } else {
                    Align::Left
                }
            })
            .collect();
        Columns {
            header: self.header.clone(),
            widths,
            aligns,
        }
    }
}

/// A table printed a row at a time: its columns' widths and alignment are fixed up front.
#[derive(Debug, Clone)]
pub struct Columns {
    header: Vec<String>,
    widths: Vec<usize>,
    aligns: Vec<Align>,
}

impl Columns {
    /// Columns with these titles, each as wide as its title or `width` if that is more.
    pub fn new(columns: &[(&str, usize, Align)]) -> Self {
        Self {
            header: columns
                .iter()
                .map(|(title, ..)| (*title).to_owned())
                .collect(),
            widths: columns
                .iter()
                .map(|(title, width, _)| display_width(title).max(*width))
                .collect(),
            aligns: columns.iter().map(|(.., align)| *align).collect(),
        }
    }

    /// The header line and the rule under it.
    pub fn header(&self) -> String {
        let rule: Vec<String> = self.widths.iter().map(|width| "-".repeat(*width)).collect();
        let mut out = self.line(&self.header);
        out.push_str(&self.line(&rule));
        out
    }

    /// One row, ending in a newline; a cell wider than its column pushes the rest of the row on.
    pub fn line<S: AsRef<str>>(&self, cells: &[S]) -> String {
        let mut text = String::from("  ");
        for (column, (width, align)) in self.widths.iter().zip(&self.aligns).enumerate() {
            let cell = cells.get(column).map_or("", AsRef::as_ref);
            let pad = " ".repeat(width.saturating_sub(display_width(cell)));
            match align {
                Align::Right => {
                    text.push_str(&pad);
                    text.push_str(cell);
                }
                Align::Left => {
                    text.push_str(cell);
                    text.push_str(&pad);
                }
            }
            text.push_str("  ");
        }
        let mut line = text.trim_end().to_owned();
        line.push('\n');
        line
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chinese_counts_two_columns_a_character() {
        assert_eq!(display_width("abc"), 3);
        assert_eq!(display_width("涌金社区"), 8);
        assert_eq!(display_width("清河区城市管理局（综合行政执法局）"), 34);
        assert_eq!(display_width("— 12.5%"), 7);
    }

    /// The byte offset in `line` where display column `column` starts.
    fn at_column(line: &str, column: usize) -> usize {
        let mut width = 0;
        for (offset, c) in line.char_indices() {
            if width >= column {
                return offset;
            }
            width += display_width(c.encode_utf8(&mut [0; 4]));
        }
        line.len()
    }

    #[test]
    fn columns_with_chinese_line_up_by_display_width() {
        let mut table = Table::new(&["area", "department", "cases"]);
        table.row(vec![
            "涌金社区".to_owned(),
            "清河区城市管理局".to_owned(),
            "12".to_owned(),
        ]);
        table.row(vec!["all".to_owned(), "water".to_owned(), "345".to_owned()]);
        table.row(vec![
            "  清波街道".to_owned(),
            "—".to_owned(),
            "—".to_owned(),
        ]);
        let rendered = table.render();
        let lines: Vec<&str> = rendered.lines().collect();
        assert_eq!(lines.len(), 5, "{rendered}");
        assert_eq!(
            lines[1], "  ----------  ----------------  -----",
            "{rendered}"
        );
        // Every line is as wide as the rule, and each column starts where the rule's does.
        let widths: Vec<usize> = lines.iter().map(|line| display_width(line)).collect();
        assert!(widths.iter().all(|w| *w == widths[1]), "{rendered}");
        for line in &lines {
            assert!(line[..at_column(line, 2)].trim().is_empty(), "{rendered}");
            assert_eq!(&line[at_column(line, 12)..at_column(line, 14)], "  ");
            assert_eq!(&line[at_column(line, 30)..at_column(line, 32)], "  ");
        }
        assert!(
            lines[2].starts_with("  涌金社区    清河区城市管理局  "),
            "{rendered}"
        );
        assert!(
            lines[3].starts_with("  all         water             "),
            "{rendered}"
        );
        assert!(
            lines[4].starts_with("    清波街道  —                 "),
            "{rendered}"
        );
        // Numbers and dashes right-aligned, text left.
        assert!(lines[2].ends_with("     12"), "{rendered}");
        assert!(lines[3].ends_with("    345"), "{rendered}");
        assert!(lines[4].ends_with("      —"), "{rendered}");
    }

    #[test]
    fn columns_print_a_row_at_a_time() {
        let columns = Columns::new(&[
            ("writers", 0, Align::Right),
            ("p50 ms", 8, Align::Right),
            ("kept up", 0, Align::Left),
        ]);
        assert_eq!(
            columns.header(),
            "  writers    p50 ms  kept up\n  -------  --------  -------\n"
        );
        assert_eq!(
            columns.line(&["16", "1.25", "yes"]),
            "       16      1.25  yes\n"
        );
        // A cell too wide for its column pushes the rest on rather than being cut.
        assert_eq!(
            columns.line(&["12345678", "1.25", "NO"]),
            "  12345678      1.25  NO\n"
        );
        assert_eq!(columns.line(&["中文"]), "     中文\n");
    }
}
