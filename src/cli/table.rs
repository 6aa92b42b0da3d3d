//! Text tables for listings (`log`, `backups`): a header and columns as wide as their widest cell.

/// How a column's cells line up.
#[derive(Clone, Copy)]
pub(crate) enum Align {
    Left,
    Right,
}

/// The header line and one line per row: cells two spaces apart, each column as wide as its
/// widest cell or heading; the last column is not padded, so lines carry no trailing spaces.
pub(crate) fn aligned(columns: &[(&str, Align)], rows: &[Vec<String>]) -> (String, Vec<String>) {
    let width = |i: usize| {
        rows.iter()
            .filter_map(|row| row.get(i))
            .map(|cell| cell.chars().count())
            .chain([columns[i].0.chars().count()])
            .max()
            .unwrap_or(0)
    };
    let widths: Vec<usize> = (0..columns.len()).map(width).collect();
    let line = |cells: Vec<&str>| {
        let last = cells.len().saturating_sub(1);
        let padded: Vec<String> = cells
            .iter()
            .enumerate()
            .map(|(i, cell)| match columns[i].1 {
                Align::Right => format!("{cell:>w$}", w = widths[i]),
                Align::Left if i == last => cell.to_string(),
                Align::Left => format!("{cell:<w$}", w = widths[i]),
            })
            .collect();
        padded.join("  ")
    };
    let header = line(columns.iter().map(|(name, _)| *name).collect());
    let lines = rows
        .iter()
        .map(|row| line(row.iter().map(String::as_str).collect()))
        .collect();
    (header, lines)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_are_as_wide_as_their_widest_cell() {
        let rows = vec![
            vec!["a".to_string(), "7".to_string(), "x".to_string()],
            vec!["bbbb".to_string(), "1234".to_string(), "yy".to_string()],
        ];
        let (header, lines) = aligned(
            &[
                ("NAME", Align::Left),
                ("MS", Align::Right),
                ("NOTE", Align::Left),
            ],
            &rows,
        );
        assert_eq!(header, "NAME    MS  NOTE");
        assert_eq!(lines, ["a        7  x", "bbbb  1234  yy"]);
    }
}
