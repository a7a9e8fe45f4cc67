//! From a server's choices to scored candidates: cut at stop strings, strip, score, merge duplicates.

use crate::search::Candidate;

use super::wire::Choice;

/// One sampled completion, whichever endpoint it came from.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Sample {
    /// The raw completion text.
    pub(super) text: String,
    /// `(token text if known, log-probability)` for each sampled token with a numeric value;
    /// `None` when the server gave no log-probabilities for this choice.
    pub(super) tokens: Option<Vec<(Option<String>, f64)>>,
}

impl Sample {
    /// The sample of a completions or chat choice; `null` log-probabilities are skipped.
    pub(super) fn from_choice(choice: Choice) -> Sample {
        let text = choice
            .text
            .or_else(|| choice.message.and_then(|m| m.content))
            .unwrap_or_default();
        let tokens = choice.logprobs.and_then(|lp| {
            if let Some(content) = lp.content {
                Some(
                    content
                        .into_iter()
                        .filter_map(|t| t.logprob.map(|l| (t.token, l)))
                        .collect(),
                )
            } else {
                let values = lp.token_logprobs?;
                // Token texts pair with values only when both lists are complete.
                let texts = lp.tokens.filter(|t| t.len() == values.len());
                let mut texts = texts.map(Vec::into_iter);
                Some(
                    values
                        .into_iter()
                        .filter_map(|v| {
                            let token = texts.as_mut().and_then(Iterator::next);
                            v.map(|v| (token, v))
                        })
                        .collect(),
                )
            }
        });
        Sample { text, tokens }
    }
}

/// How a candidate's text is cleaned up.
#[derive(Debug, Clone, Copy)]
pub(super) struct Cleanup<'a> {
    pub(super) stop: &'a [String],
    /// Chat models often answer in a Markdown code fence even when asked not to.
    pub(super) unwrap_code_fence: bool,
}

/// Scores for `samples` in server order, best first, duplicates merged.
///
/// - The text is cut at the earliest stop string (in case the server ignored `stop`), then
///   stripped; empty results are dropped.
/// - The score is the mean log-probability of the tokens kept (BFS-Prover's token-mean,
///   `docs/search-algorithm.md` §3). Tokens past a client-side cut are left out when the token
///   texts spell the completion; otherwise all tokens count.
/// - If any kept sample has no log-probability at all, every sample gets a rank score instead,
///   `-ln(rank + 1)` for the `rank`-th kept sample (0, −0.69, −1.10, …): a server without
///   log-probabilities still returns its samples in some order, and mixing the two scales
///   would let one kind always win. The values fall in the range token means usually have.
/// - Samples with the same text merge into one candidate with the best score, in the position
///   of the first; the result is then sorted by score, best first (stable, so ties keep server
///   order).
pub(super) fn candidates(samples: Vec<Sample>, cleanup: Cleanup<'_>) -> Vec<Candidate> {
    let mut kept: Vec<(String, Option<f64>)> = Vec::new();
    for sample in samples {
        let (cut_text, mean) = cut_and_score(&sample, cleanup.stop);
        let mut tactic = cut_text.trim();
        if cleanup.unwrap_code_fence {
            tactic = unwrap_code_fence(tactic);
        }
        if !tactic.is_empty() {
            kept.push((tactic.to_owned(), mean));
        }
    }
    let use_logprobs = kept.iter().all(|(_, mean)| mean.is_some());
    let mut out: Vec<Candidate> = Vec::with_capacity(kept.len());
    for (rank, (tactic, mean)) in kept.into_iter().enumerate() {
        let score = match mean {
            Some(mean) if use_logprobs => mean,
            _ => -((rank + 1) as f64).ln(),
        };
        match out.iter_mut().find(|c| c.tactic == tactic) {
            Some(existing) => existing.score = existing.score.max(score),
            None => out.push(Candidate::new(tactic, score)),
        }
    }
    out.sort_by(|a, b| b.score.total_cmp(&a.score));
    out
}

