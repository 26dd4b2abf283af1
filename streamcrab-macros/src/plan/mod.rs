//! The pipeline compiler: parse -> graph IR and analysis -> chain planning -> codegen, with
//! diagnostics collected along the way. Plain Rust over `proc_macro2` tokens, so it is unit
//! tested without invoking rustc; `lib.rs` only hands tokens in and out.

pub mod chains;
pub mod codegen;
pub mod diagnostics;
pub mod graph;
pub mod parse;
pub mod registry;
pub mod timers;

use std::path::Path;

use proc_macro2::{Span, TokenStream};
use quote::{quote, quote_spanned};
use syn::{FnArg, Ident, ItemFn, Pat, Stmt};

use diagnostics::{Code, Diagnostics};

/// The result of compiling one body.
pub struct Compiled {
    /// What analysis found.
    pub diagnostics: Diagnostics,
    /// The descriptor expression.
    pub descriptor: TokenStream,
}

/// Compiles the statements of a pipeline called `name` whose environment is `env`;
/// `source_file` is the file it is written in, where the functions it uses may be defined.
pub fn compile(name: &str, env: &Ident, stmts: &[Stmt], source_file: Option<&Path>) -> Compiled {
    let body = parse::body(stmts, env);
    let mut diagnostics = Diagnostics::default();
    let graph = graph::analyse(&body, source_file, &mut diagnostics);
    let plan = chains::plan(&graph, body.env_parallelism);
    let descriptor = codegen::descriptor(name, &graph, &plan);
    Compiled { diagnostics, descriptor }
}

fn env_param(f: &ItemFn) -> Option<Ident> {
    f.sig.inputs.iter().find_map(|arg| match arg {
        FnArg::Typed(t) if quote!(#t).to_string().contains("StreamExecutionEnvironment") => match &*t.pat {
            Pat::Ident(p) => Some(p.ident.clone()),
            _ => None,
        },
        _ => None,
    })
}

