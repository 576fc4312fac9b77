//! The one error type of the command line: a one-line message and an exit status.

use std::fmt;

/// Exit status: runtime failure.
pub const EXIT_FAILURE: u8 = 1;
/// Exit status: bad command line (clap's own).
pub const EXIT_USAGE: u8 = 2;
/// Exit status: could not connect (no socket, refused, bad ring).
pub const EXIT_CONNECT: u8 = 3;

/// A failure that ends the program with one line on stderr.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CliError {
    /// Exit status.
    pub code: u8,
    /// The message (one line, lower case, no trailing period).
    pub message: String,
}

impl CliError {
    /// A runtime failure (exit 1).
    pub fn failure(message: impl Into<String>) -> Self {
        Self {
            code: EXIT_FAILURE,
            message: one_line(message.into()),
        }
    }

    /// A failure to connect to a producer (exit 3).
    pub fn connect(message: impl Into<String>) -> Self {
        Self {
            code: EXIT_CONNECT,
            message: one_line(message.into()),
        }
    }

    /// A bad argument value (exit 2).
    pub fn usage(message: impl Into<String>) -> Self {
        Self {
            code: EXIT_USAGE,
            message: one_line(message.into()),
        }
    }
}

fn one_line(s: String) -> String {
    if s.contains('\n') {
        s.split('\n')
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .collect::<Vec<_>>()
            .join("; ")
    } else {
        s
    }
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for CliError {}

/// Result of a sub-command.
pub type CliResult<T = ()> = Result<T, CliError>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_are_one_line() {
        let e = CliError::connect("a\n  b\n");
        assert_eq!(e.message, "a; b");
        assert_eq!(e.code, EXIT_CONNECT);
    }
}
