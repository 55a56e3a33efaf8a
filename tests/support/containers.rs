//! Containers the docker runtime keeps for a state file, removed when a test ends.

use ferry::docker::DockerEngine;

/// Removes the containers kept for a state file, even when the test fails.
pub(crate) struct Cleanup(pub(crate) std::path::PathBuf);

impl Drop for Cleanup {
    fn drop(&mut self) {
        let instance = self.0.display().to_string();
        let _ = std::thread::spawn(move || {
            let runtime =
                tokio::runtime::Builder::new_current_thread().enable_all().build().expect("rt");
            runtime.block_on(async {
                if let Ok(engine) = DockerEngine::connect().await {
                    let _ = ferry::local::containers::remove_all(&engine, &instance).await;
                }
            });
        })
        .join();
    }
}
