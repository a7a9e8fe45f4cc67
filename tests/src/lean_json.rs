//! Lean's `Json.pretty` (width 80) re-implemented, so the simulated REPL writes the bytes real Lean writes.
//!
//! Lean renders JSON through its `Format` pretty printer:
//! - an array is `Format.bracket "[" (joinSep elems ("," ++ line)) "]"`;
//! - an object is `Format.bracket "{" (joinSep kvs ("," ++ line)) "}"`, each pair being
//!   `group (key ++ ":" ++ line ++ value)`, with the keys in *reverse* sorted order (the pairs are
//!   collected by a left fold over an ordered map that prepends);
//! - `bracket l f r` is `group (nest l.length (l ++ f ++ r))`.
//!
//! A group is printed flat when its flat width plus the text that follows it up to the next line
//! break fits in the remaining width; otherwise its own line breaks become newlines. Widths count
//! Unicode code points, like Lean.

use serde_json::Value;

/// Lean's default width for `Json.pretty`, the one the REPL uses.
pub const WIDTH: usize = 80;

/// Renders `value` as Lean's `Json.pretty` would with width 80.
pub fn pretty(value: &Value) -> String {
    pretty_width(value, WIDTH)
}

/// Renders `value` as Lean's `Json.pretty value width` would.
pub fn pretty_width(value: &Value, width: usize) -> String {
    let doc = render(value);
    let mut out = String::new();
    layout(&doc, width, &mut out);
    out
}

/// Escapes a string the way Lean's `Json.escape` does: only `"`, `\`, newline, carriage return
/// and other control characters are escaped; everything else, including non-ASCII, is raw.
pub fn escape_string(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            c if (c as u32) < 0x20 => {
                // Lean builds these digits with `Nat.toDigits 16`, which is lower case.
                out.push_str(&format!("\\u{:04x}", c as u32));
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

enum Doc {
    Text(String),
    Line,
    Nest(usize, Box<Doc>),
    Group(Box<Doc>),
    Concat(Vec<Doc>),
}

fn text(s: &str) -> Doc {
    Doc::Text(s.to_owned())
}

fn bracket(open: &str, inner: Doc, close: &str) -> Doc {
    let n = open.chars().count();
    Doc::Group(Box::new(Doc::Nest(
        n,
        Box::new(Doc::Concat(vec![text(open), inner, text(close)])),
    )))
}

fn join_sep(items: Vec<Doc>) -> Doc {
    let mut parts = Vec::with_capacity(items.len() * 3);
    for (i, item) in items.into_iter().enumerate() {
        if i > 0 {
            parts.push(text(","));
            parts.push(Doc::Line);
        }
        parts.push(item);
    }
    Doc::Concat(parts)
}

fn render_string(s: &str) -> Doc {
    let mut out = String::with_capacity(s.len() + 2);
    escape_string(s, &mut out);
    Doc::Text(out)
}

fn render(value: &Value) -> Doc {
    match value {
        Value::Null => text("null"),
        Value::Bool(true) => text("true"),
        Value::Bool(false) => text("false"),
        Value::Number(n) => Doc::Text(n.to_string()),
        Value::String(s) => render_string(s),
        Value::Array(elems) => bracket("[", join_sep(elems.iter().map(render).collect()), "]"),
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            // Lean's RBMap is ordered by `String.lt` (code points, which is UTF-8 byte order) and
            // the fold that collects the pairs prepends, so they come out in reverse order.
            keys.sort_unstable_by(|a, b| b.cmp(a));
            let kvs = keys
                .into_iter()
                .map(|k| {
                    Doc::Group(Box::new(Doc::Concat(vec![
                        render_string(k),
                        text(":"),
                        Doc::Line,
                        render(&map[k]),
                    ])))
                })
                .collect();
            bracket("{", join_sep(kvs), "}")
        }
    }
}

/// One pending piece of work: a document at an indentation, printed flat or not.
struct Item<'a> {
    indent: usize,
    flat: bool,
    doc: &'a Doc,
}

/// Lean's `Format.prettyM`, restricted to the constructors JSON uses.
fn layout(doc: &Doc, width: usize, out: &mut String) {
    let mut stack = vec![Item {
        indent: 0,
        flat: false,
        doc,
    }];
    let mut column = 0usize;
    while let Some(item) = stack.pop() {
        match item.doc {
            Doc::Text(s) => {
                out.push_str(s);
                column += s.chars().count();
            }
            Doc::Line => {
                if item.flat {
                    out.push(' ');
                    column += 1;
                } else {
                    out.push('\n');
                    out.extend(std::iter::repeat_n(' ', item.indent));
                    column = item.indent;
                }
            }
            Doc::Nest(n, inner) => stack.push(Item {
                indent: item.indent + n,
                flat: item.flat,
                doc: inner,
            }),
            Doc::Concat(parts) => {
                for part in parts.iter().rev() {
                    stack.push(Item {
                        indent: item.indent,
                        flat: item.flat,
                        doc: part,
                    });
                }
            }
            Doc::Group(inner) => {
                let flat = item.flat || {
                    let room = width.saturating_sub(column);
                    fits(inner, &stack, room)
                };
                stack.push(Item {
                    indent: item.indent,
                    flat,
                    doc: inner,
                });
            }
        }
    }
}

