//! The experiment loop's state, with no terminal I/O: the base hyperparameters, every run
//! so far, and what the error graphs should show. Front ends (menu, sweeps) only translate.

use super::hyper::HyperSet;
use crate::error::InputError;

/// A session: one base run, and reruns that each change exactly one hyperparameter.
#[derive(Clone, Debug)]
pub struct Session<H: HyperSet, O> {
    base: H,
    runs: Vec<(H, O)>,
}

impl<H: HyperSet, O: Clone> Session<H, O> {
    pub fn new(base: H) -> Self {
        Self {
            base,
            runs: Vec::new(),
        }
    }

    pub fn base(&self) -> H {
        self.base
    }

    /// The base with `param` set to `value`, checked. Every rerun starts from the base, so
    /// each graph varies exactly one hyperparameter.
    pub fn variant(&self, param: H::Param, value: usize) -> Result<H, InputError> {
        let hyper = self.base.with(param, value);
        hyper.validate()?;
        Ok(hyper)
    }

    /// Record a finished run; a rerun of the same hyperparameters replaces the older one.
    pub fn record(&mut self, hyper: H, outcome: O) {
        self.runs.retain(|(h, _)| *h != hyper);
        self.runs.push((hyper, outcome));
    }

    pub fn runs(&self) -> &[(H, O)] {
        &self.runs
    }

    /// The hyperparameter in which `hyper` differs from the base, if exactly one.
    fn varied_param(&self, hyper: &H) -> Option<H::Param> {
        let mut differing = H::PARAMS
            .iter()
            .copied()
            .filter(|&p| hyper.get(p) != self.base.get(p));
        match (differing.next(), differing.next()) {
            (Some(p), None) => Some(p),
            _ => None,
        }
    }

    /// The hyperparameters varied so far, in menu order.
    pub fn varied(&self) -> Vec<H::Param> {
        H::PARAMS
            .iter()
            .copied()
            .filter(|&p| {
                self.runs
                    .iter()
                    .any(|(h, _)| self.varied_param(h) == Some(p))
            })
            .collect()
    }

    /// The points of `param`'s error graph: the base run and every run that changed only
    /// `param`, sorted by its value.
    pub fn series(&self, param: H::Param) -> Vec<(usize, O)> {
        let mut points: Vec<(usize, O)> = self
            .runs
            .iter()
            .filter(|(h, _)| *h == self.base || self.varied_param(h) == Some(param))
            .map(|(h, o)| (h.get(param), o.clone()))
            .collect();
        points.sort_by_key(|(value, _)| *value);
        points
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::experiment::hyper::{AeHyper, AeParam};

    fn session() -> Session<AeHyper, f64> {
        let mut s = Session::new(AeHyper::REPORT_BASE);
        s.record(AeHyper::REPORT_BASE, 0.5);
        s
    }

    #[test]
    fn reruns_start_from_the_base() {
        let mut s = session();
        let first = s.variant(AeParam::Filters, 16).unwrap();
        s.record(first, 0.7);
        let second = s.variant(AeParam::Epochs, 5).unwrap();
        assert_eq!(second.filters, 32, "the base is restored after a rerun");
        assert_eq!(second.epochs, 5);
        assert_eq!(s.base(), AeHyper::REPORT_BASE);
    }

    #[test]
    fn invalid_variants_are_refused() {
        let err = session().variant(AeParam::Layers, 1).unwrap_err();
        assert!(err.0.contains("layers"), "{err}");
    }

    #[test]
    fn graphs_get_the_base_and_their_own_reruns_sorted() {
        let mut s = session();
        for (param, value, loss) in [
            (AeParam::Filters, 64, 0.3),
            (AeParam::Filters, 16, 0.9),
            (AeParam::Epochs, 5, 0.8),
        ] {
            let hyper = s.variant(param, value).unwrap();
            s.record(hyper, loss);
        }
        assert_eq!(s.varied(), [AeParam::Filters, AeParam::Epochs]);
        assert_eq!(
            s.series(AeParam::Filters),
            [(16, 0.9), (32, 0.5), (64, 0.3)]
        );
        assert_eq!(s.series(AeParam::Epochs), [(5, 0.8), (100, 0.5)]);
        assert!(s.series(AeParam::Layers).len() == 1);
    }

    #[test]
    fn a_repeated_run_replaces_the_older_point() {
        let mut s = session();
        let hyper = s.variant(AeParam::Filters, 16).unwrap();
        s.record(hyper, 0.9);
        s.record(hyper, 0.6);
        assert_eq!(s.series(AeParam::Filters), [(16, 0.6), (32, 0.5)]);
        assert_eq!(s.runs().len(), 2);
    }
}
