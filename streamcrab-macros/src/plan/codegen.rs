//! Code generation: the user's builder calls pass through unchanged (the builder fuses each
//! chain into one monomorphized type through its generic combinators), preceded by the
//! warnings, followed by the static descriptor of the analysed graph.

use proc_macro2::TokenStream;
use quote::quote;

use super::chains::Plan;
use super::graph::Graph;

/// The `PipelineDescriptor` expression of an analysed pipeline.
pub fn descriptor(name: &str, graph: &Graph, plan: &Plan) -> TokenStream {
    let operators = graph.nodes.iter().enumerate().map(|(i, node)| {
        let id = i as u32;
        let uid = node.uid.as_ref().map_or_else(|| format!("{name}-{i}-{}", node.kind), |(u, _)| u.clone());
        let display = node.name.clone().unwrap_or_else(|| node.kind.clone());
        let kind = &node.kind;
        let parallelism = plan.parallelism[i];
        let chain = plan.chain_of[i];
        quote! {
            ::streamcrab::__private::OperatorDescriptor {
                id: #id, uid: #uid, name: #display, kind: #kind, parallelism: #parallelism, chain: #chain,
            }
        }
    });
    let edges = graph.edges.iter().zip(&plan.edges).map(|(e, (label, chained))| {
        let (from, to) = (e.from as u32, e.to as u32);
        quote! {
            ::streamcrab::__private::EdgeDescriptor { from: #from, to: #to, partitioning: #label, chained: #chained }
        }
    });
    let chains = plan.chains;
    quote! {
        ::streamcrab::__private::PipelineDescriptor {
            name: #name,
            operators: &[#(#operators),*],
            edges: &[#(#edges),*],
            chains: #chains,
        }
    }
}