/// Whether `group` printed flat, followed by the pending work up to its next newline, takes at
/// most `room` columns (Lean's `spaceUptoLine`: nested groups in the rest count as flat).
fn fits(group: &Doc, rest: &[Item<'_>], room: usize) -> bool {
    let mut used = 0usize;
    match space(group, true, room, &mut used) {
        Measure::TooWide => return false,
        Measure::FoundLine => return true,
        Measure::Continue => {}
    }
    for item in rest.iter().rev() {
        match space(item.doc, item.flat, room, &mut used) {
            Measure::TooWide => return false,
            Measure::FoundLine => return true,
            Measure::Continue => {}
        }
    }
    true
}

enum Measure {
    TooWide,
    FoundLine,
    Continue,
}

fn space(doc: &Doc, flat: bool, room: usize, used: &mut usize) -> Measure {
    match doc {
        Doc::Text(s) => {
            *used += s.chars().count();
            if *used > room {
                Measure::TooWide
            } else {
                Measure::Continue
            }
        }
        Doc::Line if flat => {
            *used += 1;
            if *used > room {
                Measure::TooWide
            } else {
                Measure::Continue
            }
        }
        Doc::Line => Measure::FoundLine,
        Doc::Nest(_, inner) => space(inner, flat, room, used),
        Doc::Group(inner) => space(inner, true, room, used),
        Doc::Concat(parts) => {
            for part in parts {
                match space(part, flat, room, used) {
                    Measure::Continue => {}
                    stop => return stop,
                }
            }
            Measure::Continue
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn short_objects_stay_on_one_line() {
        let v = json!({"proofStatus": "Completed", "proofState": 2, "goals": []});
        assert_eq!(
            pretty(&v),
            r#"{"proofStatus": "Completed", "proofState": 2, "goals": []}"#
        );
        assert_eq!(
            pretty(&json!({"message": "Unknown proof state."})),
            r#"{"message": "Unknown proof state."}"#
        );
        assert_eq!(pretty(&json!({})), "{}");
        assert_eq!(pretty(&json!([])), "[]");
    }

    #[test]
    fn readme_answers_byte_for_byte() {
        let first = json!({
            "sorries": [{"proofState": 0, "pos": {"line": 1, "column": 29},
                         "goal": "x : Unit\n⊢ Nat", "endPos": {"line": 1, "column": 34}}],
            "messages": [{"severity": "warning", "pos": {"line": 1, "column": 4},
                          "endPos": {"line": 1, "column": 5}, "data": "declaration uses `sorry`"}],
            "env": 0
        });
        let expected = "{\"sorries\":\n [{\"proofState\": 0,\n   \"pos\": {\"line\": 1, \"column\": 29},\n   \"goal\": \"x : Unit\\n⊢ Nat\",\n   \"endPos\": {\"line\": 1, \"column\": 34}}],\n \"messages\":\n [{\"severity\": \"warning\",\n   \"pos\": {\"line\": 1, \"column\": 4},\n   \"endPos\": {\"line\": 1, \"column\": 5},\n   \"data\": \"declaration uses `sorry`\"}],\n \"env\": 0}";
        assert_eq!(pretty(&first), expected);
        let second = json!({"proofStatus": "Incomplete: open goals remain", "proofState": 1,
                            "goals": ["x : Unit\n⊢ Int"]});
        assert_eq!(
            pretty(&second),
            "{\"proofStatus\": \"Incomplete: open goals remain\",\n \"proofState\": 1,\n \"goals\": [\"x : Unit\\n⊢ Int\"]}"
        );
    }

    #[test]
    fn control_characters_use_lower_case_unicode_escapes() {
        let mut s = String::new();
        escape_string("a\tb\u{1b}\"\\\r\n⊢", &mut s);
        assert_eq!(s, "\"a\\u0009b\\u001b\\\"\\\\\\r\\n⊢\"");
    }

    /// Every recorded answer re-rendered from its parsed value must reproduce Lean's bytes.
    #[test]
    fn every_recorded_answer_round_trips() {
        let Some(dir) = crate::test_data::find_or_skip(
            "fixtures/repl-transcripts",
            "every_recorded_answer_round_trips",
        ) else {
            return;
        };
        let mut checked = 0;
        for path in crate::sim::transcript_prefixes(&dir) {
            let out = std::fs::read_to_string(format!("{}.expected.out", path.display())).unwrap();
            for block in crate::sim::split_answers(&out) {
                let body = block.trim_end_matches('\n');
                let value: Value = serde_json::from_str(body).unwrap();
                assert_eq!(pretty(&value), body, "in {}", path.display());
                checked += 1;
            }
        }
        assert!(checked >= 200, "only {checked} answers found");
    }
}