/// The text up to the earliest stop string, and the mean log-probability of its tokens.
fn cut_and_score<'s>(sample: &'s Sample, stop: &[String]) -> (&'s str, Option<f64>) {
    let text = sample.text.as_str();
    let cut = stop
        .iter()
        .filter(|s| !s.is_empty())
        .filter_map(|s| text.find(s.as_str()))
        .min();
    let kept = &text[..cut.unwrap_or(text.len())];
    let Some(tokens) = &sample.tokens else {
        return (kept, None);
    };
    let spelled: Option<String> = tokens.iter().map(|(t, _)| t.as_deref()).collect();
    // A server that cut at a stop string may leave the stop token itself at the end of the
    // token list (llama-cpp-python does, recorded): the tokens then spell the text followed by
    // a stop string (or its start), and those past the text do not count.
    let stop_left_in = spelled.as_deref().is_some_and(|spelled| {
        spelled.len() > text.len()
            && spelled.starts_with(text)
            && stop.iter().filter(|s| !s.is_empty()).any(|s| {
                let rest = &spelled[text.len()..];
                rest.starts_with(s.as_str()) || s.starts_with(rest)
            })
    });
    let spells_text = stop_left_in || spelled.as_deref() == Some(text);
    let cut = match cut {
        _ if stop_left_in => Some(cut.map_or(text.len(), |c| c.min(text.len()))),
        cut => cut,
    };
    let values: Vec<f64> = match cut {
        // Keep the tokens that start before the cut: a token straddling it contributed to
        // the kept text.
        Some(cut) if spells_text => {
            let mut start = 0;
            tokens
                .iter()
                .take_while(|(t, _)| {
                    let begins_before_cut = start < cut;
                    start += t.as_deref().map_or(0, str::len);
                    begins_before_cut
                })
                .map(|(_, v)| *v)
                .collect()
        }
        _ => tokens.iter().map(|(_, v)| *v).collect(),
    };
    if values.is_empty() {
        return (kept, None);
    }
    (kept, Some(values.iter().sum::<f64>() / values.len() as f64))
}

/// The body of a reply that is a single Markdown code fence (```` ```lean … ``` ````), or the
/// reply unchanged.
fn unwrap_code_fence(reply: &str) -> &str {
    let Some(rest) = reply.strip_prefix("```") else {
        return reply;
    };
    // The info string (`lean`, `lean4`) runs to the end of the first line.
    let Some((_, body)) = rest.split_once('\n') else {
        return reply;
    };
    body.trim_end().strip_suffix("```").unwrap_or(body).trim()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(text: &str, tokens: Option<&[(&str, f64)]>) -> Sample {
        Sample {
            text: text.to_owned(),
            tokens: tokens.map(|t| t.iter().map(|(s, v)| (Some(s.to_string()), *v)).collect()),
        }
    }

    const PLAIN: Cleanup<'static> = Cleanup {
        stop: &[],
        unwrap_code_fence: false,
    };

    #[test]
    fn a_client_side_cut_drops_the_tokens_after_it() {
        let stop = ["\n\n".to_owned()];
        let s = sample(
            "simp\n\nring",
            Some(&[("simp", -1.0), ("\n\n", -3.0), ("ring", -5.0)]),
        );
        let got = candidates(
            vec![s],
            Cleanup {
                stop: &stop,
                unwrap_code_fence: false,
            },
        );
        assert_eq!(got, vec![Candidate::new("simp", -1.0)]);
    }

    #[test]
    fn tokens_that_do_not_spell_the_text_all_count() {
        let stop = ["\n\n".to_owned()];
        let s = sample("simp\n\nring", Some(&[("bytes:\\xe2", -1.0), ("x", -3.0)]));
        let got = candidates(
            vec![s],
            Cleanup {
                stop: &stop,
                unwrap_code_fence: false,
            },
        );
        assert_eq!(got, vec![Candidate::new("simp", -2.0)]);
    }

    #[test]
    fn one_sample_without_logprobs_turns_all_scores_into_ranks() {
        let got = candidates(
            vec![
                sample("a", Some(&[("a", -9.0)])),
                sample("b", None),
                sample("c", Some(&[("c", -0.1)])),
            ],
            PLAIN,
        );
        let scores: Vec<f64> = got.iter().map(|c| c.score).collect();
        assert_eq!(scores, vec![0.0, -(2f64.ln()), -(3f64.ln())]);
        assert_eq!(got[0].tactic, "a");
    }

    #[test]
    fn a_stop_token_the_server_left_in_does_not_count() {
        // llama-cpp-python cuts the text at "\n" but keeps the "\n" token (recorded).
        let stop = ["\n".to_owned()];
        let s = sample(" simp", Some(&[(" simp", -1.0), ("\n", -9.0)]));
        let cleanup = Cleanup {
            stop: &stop,
            unwrap_code_fence: false,
        };
        assert_eq!(
            candidates(vec![s], cleanup),
            vec![Candidate::new("simp", -1.0)]
        );
        // Without that stop string, the extra token is something else and counts.
        let s = sample(" simp", Some(&[(" simp", -1.0), ("\n", -9.0)]));
        assert_eq!(
            candidates(vec![s], PLAIN),
            vec![Candidate::new("simp", -5.0)]
        );
    }

    #[test]
    fn code_fences_are_unwrapped_for_chat() {
        assert_eq!(unwrap_code_fence("```lean\nnorm_num\n```"), "norm_num");
        assert_eq!(unwrap_code_fence("```\nsimp\nring\n```"), "simp\nring");
        assert_eq!(unwrap_code_fence("```lean\nomega"), "omega");
        assert_eq!(unwrap_code_fence("simp"), "simp");
    }
}
