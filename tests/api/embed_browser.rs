//! Written by a helper.
