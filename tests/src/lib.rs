//! Integration tests live in `it/`: one binary, modules per area.
