//! What a command prints: a human summary, or one JSON value with `--json`.
use serde_json::Value;

pub struct Output {
    pub json: Value,
    pub human: String,
}

impl Output {
    pub fn new(json: Value, human: impl Into<String>) -> Self {
        Self {
            json,
            human: human.into(),
        }
    }

    pub fn print(&self, json: bool) {
        if json {
            println!(
                "{}",
                serde_json::to_string_pretty(&self.json).unwrap_or_default()
            );
        } else {
            println!("{}", self.human.trim_end());
        }
    }
}

/// Rows as aligned columns (the last column is not padded).
pub fn table(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (i, cell) in row.iter().enumerate() {
            if let Some(w) = widths.get_mut(i) {
                *w = (*w).max(cell.chars().count());
            }
        }
    }
    let line = |cells: Vec<&str>| {
        let last = cells.len().saturating_sub(1);
        let mut out = String::new();
        for (i, c) in cells.iter().enumerate() {
            if i == last {
                out.push_str(c);
            } else {
                let pad = widths[i].saturating_sub(c.chars().count());
                out.push_str(c);
                out.push_str(&" ".repeat(pad + 2));
            }
        }
        out.trim_end().to_string() + "\n"
    };
    let mut out = line(header.to_vec());
    for row in rows {
        out.push_str(&line(row.iter().map(String::as_str).collect()));
    }
    out
}

/// One page of a listing: the table (or `empty` when there is nothing), and how to ask for
/// the next page of `oidc-admin <command> list`.
pub fn page(
    command: &str,
    header: &[&str],
    rows: &[Vec<String>],
    empty: &str,
    next: Option<&str>,
    limit: u16,
) -> String {
    let mut human = if rows.is_empty() {
        empty.to_string()
    } else {
        table(header, rows)
    };
    if let Some(next) = next {
        human.push_str(&format!(
            "More: oidc-admin {command} list --after {next} --limit {limit}\n"
        ));
    }
    human
}
