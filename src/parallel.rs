//! Work spread over every core, for the independent per-revision steps that dominate a large
//! history: loading files, splitting their SQL.

use crate::error::{Error, Result};

/// `f` over `items`, results in the order of `items`. Few items run on the calling thread:
/// starting threads would cost more than it saves.
pub(crate) fn map<T: Send, R: Send>(items: Vec<T>, f: impl Fn(T) -> R + Sync) -> Result<Vec<R>> {
    let threads = std::thread::available_parallelism().map_or(1, usize::from);
    if threads < 2 || items.len() < 64 {
        return Ok(items.into_iter().map(f).collect());
    }
    let chunk = items.len().div_ceil(threads);
    let mut items = items.into_iter();
    let parts: Vec<Vec<T>> = std::iter::from_fn(|| {
        let part: Vec<T> = items.by_ref().take(chunk).collect();
        (!part.is_empty()).then_some(part)
    })
    .collect();
    let f = &f;
    std::thread::scope(|scope| {
        let workers: Vec<_> = parts
            .into_iter()
            .map(|part| scope.spawn(move || part.into_iter().map(f).collect::<Vec<_>>()))
            .collect();
        let mut all = Vec::new();
        for worker in workers {
            all.extend(
                worker
                    .join()
                    .map_err(|_| Error::Internal("a worker thread panicked".into()))?,
            );
        }
        Ok(all)
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn keeps_the_order_of_its_input_on_any_size() {
        for n in [0, 1, 63, 64, 65, 1000, 1001] {
            let items: Vec<usize> = (0..n).collect();
            let doubled = super::map(items, |i| i * 2).unwrap();
            assert_eq!(doubled, (0..n).map(|i| i * 2).collect::<Vec<_>>());
        }
    }
}
