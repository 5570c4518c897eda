//! Asking the user: dialoguer menus on a terminal, numbered line prompts when stdin is piped.
//! Both answer the same questions, so the loop above them does not know which one it has.

use std::io::{BufRead, IsTerminal, Write};

/// A reply: a value, "go back" (Esc, or an empty answer where there is no default), or
/// "stop asking" (end of input, Ctrl-C).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reply<T> {
    Value(T),
    Back,
    Quit,
}

impl<T> Reply<T> {
    pub fn map<U>(self, f: impl FnOnce(T) -> U) -> Reply<U> {
        match self {
            Self::Value(value) => Reply::Value(f(value)),
            Self::Back => Reply::Back,
            Self::Quit => Reply::Quit,
        }
    }
}

/// A check of an answer: why it is refused, if it is.
pub type Check<'a> = &'a dyn Fn(&str) -> Result<(), String>;

pub trait Prompter {
    /// Pick one of `items`.
    fn select(&mut self, prompt: &str, items: &[String], default: usize) -> Reply<usize>;
    /// A line of text (trimmed), re-asked until `check` accepts it; an empty answer takes
    /// `default`.
    fn text(&mut self, prompt: &str, default: &str, check: Check) -> Reply<String>;
    fn confirm(&mut self, prompt: &str, default: bool) -> Reply<bool>;
}

/// The prompter for this process: dialoguer when stdin and stderr are a terminal, else lines.
pub fn for_stdin() -> Box<dyn Prompter> {
    if std::io::stdin().is_terminal() && std::io::stderr().is_terminal() {
        Box::new(TerminalPrompter)
    } else {
        Box::new(LinePrompter::new(
            std::io::stdin().lock(),
            std::io::stdout(),
        ))
    }
}

/// Numbered prompts read line by line: scriptable with `printf '1\n3\n16\n' | aelab ...`.
pub struct LinePrompter<R, W> {
    input: R,
    output: W,
}

impl<R: BufRead, W: Write> LinePrompter<R, W> {
    pub fn new(input: R, output: W) -> Self {
        Self { input, output }
    }

    /// Ask until `parse` accepts the (trimmed) line; an empty line takes `default`.
    fn ask<T>(
        &mut self,
        question: &str,
        default: Option<String>,
        parse: impl Fn(&str) -> Result<T, String>,
    ) -> Reply<T> {
        loop {
            let shown = default
                .as_ref()
                .map(|d| format!(" [{d}]"))
                .unwrap_or_default();
            let _ = write!(self.output, "{question}{shown}: ");
            let _ = self.output.flush();
            let mut line = String::new();
            match self.input.read_line(&mut line) {
                Ok(0) | Err(_) => {
                    let _ = writeln!(self.output);
                    return Reply::Quit;
                }
                Ok(_) => {}
            }
            let answer = line.trim();
            // Echo the piped answer, so a log reads like the session it records.
            let _ = writeln!(self.output, "{answer}");
            let answer = match (answer.is_empty(), &default) {
                (true, Some(d)) => d.clone(),
                (true, None) => return Reply::Back,
                (false, _) => answer.to_string(),
            };
            match parse(&answer) {
                Ok(value) => return Reply::Value(value),
                Err(why) => {
                    let _ = writeln!(self.output, "  {why}; try again");
                }
            }
        }
    }
}

impl<R: BufRead, W: Write> Prompter for LinePrompter<R, W> {
    fn select(&mut self, prompt: &str, items: &[String], default: usize) -> Reply<usize> {
        let _ = writeln!(self.output, "{prompt}");
        for (i, item) in items.iter().enumerate() {
            let _ = writeln!(self.output, "  {}) {item}", i + 1);
        }
        let count = items.len();
        self.ask(
            "Choose",
            Some((default + 1).to_string()),
            |text| match text.parse::<usize>() {
                Ok(n) if (1..=count).contains(&n) => Ok(n - 1),
                _ => Err(format!("'{text}' is not a choice between 1 and {count}")),
            },
        )
    }

    fn text(&mut self, prompt: &str, default: &str, check: Check) -> Reply<String> {
        self.ask(prompt, Some(default.to_string()), |text| {
            check(text).map(|()| text.to_string())
        })
    }

    fn confirm(&mut self, prompt: &str, default: bool) -> Reply<bool> {
        let shown = if default { "y" } else { "n" };
        self.ask(
            &format!("{prompt} (y/n)"),
            Some(shown.into()),
            |text| match text.to_ascii_lowercase().as_str() {
                "y" | "yes" => Ok(true),
                "n" | "no" => Ok(false),
                _ => Err(format!("'{text}' is not y or n")),
            },
        )
    }
}

/// dialoguer menus: arrow or number keys, Enter to pick, Esc to go back.
pub struct TerminalPrompter;

fn reply<T>(result: dialoguer::Result<Option<T>>) -> Reply<T> {
    match result {
        Ok(Some(value)) => Reply::Value(value),
        Ok(None) => Reply::Back,
        Err(_) => Reply::Quit,
    }
}

impl Prompter for TerminalPrompter {
    fn select(&mut self, prompt: &str, items: &[String], default: usize) -> Reply<usize> {
        reply(
            dialoguer::Select::new()
                .with_prompt(prompt)
                .items(items)
                .default(default)
                .interact_opt(),
        )
    }

    fn text(&mut self, prompt: &str, default: &str, check: Check) -> Reply<String> {
        match dialoguer::Input::<String>::new()
            .with_prompt(prompt)
            .default(default.to_string())
            .validate_with(|text: &String| check(text.trim()))
            .interact_text()
        {
            Ok(text) => Reply::Value(text.trim().to_string()),
            Err(_) => Reply::Quit,
        }
    }

    fn confirm(&mut self, prompt: &str, default: bool) -> Reply<bool> {
        reply(
            dialoguer::Confirm::new()
                .with_prompt(prompt)
                .default(default)
                .interact_opt(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(input: &str) -> LinePrompter<&[u8], Vec<u8>> {
        LinePrompter::new(input.as_bytes(), Vec::new())
    }

    #[test]
    fn line_prompts_re_ask_take_defaults_and_stop_at_end_of_input() {
        let items = ["a".to_string(), "b".to_string()];
        let mut p = lines("9\nx\n2\n\n");
        assert_eq!(p.select("Pick", &items, 0), Reply::Value(1));
        assert_eq!(p.select("Pick", &items, 0), Reply::Value(0));
        assert_eq!(p.select("Pick", &items, 0), Reply::Quit);
        let shown = String::from_utf8(p.output).unwrap();
        assert!(
            shown.contains("'9' is not a choice between 1 and 2"),
            "{shown}"
        );
        assert!(shown.contains("  2) b"));
    }

    #[test]
    fn answers_are_checked() {
        let mut p = lines("0\n7\n");
        let check = |text: &str| match text {
            "0" => Err("must be at least 1".to_string()),
            _ => Ok(()),
        };
        assert_eq!(p.text("Epochs", "3", &check), Reply::Value("7".into()));
        assert!(
            String::from_utf8(p.output)
                .unwrap()
                .contains("must be at least 1")
        );
    }

    #[test]
    fn confirm_reads_yes_and_no() {
        let mut p = lines("maybe\nY\n\n");
        assert_eq!(p.confirm("Overwrite?", false), Reply::Value(true));
        assert_eq!(p.confirm("Overwrite?", false), Reply::Value(false));
    }
}
