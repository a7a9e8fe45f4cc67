//! The head of a declaration as Lean's parser reads it (`theorem NAME` then a binder or `:`), so both simulators refuse a name Lean would refuse, with the parse error Lean gives: at the offending token, `endPos` null; and the names an `obtain` pattern binds.

use datasets::lean::is_atomic_identifier;

/// Keywords a declaration whose name the parser reads starts with.
const NAMED: [&str; 4] = ["theorem", "lemma", "def", "abbrev"];

/// Modifiers that may come before the keyword.
const MODIFIERS: [&str; 5] = ["private", "protected", "noncomputable", "nonrec", "partial"];

/// Where Lean's parser stops in the head of the declaration `text` starts with, and its
/// message: a name that is not an identifier (`amc12a-2019-p21`, `2019_x`, `fun`, a line
/// break or a control character inside it, an unclosed `«`), or a name followed by anything
/// but a binder or `:`. `None` for a head Lean reads (or a text that is no named declaration).
pub fn declaration_head_error(text: &str) -> Option<(usize, String)> {
    let mut at = skip_space(text, 0);
    loop {
        let word_end = text[at..]
            .find(|c: char| c.is_whitespace())
            .map_or(text.len(), |i| at + i);
        let word = &text[at..word_end];
        if MODIFIERS.contains(&word) {
            at = skip_space(text, word_end);
            continue;
        }
        if !NAMED.contains(&word) || word_end == text.len() {
            return None;
        }
        at = skip_space(text, word_end);
        break;
    }
    // The name: components joined by `.`, each plain or quoted.
    loop {
        let rest = &text[at..];
        if let Some(quoted) = rest.strip_prefix('«') {
            let close = quoted.find(['»', '\n']);
            match close {
                Some(i)
                    if quoted[i..].starts_with('»')
                        && !quoted[..i].contains(char::is_control)
                        && i > 0 =>
                {
                    at += '«'.len_utf8() + i + '»'.len_utf8();
                }
                _ => return Some((at, "unterminated identifier escape".to_owned())),
            }
        } else {
            let end = rest
                .char_indices()
                .find(|&(_, c)| !is_name_char(c))
                .map_or(rest.len(), |(i, _)| i);
            let part = &rest[..end];
            if !is_atomic_identifier(part) {
                return Some((at, unexpected(rest, "identifier")));
            }
            at += end;
        }
        let rest = &text[at..];
        if rest.starts_with('.') && rest[1..].starts_with(|c: char| is_name_char(c) || c == '«') {
            at += 1;
            continue;
        }
        break;
    }
    if let Some(universes) = text[at..].strip_prefix(".{") {
        at += 2 + universes.find('}').map_or(universes.len(), |i| i + 1);
    }
    let at = skip_space(text, at);
    let rest = &text[at..];
    if rest.is_empty() || rest.starts_with(['(', '{', '[', '⦃', ':']) {
        return None;
    }
    Some((at, unexpected(rest, "':'")))
}

/// The names an `rcases` pattern binds, in order, and the rest of `text` after it: a name, `_`
/// or `-` (binding nothing the simulator models), `⟨p, …⟩`, `(p)` and alternatives `p | p`
/// (the names of the first). `None` when `text` opens no pattern or a bracket is left open.
pub fn rcases_pattern(text: &str) -> Option<(Vec<String>, &str)> {
    let mut names = Vec::new();
    let rest = pattern_alternatives(text.trim_start(), &mut names)?;
    Some((names, rest))
}

/// `p | p | …`: the first alternative's names (every alternative binds the same ones in a
/// pattern Lean accepts).
fn pattern_alternatives<'a>(text: &'a str, names: &mut Vec<String>) -> Option<&'a str> {
    let mut rest = pattern_one(text, names)?;
    while let Some(after) = rest.trim_start().strip_prefix('|') {
        rest = pattern_one(after.trim_start(), &mut Vec::new())?;
    }
    Some(rest)
}

