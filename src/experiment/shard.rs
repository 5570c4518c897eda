//! `--shard K/N`: one of N processes (a Slurm array's tasks, one per GPU) that share a
//! sweep. The sweep's runs are numbered in one order, the base first (0), then each
//! `--sweep` in the order given and its values in the order listed (a value equal to the
//! base's is not a run of its own); shard K runs those whose number is K-1 modulo N, so N
//! shards run each run exactly once.

use std::fmt;
use std::str::FromStr;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shard {
    /// K, from 1.
    pub number: usize,
    /// N.
    pub count: usize,
}

impl Shard {
    /// Whether this shard runs the sweep's run number `index` (the base is 0).
    pub fn takes(&self, index: usize) -> bool {
        index % self.count == self.number - 1
    }
}

impl FromStr for Shard {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let bad = || format!("'{text}' is not a shard: write K/N with 1 <= K <= N, e.g. 2/3");
        let (number, count) = text.split_once('/').ok_or_else(bad)?;
        let number: usize = number.trim().parse().map_err(|_| bad())?;
        let count: usize = count.trim().parse().map_err(|_| bad())?;
        if number == 0 || number > count {
            return Err(bad());
        }
        Ok(Self { number, count })
    }
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.number, self.count)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_take_each_run_once_and_bad_ones_are_refused() {
        let shards: Vec<Shard> = ["1/3", "2/3", "3/3"].map(|s| s.parse().unwrap()).to_vec();
        for index in 0..10 {
            assert_eq!(shards.iter().filter(|s| s.takes(index)).count(), 1);
        }
        assert!(shards[0].takes(0) && shards[1].takes(4) && shards[2].takes(5));
        for bad in ["0/3", "4/3", "x", "1/0", "1-3", "/3"] {
            let err = bad.parse::<Shard>().unwrap_err();
            assert!(err.contains("not a shard"), "{bad}: {err}");
        }
    }
}
