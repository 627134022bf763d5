//! eddy-net: TCP and Unix-domain listeners and streams as handles on an
//! `eddy-loop` [`Loop`](eddy_loop::Loop).
//!
//! Not built yet: this crate holds its place in the workspace so the layers
//! above can depend on it.
