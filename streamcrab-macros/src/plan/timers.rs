//! Which keyed process functions register event-time timers, as far as the compiler can see.
//!
//! A timer is registered inside a `KeyedProcessFunction` (or `KeyedCoProcessFunction`) impl,
//! which is usually written beside the pipeline, not inside it. The entry point hands in the
//! items of the pipeline's source file; the impls found there and in the body itself are
//! scanned for a call of `register_event_time_timer`. An impl in another file is not seen, so
//! for it the diagnostic is not raised (nothing is wrongly rejected either).

use proc_macro2::{TokenStream, TokenTree};
use quote::ToTokens;
use syn::visit::Visit;
use syn::{Expr, Item, Type};

/// The method whose call marks a function as using event-time timers.
const REGISTER: &str = "register_event_time_timer";

/// Traits whose functions may register keyed timers.
const KEYED_FUNCTIONS: &[&str] = &["KeyedProcessFunction", "KeyedCoProcessFunction"];

/// The names of the types among `items` (nested modules and function bodies included) whose
/// keyed process function impl calls `register_event_time_timer`.
pub fn event_time_timer_types(items: &[Item]) -> Vec<String> {
    let mut finder = Finder::default();
    for item in items {
        finder.visit_item(item);
    }
    finder.types
}

/// The items of a source file, or none if it cannot be read or parsed (then nothing is
/// diagnosed from it).
pub fn file_items(path: &std::path::Path) -> Vec<Item> {
    std::fs::read_to_string(path).ok().and_then(|text| syn::parse_file(&text).ok()).map_or_else(Vec::new, |f| f.items)
}

/// Whether the function passed as `arg` registers event-time timers: the argument itself
/// calls `register_event_time_timer`, or it names (constructs) one of `timer_types`.
pub fn registers_event_time_timers(arg: &Expr, timer_types: &[String]) -> bool {
    let tokens = arg.to_token_stream();
    mentions(&tokens, REGISTER) || constructed_type(arg).is_some_and(|name| timer_types.contains(&name))
}

#[derive(Default)]
struct Finder {
    types: Vec<String>,
}

impl<'ast> Visit<'ast> for Finder {
    fn visit_item_impl(&mut self, item: &'ast syn::ItemImpl) {
        let keyed = item
            .trait_
            .as_ref()
            .and_then(|(_, path, _)| path.segments.last())
            .is_some_and(|segment| KEYED_FUNCTIONS.contains(&segment.ident.to_string().as_str()));
        if keyed
            && let Type::Path(ty) = &*item.self_ty
            && let Some(segment) = ty.path.segments.last()
            && item.items.iter().any(|i| mentions(&i.to_token_stream(), REGISTER))
        {
            self.types.push(segment.ident.to_string());
        }
        syn::visit::visit_item_impl(self, item);
    }
}

fn mentions(tokens: &TokenStream, ident: &str) -> bool {
    tokens.clone().into_iter().any(|tree| match tree {
        TokenTree::Ident(i) => i == ident,
        TokenTree::Group(g) => mentions(&g.stream(), ident),
        _ => false,
    })
}

/// The type an argument constructs: `T`, `T { .. }`, `T(..)`, `T::new(..)`, `&T`.
fn constructed_type(arg: &Expr) -> Option<String> {
    let path = match arg {
        Expr::Path(p) => &p.path,
        Expr::Struct(s) => &s.path,
        Expr::Call(c) => match &*c.func {
            Expr::Path(p) => &p.path,
            _ => return None,
        },
        Expr::Reference(r) => return constructed_type(&r.expr),
        Expr::Paren(p) => return constructed_type(&p.expr),
        _ => return None,
    };
    let segments: Vec<String> = path.segments.iter().map(|s| s.ident.to_string()).collect();
    // `T::new(..)` / `module::T`: the type is the last segment that starts with a capital.
    segments.into_iter().rev().find(|s| s.starts_with(|c: char| c.is_ascii_uppercase()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use quote::quote;

    fn items(tokens: TokenStream) -> Vec<Item> {
        syn::parse2::<syn::File>(tokens).unwrap().items
    }

    #[test]
    fn finds_keyed_functions_that_register_event_time_timers() {
        let found = event_time_timer_types(&items(quote! {
            struct Timed;
            impl KeyedProcessFunction<u64, u64, u64> for Timed {
                fn process_element(&mut self, v: u64, ctx: &mut KeyedContext<'_, u64>, out: &mut Collector<'_, u64>) -> UserResult {
                    ctx.register_event_time_timer(v as i64);
                    Ok(())
                }
            }
            impl KeyedProcessFunction<u64, u64, u64> for Untimed {
                fn process_element(&mut self, v: u64, ctx: &mut KeyedContext<'_, u64>, out: &mut Collector<'_, u64>) -> UserResult {
                    ctx.register_processing_time_timer(v as i64);
                    Ok(())
                }
            }
            mod inner {
                impl streamcrab::functions::KeyedCoProcessFunction<u64, u64, u64, u64> for Both {
                    fn process_element1(&mut self) { ctx.register_event_time_timer(1); }
                }
            }
            impl Other for NotKeyed {
                fn f(&mut self) { ctx.register_event_time_timer(1); }
            }
        }));
        assert_eq!(found, ["Timed", "Both"]);
    }

    #[test]
    fn an_argument_registers_timers_if_it_constructs_such_a_type() {
        let types = vec!["Timed".to_string()];
        for arg in [quote!(Timed), quote!(Timed { delay: 5 }), quote!(Timed::new(5)), quote!(jobs::Timed(5))] {
            let arg: Expr = syn::parse2(arg).unwrap();
            assert!(registers_event_time_timers(&arg, &types), "{}", arg.to_token_stream());
        }
        let untimed: Expr = syn::parse2(quote!(Untimed::new())).unwrap();
        assert!(!registers_event_time_timers(&untimed, &types));
        let inline: Expr = syn::parse2(quote!(wrap(|ctx| ctx.register_event_time_timer(3)))).unwrap();
        assert!(registers_event_time_timers(&inline, &[]));
    }
}
