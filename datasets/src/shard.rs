//! Shards of a dataset for runs split across machines: `--shard i/n` takes every `n`-th theorem
//! of the dataset's names ordered by a stable hash, starting at the `i`-th.
//!
//! The order is by the first eight bytes of each name's SHA-1 ([`crate::hash::sha1_prefix`],
//! the hash [`crate::explore::split_of`] uses; never Rust's `Hasher`, which may change between
//! releases), ties by the name, so a theorem's shard depends on the set of names in the
//! dataset alone: not on the order of the file, on the machine or on the run. Dealing the
//! hash-ordered names out in turn makes the shards balanced to within one theorem, which a
//! bucket by `hash % n` is not (a shard of a 244-problem benchmark split 8 ways would hold
//! anywhere from about 20 to 40). Every shard of one dataset reads the same file (the merge
//! checks the input's hash), so they agree on the order. Indices count from 0 (`0/4` …
//! `3/4`), as `SLURM_ARRAY_TASK_ID` and Kubernetes' `JOB_COMPLETION_INDEX` do.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

/// One shard of `count`: the theorems whose name hashes to `index`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Shard {
    /// Which shard, in `0..count`.
    pub index: u32,
    /// How many shards the dataset is split into, at least 1.
    pub count: u32,
}

/// A shard that cannot be: the text is quoted in every message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ShardError {
    /// Not of the form `i/n` with two decimal numbers.
    #[error("shard {input:?}: expected INDEX/COUNT such as 0/4 (indices count from 0)")]
    Syntax {
        /// The text given.
        input: String,
    },
    /// `n` is 0.
    #[error("shard {input:?}: the count must be at least 1")]
    ZeroCount {
        /// The text given.
        input: String,
    },
    /// `i` is not below `n`.
    #[error("shard {input:?}: the index must be below the count (0 to {last})", last = .count - 1)]
    IndexOutOfRange {
        /// The text given.
        input: String,
        /// The count given.
        count: u32,
    },
}

impl Shard {
    /// The whole dataset as one shard.
    pub const ALL: Shard = Shard { index: 0, count: 1 };

    /// Shard `index` of `count`, checked as [`Shard::from_str`] checks it.
    pub fn new(index: u32, count: u32) -> Result<Shard, ShardError> {
        format!("{index}/{count}").parse()
    }

    /// Which shard of `count` each of `names` belongs to (`count` 0 is taken as 1): the names
    /// ordered by the first eight bytes of their SHA-1, then by the name, and dealt out in
    /// turn, so each shard holds `len / count` or one more. A name given twice counts once.
    pub fn assignment<'a, I>(names: I, count: u32) -> BTreeMap<&'a str, u32>
    where
        I: IntoIterator<Item = &'a str>,
    {
        let mut ordered: Vec<(u64, &str)> = names
            .into_iter()
            .map(|name| (crate::hash::sha1_prefix(name), name))
            .collect();
        ordered.sort_unstable();
        ordered.dedup();
        let count = count.max(1) as usize;
        ordered
            .into_iter()
            .enumerate()
            // The remainder is below `count`, which came from a u32.
            .map(|(position, (_, name))| (name, (position % count) as u32))
            .collect()
    }

    /// The names of `names` in this shard, in their order: the dataset's names must all be
    /// given, since a shard is a share of the whole.
    pub fn filter<'a, I>(&self, names: I) -> Vec<&'a str>
    where
        I: IntoIterator<Item = &'a str> + Clone,
    {
        let assignment = Shard::assignment(names.clone(), self.count);
        names
            .into_iter()
            .filter(|name| assignment.get(name) == Some(&self.index))
            .collect()
    }

    /// Whether this is the whole dataset (`0/1`).
    pub fn is_all(&self) -> bool {
        self.count <= 1
    }

    /// The name of this shard's own directory or file part: `shard-2-of-8`.
    pub fn dir_name(&self) -> String {
        format!("shard-{}-of-{}", self.index, self.count)
    }
}

impl FromStr for Shard {
    type Err = ShardError;

