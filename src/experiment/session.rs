//! The experiment loop's state, with no terminal I/O: the base hyperparameters, every run
//! so far, and what the error graphs should show. Front ends (menu, sweeps) only translate.

use super::hyper::{Hyper, ParamSet, Value};
use crate::exit::InputError;

/// A session: one base run, and reruns that each change exactly one hyperparameter.
#[derive(Clone, Debug)]
pub struct Session<P: ParamSet, O> {
    base: Hyper<P>,
    limits: P::Limits,
    runs: Vec<(Hyper<P>, O)>,
}

impl<P: ParamSet, O: Clone> Session<P, O> {
    /// A session around `base`, whose variations must keep within `limits`.
    pub fn new(base: Hyper<P>, limits: P::Limits) -> Self {
        Self {
            base,
            limits,
            runs: Vec::new(),
        }
    }

    pub fn base(&self) -> &Hyper<P> {
        &self.base
    }

    pub fn limits(&self) -> P::Limits {
        self.limits
    }

    /// The base with `param` set to `value`, checked. Every rerun starts from the base, so
    /// each graph varies exactly one hyperparameter.
    pub fn variant(&self, param: P, value: Value) -> Result<Hyper<P>, InputError> {
        let hyper = self.base.with(param, value);
        hyper.validate(self.limits)?;
        Ok(hyper)
    }

    /// Record a finished run; a rerun of the same hyperparameters replaces the older one.
    pub fn record(&mut self, hyper: Hyper<P>, outcome: O) {
        self.runs.retain(|(h, _)| *h != hyper);
        self.runs.push((hyper, outcome));
    }

    pub fn runs(&self) -> &[(Hyper<P>, O)] {
        &self.runs
    }

    /// The hyperparameter in which `hyper` differs from the base, if exactly one.
    fn varied_param(&self, hyper: &Hyper<P>) -> Option<P> {
        let mut differing = hyper.differing(&self.base);
        match (differing.next(), differing.next()) {
            (Some(p), None) => Some(p),
            _ => None,
        }
    }

    /// The hyperparameters varied so far, in table order.
    pub fn varied(&self) -> Vec<P> {
        P::ALL
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
    /// `param`, in the order of its values.
    pub fn series(&self, param: P) -> Vec<(Value, O)> {
        let mut points: Vec<(Value, O)> = self
            .runs
            .iter()
            .filter(|(h, _)| *h == self.base || self.varied_param(h) == Some(param))
            .map(|(h, o)| (h.get(param), o.clone()))
            .collect();
        let spec = param.spec();
        points.sort_by(|(a, _), (b, _)| spec.position(*a).total_cmp(&spec.position(*b)));
        points
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::experiment::kinds::AutoencoderParam;

    fn session() -> Session<AutoencoderParam, f64> {
        let mut s = Session::new(Hyper::defaults(), ());
        s.record(Hyper::defaults(), 0.5);
        s
    }

    fn whole(n: usize) -> Value {
        Value::Whole(n)
    }

    #[test]
    fn reruns_start_from_the_base() {
        let mut s = session();
        let first = s.variant(AutoencoderParam::Filters, whole(16)).unwrap();
        s.record(first, 0.7);
        let second = s.variant(AutoencoderParam::Epochs, whole(5)).unwrap();
        assert_eq!(
            second.whole(AutoencoderParam::Filters),
            32,
            "the base is restored after a rerun"
        );
        assert_eq!(second.whole(AutoencoderParam::Epochs), 5);
        assert_eq!(*s.base(), Hyper::defaults());
    }

    #[test]
    fn invalid_variants_are_refused() {
        let err = session()
            .variant(AutoencoderParam::Layers, whole(1))
            .unwrap_err();
        assert!(err.0.contains("layers"), "{err}");
    }

    #[test]
    fn graphs_get_the_base_and_their_own_reruns_sorted() {
        let mut s = session();
        for (param, value, loss) in [
            (AutoencoderParam::Filters, whole(64), 0.3),
            (AutoencoderParam::Filters, whole(16), 0.9),
            (AutoencoderParam::Epochs, whole(5), 0.8),
            (AutoencoderParam::LearningRate, Value::Decimal(0.01), 0.4),
            (AutoencoderParam::LearningRate, Value::Decimal(1e-4), 0.6),
        ] {
            let hyper = s.variant(param, value).unwrap();
            s.record(hyper, loss);
        }
        assert_eq!(
            s.varied(),
            [
                AutoencoderParam::Filters,
                AutoencoderParam::Epochs,
                AutoencoderParam::LearningRate
            ]
        );
        assert_eq!(
            s.series(AutoencoderParam::Filters),
            [(whole(16), 0.9), (whole(32), 0.5), (whole(64), 0.3)]
        );
        assert_eq!(
            s.series(AutoencoderParam::Epochs),
            [(whole(5), 0.8), (whole(100), 0.5)]
        );
        let rates: Vec<f64> = s
            .series(AutoencoderParam::LearningRate)
            .iter()
            .map(|(v, _)| AutoencoderParam::LearningRate.spec().position(*v))
            .collect();
        assert_eq!(rates, [1e-4, 1e-3, 1e-2]);
        assert!(s.series(AutoencoderParam::Layers).len() == 1);
    }

    #[test]
    fn a_repeated_run_replaces_the_older_point() {
        let mut s = session();
        let hyper = s.variant(AutoencoderParam::Filters, whole(16)).unwrap();
        s.record(hyper.clone(), 0.9);
        s.record(hyper, 0.6);
        assert_eq!(
            s.series(AutoencoderParam::Filters),
            [(whole(16), 0.6), (whole(32), 0.5)]
        );
        assert_eq!(s.runs().len(), 2);
    }
}
