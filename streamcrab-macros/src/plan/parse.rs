//! Finds the stream expressions of a pipeline body: method chains rooted at the environment
//! parameter or at a stream bound earlier with `let`. Every other statement passes through.

use proc_macro2::Span;
use syn::{Expr, Ident, Lit, Pat, Stmt};

/// One method call of a chain.
#[derive(Clone)]
pub struct Call {
    /// The method.
    pub method: Ident,
    /// Its arguments.
    pub args: Vec<Expr>,
}

impl Call {
    /// The span of the method name, where diagnostics point.
    pub fn span(&self) -> Span {
        self.method.span()
    }

    /// The single argument as an integer literal, if it is one.
    pub fn int_arg(&self) -> Option<u64> {
        match self.args.first() {
            Some(Expr::Lit(l)) => match &l.lit {
                Lit::Int(i) => i.base10_parse().ok(),
                _ => None,
            },
            _ => None,
        }
    }

    /// The single argument as a string literal, if it is one.
    pub fn str_arg(&self) -> Option<String> {
        match self.args.first() {
            Some(Expr::Lit(l)) => match &l.lit {
                Lit::Str(s) => Some(s.value()),
                _ => None,
            },
            _ => None,
        }
    }

    /// Identifiers passed as arguments (streams for `union` / `connect`).
    pub fn ident_args(&self) -> Vec<Ident> {
        self.args.iter().filter_map(path_ident).collect()
    }
}

/// Where a chain starts.
#[derive(Clone)]
pub enum Root {
    /// The environment parameter.
    Env,
    /// A stream bound with `let`.
    Stream(Ident),
}

/// A stream expression: `[let name =] root.call().call()...;`
#[derive(Clone)]
pub struct Flow {
    /// The `let` binding, if any.
    pub binding: Option<Ident>,
    /// Where it starts.
    pub root: Root,
    /// The span of the root expression.
    pub root_span: Span,
    /// Its calls, in order.
    pub calls: Vec<Call>,
}

fn path_ident(expr: &Expr) -> Option<Ident> {
    match expr {
        Expr::Path(p) if p.qself.is_none() => p.path.get_ident().cloned(),
        Expr::Reference(r) => path_ident(&r.expr),
        Expr::Paren(p) => path_ident(&p.expr),
        _ => None,
    }
}

/// `root.a(..).b(..)` as its root and calls, if the root is a plain identifier.
fn chain(expr: &Expr) -> Option<(Ident, Span, Vec<Call>)> {
    let mut calls = Vec::new();
    let mut current = expr;
    loop {
        match current {
            Expr::MethodCall(m) => {
                calls.push(Call { method: m.method.clone(), args: m.args.iter().cloned().collect() });
                current = &m.receiver;
            }
            other => {
                let root = path_ident(other)?;
                calls.reverse();
                let span = root.span();
                return Some((root, span, calls));
            }
        }
    }
}

fn binding(stmt: &Stmt) -> Option<(Ident, &Expr)> {
    let Stmt::Local(local) = stmt else { return None };
    let Pat::Ident(p) = &local.pat else { return None };
    let init = local.init.as_ref()?;
    Some((p.ident.clone(), &init.expr))
}

fn expression(stmt: &Stmt) -> Option<&Expr> {
    match stmt {
        Stmt::Expr(e, _) => Some(inner_chain(e)),
        _ => None,
    }
}

/// The method chain inside `x = chain`, `f(chain)`, `Some(chain)`, `return chain`, `&chain`.
fn inner_chain(expr: &Expr) -> &Expr {
    match expr {
        Expr::Assign(a) => inner_chain(&a.right),
        Expr::Call(c) if c.args.len() == 1 => inner_chain(&c.args[0]),
        Expr::Return(r) => r.expr.as_deref().map_or(expr, inner_chain),
        Expr::Reference(r) => inner_chain(&r.expr),
        Expr::Paren(p) => inner_chain(&p.expr),
        other => other,
    }
}

