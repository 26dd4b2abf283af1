//! Runnable StreamCrab jobs (see the `[[example]]` targets of this package). Each one is also
//! run by the tests in `tests/`.
