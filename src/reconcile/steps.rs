//! Steps in order: the first that does not hold blocks the rest, which are never started.

use std::future::Future;
use std::pin::Pin;

use crate::part::Part;

/// A step not yet started: its future, and the room it takes, are made only when its turn
/// comes, so a pass waiting in its first step (for CreateKey, behind a thousand others) holds
/// no room for the later ones.
pub(super) type Start<'a, T> =
    Box<dyn FnOnce() -> Pin<Box<dyn Future<Output = T> + Send + 'a>> + Send + 'a>;

/// Runs each part's step in turn while every one before it `holds`; the steps after one that
/// does not are not started (`None`).
pub(super) async fn in_order<T>(
    steps: Vec<(Part, Start<'_, T>)>,
    holds: impl Fn(&T) -> bool,
) -> Vec<(Part, Option<T>)> {
    let mut done: Vec<(Part, Option<T>)> = Vec::new();
    for (part, start) in steps {
        let blocked = done
            .iter()
            .any(|(_, step)| !step.as_ref().is_some_and(&holds));
        let step = if blocked { None } else { Some(start().await) };
        done.push((part, step));
    }
    done
}

#[cfg(test)]
mod tests {
    use super::*;

    fn step(
        result: Result<(), ()>,
        started: &std::sync::Mutex<Vec<Part>>,
        part: Part,
    ) -> Start<'_, Result<(), ()>> {
        Box::new(move || {
            Box::pin(async move {
                started.lock().unwrap().push(part);
                result
            })
        })
    }

    #[tokio::test]
    async fn a_step_that_does_not_hold_keeps_the_later_ones_from_starting() {
        let started = std::sync::Mutex::new(Vec::new());
        let steps = vec![
            (Part::Key, step(Ok(()), &started, Part::Key)),
            (
                Part::DeadLetterQueue,
                step(Err(()), &started, Part::DeadLetterQueue),
            ),
            (Part::Queue, step(Ok(()), &started, Part::Queue)),
        ];
        let done = in_order(steps, Result::is_ok).await;
        assert_eq!(
            done,
            [
                (Part::Key, Some(Ok(()))),
                (Part::DeadLetterQueue, Some(Err(()))),
                (Part::Queue, None)
            ]
        );
        assert_eq!(*started.lock().unwrap(), [Part::Key, Part::DeadLetterQueue]);
    }
}
