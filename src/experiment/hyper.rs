//! Hyperparameters as data. Each kind of experiment has one table (`kinds.rs`) whose
//! entries describe a hyperparameter once: its flag and help, sweep key, menu label,
//! run-name abbreviation, CSV column, values (whole number, decimal or named choice),
//! bounds and default. Everything else derives from the table: the clap flags
//! (`cli::HyperFlags`), `--sweep NAME=V1,V2`, the menu's list and prompts, run and graph
//! names in the original report's scheme (`L4_FS3_FL32_E100_B64`, the varied one as `x`),
//! the results tables' columns and row identity, and so the checkpoint identity.

use std::fmt;
use std::marker::PhantomData;
use std::ops::Bound;

use crate::exit::InputError;

/// One hyperparameter, described once.
#[derive(Debug)]
pub struct Param {
    /// Its long flag without the dashes: "filter-size". `--sweep` and the menu accept it
    /// with underscores too ("filter_size", its key).
    pub flag: &'static str,
    /// How a person reads it: "Filter size".
    pub label: &'static str,
    /// Its prefix in run names: "FS".
    pub abbrev: &'static str,
    /// Its column in the results table: "Filter_Size".
    pub column: &'static str,
    /// The flag's value in the help: "K".
    pub value_name: &'static str,
    /// The flag's help, without the default (which the table adds).
    pub help: &'static str,
    pub values: Values,
    pub default: DefaultValue,
    pub origin: Origin,
}

/// The values a hyperparameter takes.
#[derive(Clone, Copy, Debug)]
pub enum Values {
    /// A whole number, at least `min` and at most `max` when there is one.
    Whole { min: usize, max: Option<usize> },
    /// A finite decimal number within the bounds; `log`: its error graphs spread the values
    /// on a log scale (a learning rate's 1e-4, 1e-3, 1e-2).
    Decimal {
        low: Bound<f64>,
        high: Bound<f64>,
        log: bool,
    },
    /// One of these names.
    Choice(&'static [&'static str]),
}

/// A hyperparameter's value.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Value {
    Whole(usize),
    Decimal(f64),
    Choice(&'static str),
}

/// What a hyperparameter is when no flag gives it.
#[derive(Clone, Copy, Debug)]
pub enum DefaultValue {
    Fixed(Value),
    /// Known only once the inputs are read (a classifier's encoder layers: all of the
    /// loaded encoder's); the text says which, for the help.
    Derived(&'static str),
}

/// Where a hyperparameter comes from, which decides how the original report's files keep
/// their shape.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Origin {
    /// One of the original report's: always in run names, its column among the report's
    /// (before the figures), and asked for when the menu starts without hyperparameter flags.
    Report,
    /// Added by aelab: in run names only when it is not at its default (so the report's runs
    /// keep their names and checkpoints), its column after the report's, and set by its
    /// flag or from the menu's "run again" list.
    Added,
}

impl Param {
    /// A whole-number hyperparameter of the original report's: at least 1, `default` when
    /// no flag gives it.
    pub const fn whole(
        flag: &'static str,
        label: &'static str,
        abbrev: &'static str,
        column: &'static str,
        value_name: &'static str,
        help: &'static str,
        default: usize,
    ) -> Self {
        Self {
            flag,
            label,
            abbrev,
            column,
            value_name,
            help,
            values: Values::Whole { min: 1, max: None },
            default: DefaultValue::Fixed(Value::Whole(default)),
            origin: Origin::Report,
        }
    }

    /// The same whole number, between `min` and `max` (if any).
    pub const fn within(self, min: usize, max: Option<usize>) -> Self {
        Self {
            values: Values::Whole { min, max },
            ..self
        }
    }

    /// How `--sweep` spells it: "filter_size".
    pub fn key(&self) -> String {
        self.flag.replace('-', "_")
    }

    /// The fixed default, if it has one.
    pub fn fixed_default(&self) -> Option<Value> {
        match self.default {
            DefaultValue::Fixed(value) => Some(value),
            DefaultValue::Derived(_) => None,
        }
    }

    /// The default as the help shows it.
    pub fn default_text(&self) -> String {
        match self.default {
            DefaultValue::Fixed(value) => value.to_string(),
            DefaultValue::Derived(text) => text.to_string(),
        }
    }

