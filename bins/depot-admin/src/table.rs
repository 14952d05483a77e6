//! Aligned plain-text columns for the human-readable output: what `ps` and `kubectl get` print,
//! without borders, so the output stays greppable and pastes cleanly.

/// Columns of text, each as wide as its widest cell, two spaces apart. The last column is not
/// padded, so no line ends in blanks.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Table {
    header: Option<Vec<String>>,
    rows: Vec<Vec<String>>,
}

/// Between two columns.
const GAP: &str = "  ";

impl Table {
    /// A table whose first line names the columns.
    pub(crate) fn with_header<I, S>(header: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Self {
            header: Some(header.into_iter().map(Into::into).collect()),
            rows: Vec::new(),
        }
    }

    /// A table without a header line: `name  value` pairs, say.
    pub(crate) fn plain() -> Self {
        Self::default()
    }

    /// Appends a row. Rows shorter than the widest are filled with empty cells.
    pub(crate) fn row<I, S>(&mut self, cells: I) -> &mut Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.rows.push(cells.into_iter().map(Into::into).collect());
        self
    }

    /// Whether the table has no rows (a header alone does not count).
    pub(crate) fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// The lines, each ending in `\n`.
    pub(crate) fn render(&self) -> String {
        let lines: Vec<&Vec<String>> = self.header.iter().chain(&self.rows).collect();
        let columns = lines.iter().map(|line| line.len()).max().unwrap_or(0);
        let mut widths = vec![0; columns];
        for line in &lines {
            for (width, cell) in widths.iter_mut().zip(line.iter()) {
                *width = (*width).max(display_width(cell));
            }
        }
        let mut out = String::new();
        for line in lines {
            let mut text = String::new();
            for (index, width) in widths.iter().enumerate() {
                let cell = line.get(index).map_or("", String::as_str);
                if index > 0 {
                    text.push_str(GAP);
                }
                text.push_str(&sanitize(cell));
                if index + 1 < columns {
                    text.extend(std::iter::repeat_n(' ', width - display_width(cell)));
                }
            }
            out.push_str(text.trim_end());
            out.push('\n');
        }
        out
    }
}

/// Columns a cell takes. Counted in characters: names the server returns are mostly ASCII,
/// and a wide character costs no more than a slightly ragged column.
fn display_width(cell: &str) -> usize {
    sanitize(cell).chars().count()
}

/// A cell on one line: a value holding a newline or a control character (a key, say, that a
/// server sent) must not break or recolour the table.
fn sanitize(cell: &str) -> String {
    cell.chars()
        .map(|c| if c.is_control() { '?' } else { c })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_align_to_the_widest_cell() {
        let mut table = Table::with_header(["EMAIL", "ID", "STATE"]);
        table
            .row(["a@example.com", "b09693b73b3c7686", "enabled"])
            .row(["long.name@example.org", "1", "disabled"]);
        assert_eq!(
            table.render(),
            "EMAIL                  ID                STATE\n\
             a@example.com          b09693b73b3c7686  enabled\n\
             long.name@example.org  1                 disabled\n"
        );
    }

    #[test]
    fn no_trailing_blanks_and_short_rows_are_filled() {
        let mut table = Table::plain();
        table
            .row(["state", "enabled"])
            .row(["flags", ""])
            .row(["x"]);
        assert_eq!(table.render(), "state  enabled\nflags\nx\n");
    }

    #[test]
    fn header_alone_and_empty() {
        let table = Table::with_header(["NAME", "SIZE"]);
        assert!(table.is_empty());
        assert_eq!(table.render(), "NAME  SIZE\n");
        assert_eq!(Table::plain().render(), "");
    }

    #[test]
    fn control_characters_cannot_break_lines() {
        let mut table = Table::with_header(["A", "B"]);
        table.row(["x\ny", "\u{1b}[31mred"]);
        assert_eq!(table.render(), "A    B\nx?y  ?[31mred\n");
    }

    #[test]
    fn non_ascii_counts_characters() {
        let mut table = Table::with_header(["NAME", "N"]);
        table.row(["ünï", "1"]);
        assert_eq!(table.render(), "NAME  N\nünï   1\n");
    }
}
