//! Property tests of the dust engine.