    /// Parse a value from the menu, `--sweep` or a table; the message says what is wrong.
    pub fn parse(&self, text: &str) -> Result<Value, String> {
        let text = text.trim();
        match self.values {
            Values::Whole { .. } => text
                .parse::<usize>()
                .map(Value::Whole)
                .map_err(|_| format!("'{text}' is not a whole number")),
            Values::Decimal { .. } => match text.parse::<f64>() {
                Ok(value) if value.is_finite() => Ok(Value::Decimal(value)),
                _ => Err(format!("'{text}' is not a number")),
            },
            Values::Choice(names) => names
                .iter()
                .find(|name| name.eq_ignore_ascii_case(text))
                .map(|&name| Value::Choice(name))
                .ok_or_else(|| format!("'{text}' is not one of: {}", names.join(", "))),
        }
    }

    /// Parse a flag's value: a whole number's message is the one clap gives for numbers.
    pub fn parse_flag(&self, text: &str) -> Result<Value, String> {
        match self.values {
            Values::Whole { .. } => text
                .parse::<usize>()
                .map(Value::Whole)
                .map_err(|e| e.to_string()),
            _ => self.parse(text),
        }
    }

    /// Whether `value` is of this hyperparameter's kind and within its bounds; the message
    /// names the hyperparameter: "filter size must be at least 1 (got 0)".
    pub fn check(&self, value: Value) -> Result<(), InputError> {
        let name = self.label.to_lowercase();
        let fail = |bounds: String, got: String| {
            Err(InputError::new(format!(
                "{name} must be {bounds} (got {got})"
            )))
        };
        match (self.values, value) {
            (Values::Whole { min, max }, Value::Whole(v)) => match max {
                Some(max) if v < min || v > max => {
                    fail(format!("between {min} and {max}"), v.to_string())
                }
                None if v < min => fail(format!("at least {min}"), v.to_string()),
                _ => Ok(()),
            },
            (Values::Decimal { low, high, .. }, Value::Decimal(v)) => {
                let above = match low {
                    Bound::Included(l) => v >= l,
                    Bound::Excluded(l) => v > l,
                    Bound::Unbounded => true,
                };
                let below = match high {
                    Bound::Included(h) => v <= h,
                    Bound::Excluded(h) => v < h,
                    Bound::Unbounded => true,
                };
                if v.is_finite() && above && below {
                    Ok(())
                } else {
                    fail(describe_bounds(low, high), v.to_string())
                }
            }
            (Values::Choice(names), Value::Choice(v)) if names.contains(&v) => Ok(()),
            (Values::Choice(names), _) => {
                fail(format!("one of: {}", names.join(", ")), value.to_string())
            }
            _ => fail(self.kind_word().into(), value.to_string()),
        }
    }

    fn kind_word(&self) -> &'static str {
        match self.values {
            Values::Whole { .. } => "a whole number",
            Values::Decimal { .. } => "a number",
            Values::Choice(_) => "one of its choices",
        }
    }

    /// Where `value` sits among this hyperparameter's values: the number itself, a choice's
    /// place in the list; for sorting and for the x axis of error graphs.
    pub fn position(&self, value: Value) -> f64 {
        match (self.values, value) {
            (_, Value::Whole(v)) => v as f64,
            (_, Value::Decimal(v)) => v,
            (Values::Choice(names), Value::Choice(v)) => {
                names.iter().position(|n| *n == v).unwrap_or(names.len()) as f64
            }
            (_, Value::Choice(_)) => 0.0,
        }
    }

    /// Whether this hyperparameter appears in the name of a run that has `value`.
    fn named(&self, value: Value) -> bool {
        self.origin == Origin::Report || self.fixed_default() != Some(value)
    }
}

/// "greater than 0", "at least 0 and less than 1".
fn describe_bounds(low: Bound<f64>, high: Bound<f64>) -> String {
    let low = match low {
        Bound::Included(l) => Some(format!("at least {l}")),
        Bound::Excluded(l) => Some(format!("greater than {l}")),
        Bound::Unbounded => None,
    };
    let high = match high {
        Bound::Included(h) => Some(format!("at most {h}")),
        Bound::Excluded(h) => Some(format!("less than {h}")),
        Bound::Unbounded => None,
    };
    match (low, high) {
        (Some(l), Some(h)) => format!("{l} and {h}"),
        (Some(b), None) | (None, Some(b)) => b,
        (None, None) => "a finite number".into(),
    }
}

