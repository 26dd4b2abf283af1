//! The compile-time front end of StreamCrab: `#[pipeline]` and `dataflow!`.
//!
//! The entry points are thin: they hand tokens to the compiler in `plan` (parse -> graph IR
//! and analysis -> chain planning -> codegen, diagnostics along the way) and return what it
//! emits. Generated code refers only to `::streamcrab::__private`.

use proc_macro::TokenStream;

mod plan;

/// Analyses a pipeline function `fn name(env: &mut StreamExecutionEnvironment, ..)`: rejects
/// invalid topologies with spanned `SC....` errors (all at once), warns about unused streams,
/// and emits a `NAME` constant with the analysed graph (`streamcrab::pipeline::PipelineDescriptor`).
/// Run it with `NAME.execute(name)`.
#[proc_macro_attribute]
pub fn pipeline(attr: TokenStream, item: TokenStream) -> TokenStream {
    plan::expand_pipeline(attr.into(), item.into(), proc_macro::Span::call_site().local_file().as_deref()).into()
}

/// The same language as an expression: `dataflow!(|env| { ... })` returns a
/// `streamcrab::pipeline::Dataflow` with `.execute()` and `.descriptor()`.
#[proc_macro]
pub fn dataflow(input: TokenStream) -> TokenStream {
    plan::expand_dataflow(input.into(), proc_macro::Span::call_site().local_file().as_deref()).into()
}
