//! The trybuild suite of the `#[pipeline]` / `dataflow!` compiler will live here: one file per
//! invalid topology with its `.stderr`, and compile-pass cases for every operator form. It is
//! empty until the macros exist.