/// Methods of the environment that are settings or actions, not sources.
const ENV_METHODS: &[&str] = &[
    "set_parallelism",
    "set_max_parallelism",
    "set_clock",
    "enable_checkpointing",
    "set_checkpoint_config",
    "set_restart_strategy",
    "set_checkpoint_dir",
    "set_checkpoint_storage",
    "set_state_backend",
    "restore_from_savepoint",
    "execute",
    "execute_async",
    "describe",
];

/// What the body holds: its statements, which of them are flows, and settings read off the
/// environment.
pub struct Body {
    /// For each statement, its flow (if it is one).
    pub flows: Vec<Option<Flow>>,
    /// `env.set_parallelism(N)` with a literal `N`, if present.
    pub env_parallelism: Option<u32>,
    /// Names bound by flows, in order (to detect use before definition).
    pub stream_names: Vec<Ident>,
    /// The items written in the body itself (functions, impls).
    pub items: Vec<syn::Item>,
}

/// Splits `stmts` into flows and pass-through statements.
pub fn body(stmts: &[Stmt], env: &Ident) -> Body {
    // Stream names: bindings whose chain starts at the environment or at another stream name.
    let mut stream_names: Vec<Ident> = Vec::new();
    loop {
        let before = stream_names.len();
        for stmt in stmts {
            if let Some((name, init)) = binding(stmt)
                && let Some((root, _, calls)) = chain(init)
                && !calls.is_empty()
                && (root == *env || stream_names.contains(&root))
                && !stream_names.contains(&name)
            {
                stream_names.push(name);
            }
        }
        if stream_names.len() == before {
            break;
        }
    }
    let mut env_parallelism = None;
    let flows = stmts
        .iter()
        .map(|stmt| {
            let (name, expr) = match binding(stmt) {
                Some((name, init)) => (Some(name), init),
                None => (None, expression(stmt)?),
            };
            let (root, root_span, calls) = chain(expr)?;
            let first = calls.first()?;
            let root = if root == *env {
                if ENV_METHODS.contains(&first.method.to_string().as_str()) {
                    if first.method == "set_parallelism" {
                        env_parallelism = first.int_arg().map(|p| p as u32);
                    }
                    return None;
                }
                Root::Env
            } else if stream_names.contains(&root) {
                Root::Stream(root)
            } else {
                return None;
            };
            Some(Flow { binding: name, root, root_span, calls })
        })
        .collect();
    let items = stmts
        .iter()
        .filter_map(|stmt| match stmt {
            Stmt::Item(item) => Some(item.clone()),
            _ => None,
        })
        .collect();
    Body { flows, env_parallelism, stream_names, items }
}

#[cfg(test)]
mod tests {
    use super::*;
    use quote::quote;

    fn parse(tokens: proc_macro2::TokenStream) -> Body {
        let block: syn::Block = syn::parse2(tokens).unwrap();
        body(&block.stmts, &Ident::new("env", Span::call_site()))
    }

    #[test]
    fn finds_chains_bindings_and_settings() {
        let b = parse(quote!({
            env.set_parallelism(4);
            let words = env.from_iter(lines()).flat_map(split);
            let n = 3;
            words.map(|w| (w, 1)).print();
        }));
        assert_eq!(b.env_parallelism, Some(4));
        assert!(b.flows[0].is_none() && b.flows[2].is_none());
        let words = b.flows[1].as_ref().unwrap();
        assert_eq!(words.binding.as_ref().unwrap(), "words");
        assert_eq!(words.calls.iter().map(|c| c.method.to_string()).collect::<Vec<_>>(), ["from_iter", "flat_map"]);
        let sink = b.flows[3].as_ref().unwrap();
        assert!(matches!(&sink.root, Root::Stream(s) if s == "words"));
        assert_eq!(sink.calls.len(), 2);
    }
}
