//! HTTP tests of the embedded form.