impl fmt::Display for Value {
    /// As a person reads it: 4, 0.001, cosine.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Whole(v) => write!(f, "{v}"),
            Self::Decimal(v) => write!(f, "{v}"),
            Self::Choice(v) => f.write_str(v),
        }
    }
}

impl Value {
    /// As a run name spells it, a valid file name on every system: decimals in the
    /// shortest scientific notation that reads back exactly, the point written `p`
    /// (0.001 -> `1e-3`, 0.00015 -> `1p5e-4`), so no dot looks like an extension.
    pub fn in_name(&self) -> String {
        match self {
            Self::Decimal(v) => format!("{v:e}").replace('.', "p"),
            other => other.to_string(),
        }
    }
}

/// A kind's table: its hyperparameters as an enum, each with its [`Param`]. Made by
/// [`param_table!`].
pub trait ParamSet: Copy + Eq + std::hash::Hash + fmt::Debug + 'static {
    /// Every hyperparameter, in table order: flags, menu, names, columns.
    const ALL: &'static [Self];
    fn spec(self) -> &'static Param;
    /// What bounds values together beyond each value's own (a classifier's encoder
    /// layers: the loaded encoder's depth); `()` when nothing does.
    type Limits: Copy + fmt::Debug;
    /// The checks that take more than one value, after each value's own bounds.
    fn check_together(hyper: &Hyper<Self>, limits: Self::Limits) -> Result<(), InputError>;

    /// The hyperparameter `--sweep` or the menu calls `key`: its key, flag, abbreviation
    /// or label, in any case.
    fn for_key(key: &str) -> Option<Self> {
        let wanted = key.trim().to_ascii_lowercase().replace(['-', ' '], "_");
        Self::ALL.iter().copied().find(|&p| {
            let spec = p.spec();
            spec.key() == wanted
                || spec.abbrev.eq_ignore_ascii_case(&wanted)
                || spec.label.to_ascii_lowercase().replace(' ', "_") == wanted
        })
    }
}

/// Define a kind's hyperparameters: an enum whose variants are its table's entries, in
/// order, each with its [`Param`].
macro_rules! param_table {
    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident {
            $($(#[$vmeta:meta])* $variant:ident = $spec:expr),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        $vis enum $name {
            $($(#[$vmeta])* $variant),+
        }

        impl $name {
            const TABLE: &'static [$crate::experiment::hyper::Param] = &[$($spec),+];
            const VARIANTS: &'static [$name] = &[$($name::$variant),+];

            fn table_entry(self) -> &'static $crate::experiment::hyper::Param {
                &Self::TABLE[self as usize]
            }
        }
    };
}
pub(crate) use param_table;

/// One run's hyperparameters: a value for each entry of the kind's table.
#[derive(Clone, PartialEq)]
pub struct Hyper<P: ParamSet> {
    values: Vec<Value>,
    set: PhantomData<P>,
}

impl<P: ParamSet> fmt::Debug for Hyper<P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.run_name())
    }
}

impl<P: ParamSet> Hyper<P> {
    /// The values `given` (by flags), the defaults for the rest; a default known only from
    /// the inputs comes from `derived`.
    pub fn new(given: &[(P, Value)], derived: impl Fn(P) -> Value) -> Self {
        let values = P::ALL
            .iter()
            .map(|&p| match given.iter().rev().find(|(q, _)| *q == p) {
                Some(&(_, value)) => value,
                None => p.spec().fixed_default().unwrap_or_else(|| derived(p)),
            })
            .collect();
        Self {
            values,
            set: PhantomData,
        }
    }

    /// The values `given`, the fixed defaults for the rest (a table with derived defaults
    /// needs [`Hyper::new`]).
    pub fn given(given: &[(P, Value)]) -> Self {
        Self::new(given, |p| {
            panic!("{p:?} has no fixed default: give its value, or use Hyper::new")
        })
    }

    /// Every fixed default.
    pub fn defaults() -> Self {
        Self::given(&[])
    }

    fn index(param: P) -> usize {
        P::ALL
            .iter()
            .position(|&p| p == param)
            .expect("every hyperparameter is in its table")
    }

    pub fn get(&self, param: P) -> Value {
        self.values[Self::index(param)]
    }

    pub fn set(&mut self, param: P, value: Value) {
        self.values[Self::index(param)] = value;
    }

    /// A copy with one hyperparameter changed.
    pub fn with(&self, param: P, value: Value) -> Self {
        let mut changed = self.clone();
        changed.set(param, value);
        changed
    }

