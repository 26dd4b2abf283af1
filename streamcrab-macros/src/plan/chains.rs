//! Chain planning with Flink's rules: an edge is fused into its upstream's chain when it is a
//! forward edge (no explicit partitioning other than `forward`), the downstream operator has
//! that single input, both run with the same parallelism, and no chaining hint forbids it.

use super::graph::Graph;

/// Chains and edge labels of a graph.
pub struct Plan {
    /// Chain of every node.
    pub chain_of: Vec<u32>,
    /// Number of chains.
    pub chains: u32,
    /// Per edge: its partitioning label and whether it is fused.
    pub edges: Vec<(&'static str, bool)>,
    /// Resolved parallelism of every node.
    pub parallelism: Vec<u32>,
}

/// Plans the chains of `graph`; operators without a literal parallelism run with
/// `env_parallelism` (the environment's default, 1 unless set with a literal).
pub fn plan(graph: &Graph, env_parallelism: Option<u32>) -> Plan {
    let default = env_parallelism.unwrap_or(1);
    let parallelism: Vec<u32> = graph.nodes.iter().map(|n| n.parallelism.unwrap_or(default)).collect();
    let inputs = |node: usize| graph.edges.iter().filter(|e| e.to == node).count();
    let edges: Vec<(&'static str, bool)> = graph
        .edges
        .iter()
        .map(|e| {
            let same = parallelism[e.from] == parallelism[e.to];
            let label = e.partitioning.unwrap_or(if same { "FORWARD" } else { "REBALANCE" });
            let chained = label == "FORWARD"
                && same
                && inputs(e.to) == 1
                && !graph.nodes[e.to].start_new_chain
                && !graph.nodes[e.from].disable_chaining;
            (label, chained)
        })
        .collect();
    let mut chain_of = vec![0u32; graph.nodes.len()];
    let mut chains = 0;
    for node in 0..graph.nodes.len() {
        let fused = graph.edges.iter().zip(&edges).find(|(e, (_, chained))| e.to == node && *chained);
        chain_of[node] = match fused {
            Some((e, _)) => chain_of[e.from],
            None => {
                chains += 1;
                chains - 1
            }
        };
    }
    Plan { chain_of, chains, edges, parallelism }
}
