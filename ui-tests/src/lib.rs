//! The trybuild suite of the `#[pipeline]` / `dataflow!` compiler: `tests/fail/` holds one
//! invalid topology per file with the diagnostics it must produce (`.stderr`), `tests/pass/`
//! the operator forms that must compile. Run with `cargo test -p streamcrab-ui-tests`;
//! regenerate the expected output with `TRYBUILD=overwrite` after reviewing a change.
