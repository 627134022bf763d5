//! eddy-loop: a libuv-style single-threaded event loop over epoll.