    /// A whole-number hyperparameter's value. The table says which kind each is, so
    /// asking a decimal for a whole number is a bug in aelab.
    pub fn whole(&self, param: P) -> usize {
        match self.get(param) {
            Value::Whole(v) => v,
            other => panic!("{param:?} is {other:?}, not a whole number"),
        }
    }

    /// A decimal hyperparameter's value.
    pub fn decimal(&self, param: P) -> f64 {
        match self.get(param) {
            Value::Decimal(v) => v,
            other => panic!("{param:?} is {other:?}, not a decimal"),
        }
    }

    /// A named choice's value.
    pub fn choice(&self, param: P) -> &'static str {
        match self.get(param) {
            Value::Choice(v) => v,
            other => panic!("{param:?} is {other:?}, not a choice"),
        }
    }

    /// Every value within its bounds, then the checks across values.
    pub fn validate(&self, limits: P::Limits) -> Result<(), InputError> {
        for &param in P::ALL {
            param.spec().check(self.get(param))?;
        }
        P::check_together(self, limits)
    }

    /// The hyperparameters in which `self` differs from `other`.
    pub fn differing<'a>(&'a self, other: &'a Self) -> impl Iterator<Item = P> + 'a {
        P::ALL
            .iter()
            .copied()
            .filter(|&p| self.get(p) != other.get(p))
    }

    /// The run's name, e.g. `L4_FS3_FL32_E100_B64`, or `L4_FS3_FL32_E100_B64_LR3e-4` with a
    /// learning rate other than the default.
    pub fn run_name(&self) -> String {
        self.name_with(None)
    }

    /// The name of a graph that varies `param`, e.g. `L4_FS3_FLx_E100_B64`.
    pub fn graph_name(&self, varied: P) -> String {
        self.name_with(Some(varied))
    }

    fn name_with(&self, varied: Option<P>) -> String {
        P::ALL
            .iter()
            .filter_map(|&p| {
                let (spec, value) = (p.spec(), self.get(p));
                match varied {
                    Some(v) if v == p => Some(format!("{}x", spec.abbrev)),
                    _ if spec.named(value) => Some(format!("{}{}", spec.abbrev, value.in_name())),
                    _ => None,
                }
            })
            .collect::<Vec<_>>()
            .join("_")
    }
}

/// Each `--sweep`: the hyperparameter and its values.
pub type Sweeps<P> = Vec<(P, Vec<Value>)>;

