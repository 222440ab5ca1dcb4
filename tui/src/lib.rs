//! perch library
