//! Shards of a dataset for runs split across machines: `--shard i/n` takes the theorems whose
//! name falls in bucket `i` of `n`.
//!
//! The bucket is a stable hash of the theorem's name (the first eight bytes of its SHA-1,
//! modulo `n`: [`crate::hash::sha1_prefix`], the rule [`crate::explore::split_of`] uses with
//! its top 16 bits), so a theorem's shard depends on its name alone: not on the order of the
//! file, on the other theorems, on the machine or on the run. Indices count from 0
//! (`0/4` … `3/4`), as `SLURM_ARRAY_TASK_ID` and Kubernetes' `JOB_COMPLETION_INDEX` do.

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

    /// The shard of `count` that theorem `name` belongs to. `count` 0 is taken as 1.
    pub fn index_of(name: &str, count: u32) -> u32 {
        // The remainder is below `count`, which is a u32.
        (crate::hash::sha1_prefix(name) % u64::from(count.max(1))) as u32
    }

    /// Whether theorem `name` is in this shard.
    pub fn contains(&self, name: &str) -> bool {
        Shard::index_of(name, self.count) == self.index
    }

    /// The names of `names` in this shard, in their order.
    pub fn filter<'a, I>(&self, names: I) -> impl Iterator<Item = &'a str>
    where
        I: IntoIterator<Item = &'a str>,
    {
        let shard = *self;
        names.into_iter().filter(move |name| shard.contains(name))
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
    fn every_name_is_in_exactly_one_shard() {
        let names = minif2f_like_names();
        for count in 1..=9 {
            for name in &names {
                let holding = (0..count)
                    .filter(|&index| Shard { index, count }.contains(name))
                    .count();
                assert_eq!(holding, 1, "{name} in {holding} of {count} shards");
            }
        }
    }

    /// Pinned against SHA-1 computed elsewhere (Python's `hashlib`: the first eight bytes of
    /// the digest, big-endian, modulo 4 and 7), so the rule never moves a theorem between
    /// runs or versions.
    #[test]
    fn shards_are_stable() {
        assert_eq!(Shard::index_of("mathd_algebra_10", 4), 0);
        assert_eq!(Shard::index_of("imo_1959_p1", 4), 3);
        assert_eq!(Shard::index_of("amc12a_2019_p21", 4), 3);
        assert_eq!(Shard::index_of("aime_1983_p1", 4), 0);
        assert_eq!(Shard::index_of("mathd_algebra_10", 7), 2);
        assert_eq!(Shard::index_of("anything", 1), 0);
        assert_eq!(Shard::index_of("anything", 0), 0);
    }

    #[test]
    fn shards_are_roughly_balanced_on_minif2f_like_names() {
        let names = minif2f_like_names();
        for count in [2u32, 4, 8] {
            let expected = names.len() as f64 / f64::from(count);
            // Four standard deviations of a binomial count: a fair hash passes, a rule that
            // leaned on a name's prefix or length (miniF2F's names share long prefixes) does not.
            let spread = 4.0 * (expected * (1.0 - 1.0 / f64::from(count))).sqrt();
            for index in 0..count {
                let shard = Shard { index, count };
                let size = shard.filter(names.iter().map(String::as_str)).count() as f64;
                assert!(
                    (size - expected).abs() < spread,
                    "shard {shard} holds {size} of {} names (expected about {expected})",
                    names.len()
                );
            }
        }
    }
}
