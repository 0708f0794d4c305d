//! Internal subtransactions, for the optimistic re-check of an inferred add:
//! the per-scope lock is taken inside one, and when the candidates changed
//! while the LLM was deciding, rolling it back releases the lock again, so
//! no lock is ever held across a network call.
//!
//! Errors raised inside are not caught here: they abort the whole statement,
//! which also ends the subtransaction.

use pgrx::pg_sys;

pub struct SubXact {
    context: pg_sys::MemoryContext,
    owner: pg_sys::ResourceOwner,
}

impl SubXact {
    pub fn begin() -> Self {
        // SAFETY: we are in a backend inside a transaction (a SQL function
        // call); the memory context and resource owner saved here are
        // restored when the subtransaction ends, as PL/pgSQL does.
        unsafe {
            let context = pg_sys::CurrentMemoryContext;
            let owner = pg_sys::CurrentResourceOwner;
            pg_sys::BeginInternalSubTransaction(std::ptr::null());
            pg_sys::CurrentMemoryContext = context;
            SubXact { context, owner }
        }
    }

    /// Keep what was done (locks pass to the parent transaction).
    pub fn commit(self) {
        // SAFETY: the subtransaction begun in `begin` is the current one (no
        // other was started in between, and errors never return here).
        unsafe {
            pg_sys::ReleaseCurrentSubTransaction();
            self.restore();
        }
    }

    /// Undo what was done, releasing the locks taken inside.
    pub fn rollback(self) {
        // SAFETY: as in `commit`.
        unsafe {
            pg_sys::RollbackAndReleaseCurrentSubTransaction();
            self.restore();
        }
    }

    unsafe fn restore(&self) {
        // SAFETY: both were valid when saved and belong to the parent
        // transaction, which is still running.
        unsafe {
            pg_sys::CurrentMemoryContext = self.context;
            pg_sys::CurrentResourceOwner = self.owner;
        }
    }
}
