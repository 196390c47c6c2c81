//! One stop for a service and its background tasks: the gRPC server ends on the process's
//! shutdown or when a task the service cannot go on without (a model's follower) fails, and
//! then every task is told to stop.

use std::future::Future;

use tokio::sync::watch;
use tokio::task::JoinHandle;

/// The stop shared by a service's server and its background tasks.
#[derive(Debug, Clone)]
pub struct Stop(watch::Sender<bool>);

impl Default for Stop {
    fn default() -> Self {
        Self::new()
    }
}

impl Stop {
    /// Not stopped yet.
    pub fn new() -> Self {
        Self(watch::Sender::new(false))
    }

    /// Stops everything.
    pub fn stop(&self) {
        self.0.send_replace(true);
    }

    /// Resolves once stopped: the shutdown a background task is given.
    pub fn signal(&self) -> impl Future<Output = ()> + Send + 'static {
        let mut stopped = self.0.subscribe();
        async move {
            let _ = stopped.wait_for(|stop| *stop).await;
        }
    }

    /// The server's shutdown: `shutdown` or a stop, whichever comes first; stops everything.
    pub fn or(
        &self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> impl Future<Output = ()> + Send + 'static {
        let stop = self.clone();
        let stopped = self.signal();
        async move {
            tokio::select! {
                () = shutdown => {}
                () = stopped => {}
            }
            stop.stop();
        }
    }

    /// Spawns `task`, which the service cannot go on without: if it fails, the error is logged
    /// naming `what`, and everything stops.
    pub fn spawn_essential<E>(
        &self,
        what: &'static str,
        task: impl Future<Output = Result<(), E>> + Send + 'static,
    ) -> JoinHandle<Result<(), E>>
    where
        E: std::fmt::Display + Send + 'static,
    {
        let stop = self.clone();
        tokio::spawn(async move {
            let outcome = task.await;
            if let Err(error) = &outcome {
                tracing::error!(%error, what, "cannot go on: stopping");
                stop.stop();
            }
            outcome
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_failed_essential_task_stops_the_server_and_the_others() {
        let stop = Stop::new();
        let other = tokio::spawn(stop.signal());
        let failing = stop.spawn_essential("a model", async { Err::<(), _>("disk full") });
        let never = std::future::pending::<()>();
        tokio::time::timeout(std::time::Duration::from_secs(5), stop.or(never))
            .await
            .expect("the server's shutdown follows the failure");
        other.await.unwrap();
        assert_eq!(failing.await.unwrap(), Err("disk full"));
    }

    #[tokio::test]
    async fn the_process_shutdown_stops_the_tasks() {
        let stop = Stop::new();
        let task = stop.spawn_essential("a model", {
            let signal = stop.signal();
            async move {
                signal.await;
                Ok::<(), String>(())
            }
        });
        stop.or(async {}).await;
        assert_eq!(task.await.unwrap(), Ok(()));
    }
}
