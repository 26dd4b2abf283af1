//! Diagnostics as values: each has a stable code, a span on the operator at fault, a message
//! and a help line. Errors become `compile_error!`s; warnings use a deprecated item so that
//! stable rustc shows them as warnings at the right span.

use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote_spanned};

/// The stable codes (`SC0001`, ...). Never renumber: users search for them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Code {
    /// A method the compiler does not know.
    UnknownOperator = 1,
    /// A keyed-only operator on a non-keyed stream.
    NeedsKeys = 2,
    /// `window` on a non-keyed stream.
    WindowNeedsKeys = 3,
    /// An event-time window on a stream without timestamps.
    EventTimeWithoutTimestamps = 4,
    /// `allowed_lateness` on a processing-time window.
    LatenessOnProcessingTime = 5,
    /// A window setting without a window.
    WindowSettingWithoutWindow = 6,
    /// An operator after a sink.
    AfterSink = 7,
    /// `forward` between different parallelisms.
    ForwardParallelism = 8,
    /// Max parallelism below parallelism.
    MaxBelowParallelism = 9,
    /// Parallelism 0, or max parallelism out of range, or a parallel non-parallel source.
    InvalidParallelism = 10,
    /// Two operators with one uid.
    DuplicateUid = 11,
    /// `connect` without its second stream.
    ConnectMissingSide = 12,
    /// A stream used before it is defined.
    Cycle = 13,
    /// A stream that is never consumed (warning).
    UnconsumedStream = 14,
    /// `union` of a single stream (warning).
    UnionOfOne = 15,
    /// `window_all` on a keyed stream.
    WindowAllOnKeyed = 16,
    /// An operator other than `map` / `process` on connected streams.
    ConnectedNeedsCoFunction = 17,
    /// A window or connection that is never finished.
    Unfinished = 18,
    /// A stream consumed twice.
    ConsumedTwice = 19,
    /// An operator before any source.
    NoSource = 20,
    /// An operator without its required argument.
    MissingArgument = 21,
}

impl Code {
    /// `SC0001` ...
    pub fn label(self) -> String {
        format!("SC{:04}", self as u32)
    }
}

/// One diagnostic.
#[derive(Clone, Debug)]
pub struct Diagnostic {
    /// Its code.
    pub code: Code,
    /// Where it points.
    pub span: Span,
    /// What is wrong.
    pub message: String,
    /// What to do.
    pub help: String,
    /// Whether it is only a warning.
    pub warning: bool,
}

/// The diagnostics of one pipeline, in the order found.
#[derive(Default)]
pub struct Diagnostics {
    /// All of them.
    pub items: Vec<Diagnostic>,
}

impl Diagnostics {
    /// Records an error.
    pub fn error(&mut self, code: Code, span: Span, message: String, help: &str) {
        self.items.push(Diagnostic { code, span, message, help: help.to_string(), warning: false });
    }

    /// Records a warning.
    pub fn warn(&mut self, code: Code, span: Span, message: String, help: &str) {
        self.items.push(Diagnostic { code, span, message, help: help.to_string(), warning: true });
    }

    /// Whether any error was recorded.
    pub fn has_errors(&self) -> bool {
        self.items.iter().any(|d| !d.warning)
    }

    /// The codes recorded, in order.
    #[cfg(test)]
    pub fn codes(&self) -> Vec<Code> {
        self.items.iter().map(|d| d.code).collect()
    }

    /// Errors as items (`compile_error!`), warnings as statements for the function body.
    pub fn to_tokens(&self) -> (TokenStream, TokenStream) {
        let mut errors = TokenStream::new();
        let mut warnings = TokenStream::new();
        for (i, d) in self.items.iter().enumerate() {
            let text = format!("{}: {}\n  = help: {}", d.code.label(), d.message, d.help);
            if d.warning {
                let marker = format_ident!("{}_warning_{}", d.code.label().to_lowercase(), i, span = d.span);
                warnings.extend(quote_spanned! {d.span=>
                    #[allow(dead_code, non_camel_case_types)]
                    {
                        #[deprecated(note = #text)]
                        struct #marker;
                        let _ = #marker;
                    }
                });
            } else {
                errors.extend(quote_spanned! {d.span=> ::core::compile_error!(#text); });
            }
        }
        (errors, warnings)
    }
}
