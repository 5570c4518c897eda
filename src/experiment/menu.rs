//! The interactive loop: the base run, then a menu (run again with one hyperparameter
//! changed, plot the error graphs, the kind's own choice, exit) until Exit or end of
//! input. Its list of hyperparameters and its prompts come from the kind's table.

use super::graphs::{print_written, session_graphs};
use super::hyper::{Hyper, Origin, ParamSet, Value, Values};
use super::lab::SessionOf;
use super::lab::{Lab, RunOf};
use super::prompt::{Prompter, Reply};
use super::resume::Checkpointing;
use super::runs;
use super::session::Session;
use crate::error::{Error, Result};
use crate::train::TrainError;

/// Ask for the base (when `ask_base`), train it, then the menu until Exit or end of input.
pub fn run<L: Lab>(
    lab: &mut L,
    session: SessionOf<L>,
    mut prompter: Box<dyn Prompter>,
    ask_base: bool,
    checkpointing: Checkpointing,
) -> Result<()> {
    let mut session = if ask_base {
        match ask_base_values(prompter.as_mut(), session.base(), session.limits()) {
            Some(base) => Session::new(base, session.limits()),
            None => return Ok(()),
        }
    } else {
        session
    };
    let base = session.base().clone();
    let run = runs::train(
        lab,
        &mut session,
        &base,
        checkpointing,
        Some(prompter.as_mut()),
        false,
    )?;
    lab.keep(&base, &run)?;
    let mut current: (Hyper<_>, RunOf<L>) = (base, run);
    let choices: Vec<String> = [
        "Run again with one hyperparameter changed",
        "Plot the error graphs",
    ]
    .iter()
    .chain(L::ACTIONS.iter().map(|(_, line)| line))
    .chain(&["Exit"])
    .map(|choice| choice.to_string())
    .collect();
    loop {
        match prompter.select("What next?", &choices, 0) {
            Reply::Value(0) => match ask_variant(&session, prompter.as_mut()) {
                Reply::Value(hyper) => {
                    let trained = runs::train(
                        lab,
                        &mut session,
                        &hyper,
                        checkpointing,
                        Some(prompter.as_mut()),
                        false,
                    );
                    match trained {
                        Ok(run) => {
                            lab.keep(&hyper, &run)?;
                            current = (hyper, run);
                        }
                        // A diverged run is reported and the menu goes on with the last good one.
                        Err(e @ Error::Train(TrainError::NonFinite { .. })) => {
                            eprintln!("error: {e}")
                        }
                        Err(e) => return Err(e),
                    }
                }
                Reply::Back => continue,
                Reply::Quit => break,
            },
            Reply::Value(1) => {
                print_written(&session_graphs(lab, &session, &current.0, &current.1)?)
            }
            Reply::Value(i) if (2..2 + L::ACTIONS.len()).contains(&i) => {
                let (action, _) = L::ACTIONS[i - 2];
                match lab.action(action, prompter.as_mut(), &current.0, &current.1)? {
                    Reply::Quit => break,
                    _ => continue,
                }
            }
            Reply::Back => continue,
            Reply::Value(_) | Reply::Quit => break,
        }
    }
    println!(
        "Results: {} ({} runs this session)",
        lab.results().display(),
        session.runs().len()
    );
    Ok(())
}

/// Ask for each of the original report's base values, the defaults shown; `None` if the
/// user stops. The hyperparameters aelab added keep their flags' values (or defaults):
/// they are changed one at a time from the menu, and piped answers written for the
/// report's five questions still fit.
fn ask_base_values<P: ParamSet>(
    prompter: &mut dyn Prompter,
    defaults: &Hyper<P>,
    limits: P::Limits,
) -> Option<Hyper<P>> {
    let mut base = defaults.clone();
    for &param in P::ALL.iter().filter(|p| p.spec().origin == Origin::Report) {
        let check = |value: Value| base.with(param, value).validate(limits).map_err(|e| e.0);
        match ask_value(prompter, param.spec().label, param, base.get(param), &check) {
            Reply::Value(value) => base.set(param, value),
            Reply::Back | Reply::Quit => return None,
        }
    }
    Some(base)
}

/// Which hyperparameter, and its new value; the base with that one value changed.
fn ask_variant<P: ParamSet, O: Clone>(
    session: &Session<P, O>,
    prompter: &mut dyn Prompter,
) -> Reply<Hyper<P>> {
    let base = session.base();
    let labels: Vec<String> = P::ALL
        .iter()
        .map(|&p| format!("{} (base {})", p.spec().label, base.get(p)))
        .collect();
    let param = match prompter.select("Which hyperparameter?", &labels, 0) {
        Reply::Value(i) => P::ALL[i],
        Reply::Back => return Reply::Back,
        Reply::Quit => return Reply::Quit,
    };
    let check = |value: Value| session.variant(param, value).map(|_| ()).map_err(|e| e.0);
    let prompt = format!("New {}", param.spec().label.to_lowercase());
    ask_value(prompter, &prompt, param, base.get(param), &check)
        .map(|value| base.with(param, value))
}

/// A value of `param`, re-asked until it parses and `check` accepts it: a choice from its
/// list, a number typed.
fn ask_value<P: ParamSet>(
    prompter: &mut dyn Prompter,
    prompt: &str,
    param: P,
    default: Value,
    check: &dyn Fn(Value) -> Result<(), String>,
) -> Reply<Value> {
    let spec = param.spec();
    if let Values::Choice(names) = spec.values {
        let items: Vec<String> = names.iter().map(|n| n.to_string()).collect();
        let current = names.iter().position(|n| Value::Choice(n) == default);
        return prompter
            .select(prompt, &items, current.unwrap_or(0))
            .map(|i| Value::Choice(names[i]));
    }
    let parse = |text: &str| {
        spec.parse(text)
            .and_then(|value| check(value).map(|()| value))
    };
    prompter
        .text(prompt, &default.to_string(), &|text| {
            parse(text).map(|_| ())
        })
        .map(|text| parse(&text).expect("the prompter returns only accepted answers"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::experiment::kinds::AutoencoderParam;
    use crate::experiment::prompt::LinePrompter;

    #[test]
    fn the_base_questions_are_the_reports_and_refuse_bad_values() {
        // Layers 2, filter size 3, filters 0 (refused) then 2, epochs 1, batch 32.
        let mut prompter = LinePrompter::new("2\n3\n0\n2\n1\n32\n".as_bytes(), Vec::new());
        let base =
            ask_base_values::<AutoencoderParam>(&mut prompter, &Hyper::defaults(), ()).unwrap();
        assert_eq!(base.run_name(), "L2_FS3_FL2_E1_B32");
    }

    #[test]
    fn a_learning_rate_is_asked_as_a_number_from_the_list() {
        let session = Session::<AutoencoderParam, ()>::new(Hyper::defaults(), ());
        // The sixth hyperparameter, a refused rate, then 3e-4.
        let mut prompter = LinePrompter::new("6\n0\n3e-4\n".as_bytes(), Vec::new());
        let Reply::Value(hyper) = ask_variant(&session, &mut prompter) else {
            panic!("no variant");
        };
        assert_eq!(hyper.run_name(), "L4_FS3_FL32_E100_B64_LR3e-4");
    }
}