/// Parse a `--sweep` value such as `filters=16,32,64` or `lr=1e-3,3e-4`.
pub fn parse_sweep<P: ParamSet>(text: &str) -> Result<(P, Vec<Value>), InputError> {
    let (key, values) = text.split_once('=').ok_or_else(|| {
        InputError::new(format!(
            "--sweep '{text}': write it as NAME=V1,V2,... e.g. filters=16,32,64"
        ))
    })?;
    let param = P::for_key(key).ok_or_else(|| {
        let names: Vec<String> = P::ALL.iter().map(|&p| p.spec().key()).collect();
        InputError::new(format!(
            "--sweep '{text}': unknown hyperparameter '{key}' (one of: {})",
            names.join(", ")
        ))
    })?;
    let values = values
        .split(',')
        .map(|v| {
            param
                .spec()
                .parse(v)
                .map_err(|why| InputError::new(format!("--sweep '{text}': {why}")))
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok((param, values))
}

/// Parse every `--sweep` and check each variation of `base` now, not after hours of
/// training.
pub fn parse_sweeps<P: ParamSet>(
    texts: &[String],
    base: &Hyper<P>,
    limits: P::Limits,
) -> Result<Sweeps<P>, InputError> {
    let mut sweeps = Vec::new();
    for text in texts {
        let (param, values) = parse_sweep::<P>(text)?;
        for &value in &values {
            base.with(param, value)
                .validate(limits)
                .map_err(|e| InputError::new(format!("--sweep '{text}': {e}")))?;
        }
        sweeps.push((param, values));
    }
    Ok(sweeps)
}

#[cfg(test)]
mod tests {
    use super::*;

    param_table! {
        /// A table with one hyperparameter of each kind.
        enum Probe {
            Width = Param {
                flag: "width",
                label: "Width",
                abbrev: "W",
                column: "Width",
                value_name: "N",
                help: "How wide",
                values: Values::Whole { min: 1, max: Some(8) },
                default: DefaultValue::Fixed(Value::Whole(4)),
                origin: Origin::Report,
            },
            Rate = Param {
                flag: "rate",
                label: "Rate",
                abbrev: "R",
                column: "Rate",
                value_name: "R",
                help: "How fast",
                values: Values::Decimal { low: Bound::Excluded(0.0), high: Bound::Excluded(1.0), log: true },
                default: DefaultValue::Fixed(Value::Decimal(0.001)),
                origin: Origin::Added,
            },
            Shape = Param {
                flag: "shape-name",
                label: "Shape name",
                abbrev: "S",
                column: "Shape",
                value_name: "S",
                help: "Which shape",
                values: Values::Choice(&["round", "square"]),
                default: DefaultValue::Fixed(Value::Choice("round")),
                origin: Origin::Added,
            },
        }
    }

    impl ParamSet for Probe {
        const ALL: &'static [Self] = Self::VARIANTS;
        type Limits = ();
        fn spec(self) -> &'static Param {
            self.table_entry()
        }
        fn check_together(_: &Hyper<Self>, _: ()) -> Result<(), InputError> {
            Ok(())
        }
    }

    #[test]
    fn added_hyperparameters_are_named_only_off_their_default() {
        let base = Hyper::<Probe>::defaults();
        assert_eq!(base.run_name(), "W4");
        let tuned = base.with(Probe::Rate, Value::Decimal(0.00015));
        assert_eq!(tuned.run_name(), "W4_R1p5e-4");
        assert_eq!(
            tuned.with(Probe::Shape, Value::Choice("square")).run_name(),
            "W4_R1p5e-4_Ssquare"
        );
        assert_eq!(base.graph_name(Probe::Rate), "W4_Rx");
        assert_eq!(base.graph_name(Probe::Width), "Wx");
        assert_eq!(Value::Decimal(0.001).in_name(), "1e-3");
        assert_eq!(Value::Decimal(3e-4).in_name(), "3e-4");
        assert_eq!(tuned.differing(&base).collect::<Vec<_>>(), [Probe::Rate]);
    }

    #[test]
    fn each_kind_of_value_parses_and_checks_its_bounds() {
        let (rate, shape) = (Probe::Rate.spec(), Probe::Shape.spec());
        assert_eq!(rate.parse(" 1e-3"), Ok(Value::Decimal(0.001)));
        assert_eq!(rate.parse("x"), Err("'x' is not a number".into()));
        assert_eq!(rate.parse("inf"), Err("'inf' is not a number".into()));
        let err = rate.check(Value::Decimal(1.0)).unwrap_err().0;
        assert_eq!(err, "rate must be greater than 0 and less than 1 (got 1)");
        assert_eq!(shape.parse("Square"), Ok(Value::Choice("square")));
        assert_eq!(
            shape.parse("oval"),
            Err("'oval' is not one of: round, square".into())
        );
        let width = Probe::Width.spec();
        assert_eq!(
            width.parse("2.5"),
            Err("'2.5' is not a whole number".into())
        );
        assert_eq!(
            width.parse_flag("x"),
            Err("invalid digit found in string".into())
        );
        let err = width.check(Value::Whole(9)).unwrap_err().0;
        assert_eq!(err, "width must be between 1 and 8 (got 9)");
        assert!(width.check(Value::Decimal(2.0)).is_err());
        assert_eq!(shape.position(Value::Choice("square")), 1.0);
    }

    #[test]
    fn sweeps_parse_every_kind_and_explain_mistakes() {
        assert_eq!(
            parse_sweep::<Probe>("rate=1e-3, 0.01"),
            Ok((
                Probe::Rate,
                vec![Value::Decimal(0.001), Value::Decimal(0.01)]
            ))
        );
        assert_eq!(
            parse_sweep::<Probe>("shape_name=square"),
            Ok((Probe::Shape, vec![Value::Choice("square")]))
        );
        assert_eq!(Probe::for_key("Shape name"), Some(Probe::Shape));
        assert_eq!(Probe::for_key("shape-name"), Some(Probe::Shape));
        let err = parse_sweep::<Probe>("depth=2").unwrap_err().0;
        assert!(err.contains("one of: width, rate, shape_name"), "{err}");
        let base = Hyper::<Probe>::defaults();
        let err = parse_sweeps(&["width=2,9".to_string()], &base, ())
            .unwrap_err()
            .0;
        assert!(err.contains("between 1 and 8 (got 9)"), "{err}");
    }
}
