//! A 3×5 block font for the large numerics of the TUI.

/// Glyph rows for one character; `#` is a filled cell.
fn glyph(c: char) -> [&'static str; 5] {
    match c {
        '0' => ["###", "# #", "# #", "# #", "###"],
        '1' => ["  #", "  #", "  #", "  #", "  #"],
        '2' => ["###", "  #", "###", "#  ", "###"],
        '3' => ["###", "  #", "###", "  #", "###"],
        '4' => ["# #", "# #", "###", "  #", "  #"],
        '5' => ["###", "#  ", "###", "  #", "###"],
        '6' => ["###", "#  ", "###", "# #", "###"],
        '7' => ["###", "  #", "  #", "  #", "  #"],
        '8' => ["###", "# #", "###", "# #", "###"],
        '9' => ["###", "# #", "###", "  #", "###"],
        '-' => ["   ", "   ", "###", "   ", "   "],
        '?' => ["###", "  #", " ##", "   ", " # "],
        _ => ["   ", "   ", "   ", "   ", "   "],
    }
}

/// The five text rows that draw `text` large (one blank column between characters).
pub fn render(text: &str) -> [String; 5] {
    let mut rows: [String; 5] = Default::default();
    for (i, c) in text.chars().enumerate() {
        let g = glyph(c);
        for (row, part) in rows.iter_mut().zip(g) {
            if i > 0 {
                row.push(' ');
            }
            row.extend(part.chars().map(|p| if p == '#' { '█' } else { ' ' }));
        }
    }
    rows
}

/// Width in cells of `render(text)`.
pub fn width(text: &str) -> usize {
    let n = text.chars().count();
    if n == 0 {
        0
    } else {
        n * 4 - 1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_digits() {
        let r = render("72");
        assert_eq!(r[0], "███ ███");
        assert_eq!(r[4], "  █ ███");
        assert_eq!(width("72"), 7);
        assert!(r.iter().all(|row| row.chars().count() == 7));
    }
}