fn pattern_one<'a>(text: &'a str, names: &mut Vec<String>) -> Option<&'a str> {
    for (open, close) in [('⟨', '⟩'), ('(', ')')] {
        let Some(mut rest) = text.strip_prefix(open) else {
            continue;
        };
        loop {
            rest = rest.trim_start();
            if let Some(after) = rest.strip_prefix(close) {
                return Some(after);
            }
            rest = pattern_alternatives(rest, names)?.trim_start();
            if let Some(after) = rest.strip_prefix(',') {
                rest = after;
            } else {
                return rest.strip_prefix(close);
            }
        }
    }
    if let Some(rest) = text.strip_prefix('-') {
        return Some(rest);
    }
    let end = text
        .char_indices()
        .find(|&(_, c)| !is_name_char(c) && c != '.')
        .map_or(text.len(), |(i, _)| i);
    let name = &text[..end];
    if name.is_empty() {
        return None;
    }
    if name != "_" {
        names.push(name.to_owned());
    }
    Some(&text[end..])
}

fn is_name_char(c: char) -> bool {
    c.is_alphanumeric()
        || matches!(c, '_' | '\'' | '!' | '?')
        || ('\u{2080}'..='\u{209C}').contains(&c)
}

fn skip_space(text: &str, from: usize) -> usize {
    from + (text[from..].len() - text[from..].trim_start().len())
}

/// Lean's parse error at the start of `rest`: `unexpected token 'X'; expected WHAT`.
fn unexpected(rest: &str, expected: &str) -> String {
    let token: String = match rest.chars().next() {
        Some(c) if c.is_alphanumeric() || c == '_' => {
            rest.chars().take_while(|&c| is_name_char(c)).collect()
        }
        Some(c) if c.is_control() || c.is_whitespace() => {
            return format!("unexpected character; expected {expected}");
        }
        Some(c) => c.to_string(),
        None => return format!("unexpected end of input; expected {expected}"),
    };
    if token.starts_with(|c: char| c.is_ascii_digit()) {
        return format!("unexpected token; expected {expected}");
    }
    format!("unexpected token '{token}'; expected {expected}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn heads_lean_reads_pass_and_the_others_stop_where_lean_stops() {
        for good in [
            "theorem t : True := trivial",
            "theorem t(x : ℕ) : x = x := rfl",
            "private theorem Foo.bar_1 {α} [Inhabited α] : True := trivial",
            "theorem «foo bar» : True := trivial",
            "theorem t.{u} (α : Sort u) : True := trivial",
            "lemma h₀' :\n True := trivial",
            "example : True := trivial",
            "#print axioms t",
        ] {
            assert_eq!(declaration_head_error(good), None, "{good}");
        }
        fn stop(text: &str) -> Option<&str> {
            declaration_head_error(text).map(|(at, _)| &text[at..])
        }
        assert_eq!(
            declaration_head_error("theorem amc12a-2019-p21__48425add (x : ℕ) : x = x := rfl"),
            Some((14, "unexpected token '-'; expected ':'".to_owned()))
        );
        assert!(
            stop("theorem a\naxiom b : False\n(x : ℕ) : x = x := rfl")
                .unwrap()
                .starts_with("axiom")
        );
        assert!(
            stop("theorem 2019_x : True := trivial")
                .unwrap()
                .starts_with("2019")
        );
        assert!(
            stop("theorem fun : True := trivial")
                .unwrap()
                .starts_with("fun")
        );
        assert!(
            stop("theorem a\u{1b}[2J : True := trivial")
                .unwrap()
                .starts_with('\u{1b}')
        );
        assert!(
            stop("theorem «a\nb» : True := trivial")
                .unwrap()
                .starts_with('«')
        );
        assert!(stop("theorem «» : True := trivial").is_some());
    }

    #[test]
    fn rcases_patterns_bind_their_names_in_order() {
        let read = |text| rcases_pattern(text).map(|(names, rest)| (names, rest.to_owned()));
        assert_eq!(
            read("⟨x, hx⟩ : ∃ x, x = 1 := by"),
            Some((
                vec!["x".to_owned(), "hx".to_owned()],
                " : ∃ x, x = 1 := by".to_owned()
            ))
        );
        assert_eq!(
            read("⟨k, ⟨h₁, _⟩, -⟩ : T").unwrap().0,
            ["k", "h₁"].map(str::to_owned)
        );
        assert_eq!(read("h | h : A ∨ B").unwrap().0, ["h"].map(str::to_owned));
        assert_eq!(
            read("(⟨a, b⟩) : T").unwrap().0,
            ["a", "b"].map(str::to_owned)
        );
        assert_eq!(read("⟨x, hx : T"), None);
        assert_eq!(read(": T"), None);
    }
}
