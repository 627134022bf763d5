//! A list of callbacks that mostly holds one or two (the crate's own
//! listeners of a close event: a pipe's, or the two pipes' of a proxied
//! exchange): those are kept inline, so the usual case costs a box each
//! and no vector.

/// Callbacks in the order they were added.
pub(crate) struct Listeners<F: ?Sized> {
    first: Option<Box<F>>,
    second: Option<Box<F>>,
    more: Vec<Box<F>>,
}

impl<F: ?Sized> Default for Listeners<F> {
    fn default() -> Self {
        Listeners {
            first: None,
            second: None,
            more: Vec::new(),
        }
    }
}

impl<F: ?Sized> Listeners<F> {
    /// Adds `cb` after the others.
    pub fn push(&mut self, cb: Box<F>) {
        if self.first.is_none() {
            self.first = Some(cb);
        } else if self.second.is_none() {
            self.second = Some(cb);
        } else {
            self.more.push(cb);
        }
    }

    /// Whether none was added.
    pub fn is_empty(&self) -> bool {
        self.first.is_none()
    }
}

impl<F: ?Sized> IntoIterator for Listeners<F> {
    type Item = Box<F>;
    type IntoIter = std::iter::Chain<
        std::iter::Chain<std::option::IntoIter<Box<F>>, std::option::IntoIter<Box<F>>>,
        std::vec::IntoIter<Box<F>>,
    >;

    fn into_iter(self) -> Self::IntoIter {
        self.first.into_iter().chain(self.second).chain(self.more)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_order_they_were_added_in() {
        let mut l: Listeners<dyn Fn() -> u8> = Listeners::default();
        assert!(l.is_empty());
        for n in 1..=3u8 {
            l.push(Box::new(move || n));
        }
        assert!(!l.is_empty());
        let got: Vec<u8> = l.into_iter().map(|f| f()).collect();
        assert_eq!(got, [1, 2, 3]);
    }
}
