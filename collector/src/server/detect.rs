//! The detection RPCs' access to the detector: a short lock, copies out.
use tonic::Status;

use super::CollectorApi;
use crate::detect::Detector;

/// Runs `f` on the detector, or says detections are off.
pub fn with<A: CollectorApi + ?Sized, T>(
    api: &A,
    f: impl FnOnce(&Detector) -> T,
) -> Result<T, Status> {
    let d = api.detector().ok_or_else(off)?;
    let guard = d.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    Ok(f(&guard))
}

/// Why a detection RPC cannot be answered.
pub fn off() -> Status {
    Status::failed_precondition("detections are off on this collector ([detect] enabled = false)")
}