fn error(span: Span, code: Code, message: &str, help: &str) -> TokenStream {
    let text = format!("{}: {message}\n  = help: {help}", code.label());
    quote_spanned! {span=> ::core::compile_error!(#text); }
}

/// `#[pipeline]` on a function written in `source_file`.
pub fn expand_pipeline(attr: TokenStream, item: TokenStream, source_file: Option<&Path>) -> TokenStream {
    if !attr.is_empty() {
        return error(
            Span::call_site(),
            Code::MissingArgument,
            "`#[pipeline]` takes no arguments",
            "write `#[pipeline]`",
        );
    }
    let mut f: ItemFn = match syn::parse2(item) {
        Ok(f) => f,
        Err(e) => return e.to_compile_error(),
    };
    let Some(env) = env_param(&f) else {
        let span = f.sig.ident.span();
        let message = "a pipeline function needs the environment as a parameter";
        let mut out = error(span, Code::MissingArgument, message, "add `env: &mut StreamExecutionEnvironment`");
        out.extend(quote!(#f));
        return out;
    };
    let name = f.sig.ident.to_string();
    let compiled = compile(&name, &env, &f.block.stmts, source_file);
    let (errors, warnings) = compiled.diagnostics.to_tokens();
    let constant = Ident::new(&name.to_uppercase(), f.sig.ident.span());
    let descriptor = compiled.descriptor;
    let vis = &f.vis;
    let doc = format!("The graph of pipeline `{name}` as the `#[pipeline]` compiler analysed it.");
    if compiled.diagnostics.has_errors() {
        // A body that still type-checks, so rustc reports our errors and not follow-on ones.
        let fallback: syn::Block = syn::parse_quote!({ ::core::unreachable!("pipeline has compile errors") });
        *f.block = fallback;
        f.attrs.push(syn::parse_quote!(#[allow(unused_variables, unreachable_code)]));
    } else {
        let warnings: Vec<Stmt> = syn::parse_quote!(#warnings);
        let stmts = std::mem::take(&mut f.block.stmts);
        f.block.stmts = warnings.into_iter().chain(stmts).collect();
    }
    quote! {
        #errors
        #f
        #[doc = #doc]
        #vis const #constant: ::streamcrab::__private::PipelineDescriptor = #descriptor;
    }
}

/// `dataflow!(|env| { ... })` written in `source_file`: the same language as an expression
/// returning the job.
pub fn expand_dataflow(input: TokenStream, source_file: Option<&Path>) -> TokenStream {
    let closure: syn::ExprClosure = match syn::parse2(input) {
        Ok(c) => c,
        Err(e) => return e.to_compile_error(),
    };
    let env = match closure.inputs.first() {
        Some(Pat::Ident(p)) if closure.inputs.len() == 1 => p.ident.clone(),
        _ => {
            return error(
                Span::call_site(),
                Code::MissingArgument,
                "`dataflow!` takes a closure of the environment",
                "write `dataflow!(|env| { ... })`",
            );
        }
    };
    let stmts: Vec<Stmt> = match &*closure.body {
        syn::Expr::Block(b) => b.block.stmts.clone(),
        other => vec![Stmt::Expr(other.clone(), Some(Default::default()))],
    };
    let compiled = compile("dataflow", &env, &stmts, source_file);
    let (errors, warnings) = compiled.diagnostics.to_tokens();
    let descriptor = compiled.descriptor;
    let body = if compiled.diagnostics.has_errors() {
        quote!(::core::unreachable!("dataflow has compile errors"))
    } else {
        quote!(#warnings #(#stmts)*)
    };
    quote! {{
        #errors
        static DATAFLOW: ::streamcrab::__private::PipelineDescriptor = #descriptor;
        ::streamcrab::__private::Dataflow::new(
            &DATAFLOW,
            move |#env: &mut ::streamcrab::environment::StreamExecutionEnvironment| { #body },
        )
    }}
}

#[cfg(test)]
mod tests {
    use super::diagnostics::Code;
    use super::*;

    fn codes(body: TokenStream) -> Vec<Code> {
        let block: syn::Block = syn::parse2(body).unwrap();
        compile("t", &Ident::new("env", Span::call_site()), &block.stmts, None).diagnostics.codes()
    }

    #[test]
    fn a_valid_wordcount_has_no_diagnostics() {
        assert!(
            codes(quote!({
                let words = env.from_iter(lines()).flat_map(|l: String| split(l));
                words.map(|w| (w, 1)).key_by(|(w, _)| w.clone()).reduce(|a, b| (a.0, a.1 + b.1)).print();
            }))
            .is_empty()
        );
    }

    #[test]
    fn all_errors_are_reported_at_once() {
        let found = codes(quote!({
            env.from_iter(v).reduce(|a, b| a + b).print();
            env.from_iter(v).window(TumblingEventTimeWindows::of(5)).reduce(f).print();
            env.from_iter(v).flatmap(f).print();
            env.from_iter(v).print().map(f);
        }));
        assert_eq!(found, vec![Code::NeedsKeys, Code::WindowNeedsKeys, Code::UnknownOperator, Code::AfterSink]);
    }

    #[test]
    fn event_time_windows_need_timestamps() {
        let without = codes(quote!({
            env.from_iter(v).key_by(k).window(TumblingEventTimeWindows::of(5)).reduce(f).print();
        }));
        assert_eq!(without, vec![Code::EventTimeWithoutTimestamps]);
        let with = codes(quote!({
            env.from_iter(v)
                .assign_timestamps_and_watermarks(s)
                .key_by(k)
                .window(TumblingEventTimeWindows::of(5))
                .reduce(f)
                .print();
        }));
        assert!(with.is_empty());
    }

    /// Flink fires event-time timers when the watermark passes them; a stream without
    /// timestamps has no watermark before the end of input.
    #[test]
    fn event_time_timers_need_timestamps() {
        let timed = quote! {
            impl KeyedProcessFunction<u64, u64, u64> for Delay {
                fn process_element(&mut self, v: u64, ctx: &mut KeyedContext<'_, u64>, _: &mut Collector<'_, u64>) -> UserResult {
                    ctx.register_event_time_timer(v as i64 + 10);
                    Ok(())
                }
            }
        };
        let without = codes(quote!({
            #timed
            env.from_iter(v).key_by(k).process(Delay).print();
            let a = env.from_iter(v).assign_timestamps_and_watermarks(s).key_by(k);
            let b = env.from_iter(v).key_by(k);
            a.connect(b).process(Delay).print();
        }));
        assert_eq!(without, vec![Code::EventTimeWithoutTimestamps, Code::EventTimeWithoutTimestamps]);
        let with = codes(quote!({
            #timed
            env.from_iter(v).assign_timestamps_and_watermarks(s).key_by(k).process(Delay).print();
            env.from_iter(v).key_by(k).process(Untimed).print();
        }));
        assert!(with.is_empty());
    }

    #[test]
    fn chains_follow_flinks_rules() {
        let block: syn::Block = syn::parse2(quote!({
            env.from_sequence(1, 10).map(f).filter(g).key_by(k).reduce(r).map(h).set_parallelism(2).print();
        }))
        .unwrap();
        let env = Ident::new("env", Span::call_site());
        let body = parse::body(&block.stmts, &env);
        let mut d = Diagnostics::default();
        let g = graph::analyse(&body, None, &mut d);
        let p = chains::plan(&g, None);
        // source+map+filter | reduce | map(p=2) | print
        assert_eq!(p.chain_of, vec![0, 0, 0, 1, 2, 3]);
        assert_eq!(
            p.edges.iter().map(|e| e.0).collect::<Vec<_>>(),
            ["FORWARD", "FORWARD", "HASH", "REBALANCE", "REBALANCE"]
        );
    }
}
