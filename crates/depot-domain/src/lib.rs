//! Depot's names and rules, with no I/O: the vocabulary every other crate speaks.
