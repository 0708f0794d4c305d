//! Every setting of memory_ext, registered once when the library loads.

use pgrx::guc::{GucContext, GucFlags, GucRegistry, GucSetting};
use std::ffi::CString;

/// The user whose rows row-level security shows (see `memory.enable_tenant_isolation`).
pub static CURRENT_USER_ID: GucSetting<Option<CString>> = GucSetting::<Option<CString>>::new(None);

pub fn init() {
    GucRegistry::define_string_guc(
        c"memory.current_user_id",
        c"User whose memories row-level security makes visible.",
        c"Set per request by the application when memory.enable_tenant_isolation() is on; unset means no rows.",
        &CURRENT_USER_ID,
        GucContext::Userset,
        GucFlags::default(),
    );
}