    fn from_str(input: &str) -> Result<Shard, ShardError> {
        let syntax = || ShardError::Syntax {
            input: input.to_owned(),
        };
        let (index, count) = input.trim().split_once('/').ok_or_else(syntax)?;
        let number = |text: &str| {
            let text = text.trim();
            // `u32::from_str` accepts a leading `+`; a shard is plain digits.
            if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
                return Err(syntax());
            }
            text.parse::<u32>().map_err(|_| syntax())
        };
        let (index, count) = (number(index)?, number(count)?);
        if count == 0 {
            return Err(ShardError::ZeroCount {
                input: input.to_owned(),
            });
        }
        if index >= count {
            return Err(ShardError::IndexOutOfRange {
                input: input.to_owned(),
                count,
            });
        }
        Ok(Shard { index, count })
    }
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Names shaped like miniF2F's (`mathd_algebra_10`, `amc12a_2019_p21`, `imo_1959_p1`, …).
    fn minif2f_like_names() -> Vec<String> {
        let mut names = Vec::new();
        for topic in ["algebra", "numbertheory"] {
            for i in 0..150 {
                names.push(format!("mathd_{topic}_{i}"));
            }
        }
        for contest in ["amc12a", "amc12b", "aime", "imo"] {
            for year in 1980..2021 {
                for problem in [1, 5, 12] {
                    names.push(format!("{contest}_{year}_p{problem}"));
                }
            }
        }
        names.push("induction_12dvd4expnp1p20".to_owned());
        names.push("algebra_sqineq_at2malt1".to_owned());
        names
    }

    #[test]
    fn parses_index_over_count_and_prints_it_back() {
        assert_eq!("0/4".parse(), Ok(Shard { index: 0, count: 4 }));
        assert_eq!(" 3 / 4 ".parse(), Ok(Shard { index: 3, count: 4 }));
        assert_eq!(Shard::new(2, 7).unwrap().to_string(), "2/7");
        assert_eq!("0/1".parse(), Ok(Shard::ALL));
    }

    #[test]
    fn refusals_name_the_input() {
        for bad in [
            "",
            "3",
            "a/4",
            "1/b",
            "1/4/2",
            "-1/4",
            "+1/4",
            "1.0/4",
            "99999999999/1",
        ] {
            let error = bad.parse::<Shard>().unwrap_err();
            assert!(matches!(error, ShardError::Syntax { .. }), "{bad}: {error}");
            assert!(error.to_string().contains(&format!("{bad:?}")), "{error}");
        }
        let error = "0/0".parse::<Shard>().unwrap_err();
        assert_eq!(
            error.to_string(),
            "shard \"0/0\": the count must be at least 1"
        );
        let error = "4/4".parse::<Shard>().unwrap_err();
        assert_eq!(
            error.to_string(),
            "shard \"4/4\": the index must be below the count (0 to 3)"
        );
        assert!(Shard::new(5, 3).is_err());
    }

    #[test]
    fn every_name_is_in_exactly_one_shard_and_shards_are_balanced_to_within_one() {
        let names = minif2f_like_names();
        let all: Vec<&str> = names.iter().map(String::as_str).collect();
        for count in 1..=9 {
            let mut sizes = Vec::new();
            let mut union = std::collections::BTreeSet::new();
            for index in 0..count {
                let members = Shard { index, count }.filter(all.iter().copied());
                sizes.push(members.len());
                for name in members {
                    assert!(union.insert(name), "{name} in two shards of {count}");
                }
            }
            assert_eq!(union.len(), all.len(), "the union of {count} shards");
            let (min, max) = (sizes.iter().min().unwrap(), sizes.iter().max().unwrap());
            assert!(max - min <= 1, "{count} shards of sizes {sizes:?}");
        }
    }

    /// The order of the file and a shuffled copy give the same shards; the rule is pinned
    /// against SHA-1 computed elsewhere (Python's `hashlib`: the first eight bytes of the
    /// digest, big-endian, sorted, dealt out in turn), so no release moves a theorem.
    #[test]
    fn shards_are_stable() {
        let names = [
            "mathd_algebra_10",
            "imo_1959_p1",
            "amc12a_2019_p21",
            "aime_1983_p1",
        ];
        let forward = Shard::assignment(names, 2);
        let mut reversed = names;
        reversed.reverse();
        assert_eq!(forward, Shard::assignment(reversed, 2));
        let first = Shard { index: 0, count: 2 }.filter(names);
        assert_eq!(first, vec!["imo_1959_p1", "aime_1983_p1"]);
        assert_eq!(Shard::assignment(["anything"], 0)["anything"], 0);
        assert_eq!(Shard::new(2, 8).unwrap().dir_name(), "shard-2-of-8");
    }
}
