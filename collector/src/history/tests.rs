//! Unit tests of the store: schema, writer and queries on a temp file.
